"""RECIST response on the three views (AppTest on the demo store): patient timeline, response block, presentation.

Plus the core side the views stand on: the merged timeline keeps the provenance contract, and the
figures draw the response track and the last board.
"""
from __future__ import annotations

import html
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging import recist

ROOT = Path(__file__).resolve().parents[2]
PROVENANCE = ["source_table", "kind", "summary", "value", "modality", "observed_at", "source_uri", "source_sha256",
              "locator", "extractor", "extractor_version", "ingested_at", "ingest_run_id", "track"]


def _app(page: str, patient_id: str | None = None, role: str = "oncologist") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["user"] = role
    at.session_state["role"] = role
    at.session_state["last_activity"] = time.time()
    if patient_id is not None:
        at.session_state["patient_id"] = patient_id
    at.switch_page(f"pages/{page}")
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _board_headline(con, patient_id: str, meeting_id: str | None = None) -> recist.ResponseHeadline:
    from core.store import db

    cur = db.board_writer().read()
    try:
        return recist.board_response_headline(con, cur, patient_id, meeting_id=meeting_id)
    finally:
        cur.close()


def _measured(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT patient_id FROM lesion_measurements ORDER BY 1").fetchall()]


def _with_follow_up(con, ids: list[str]) -> str | None:
    """A patient whose series has an evaluable follow-up (else any follow-up), or None."""
    any_fu = None
    for pid in ids:
        s = recist.response_series(con, pid)
        fu = s.filter(pl.col("response") != "baseline")
        if fu.filter(pl.col("response") != "NE").height:
            return pid
        if fu.height and any_fu is None:
            any_fu = pid
    return any_fu


@pytest.fixture
def followed_patient(demo_store) -> str:
    ids = _measured(demo_store)
    pid = _with_follow_up(demo_store, ids)
    if pid is None:
        pytest.skip("the demo store has no patient with a follow-up study")
    return pid


# ---- core: the merged timeline ------------------------------------------------------------------

def test_merged_timeline_keeps_the_provenance_contract(demo_store, followed_patient):
    from core.evidence.source_view import open_source
    from core.store import queries

    tl = queries.timeline(demo_store, followed_patient)
    assert tl.columns == PROVENANCE
    resp = tl.filter(pl.col("track") == "response")
    series = recist.response_series(demo_store, followed_patient)
    assert resp.height == series.height >= 2
    assert resp["value"].to_list() == series["response"].to_list()
    for col in PROVENANCE:
        assert resp[col].null_count() == 0, col
    for r in resp.iter_rows(named=True):  # a response point opens its lesion measurement or imaging study
        assert r["source_table"] in ("lesion_measurements", "imaging_studies", "note_events")
        assert open_source(demo_store, r["source_table"], r["source_sha256"], r["locator"]).kind != "missing"
    # the evidence rows are untouched by the merge
    plain = queries.timeline(demo_store, followed_patient, response=False)
    assert tl.filter(pl.col("track") != "response").equals(plain)


def test_timeline_figure_draws_the_response_track_by_category():
    from core.ui.figures import timeline_figure
    from core.ui.response_figures import RESPONSE_COLOURS

    at = datetime(2025, 1, 6)
    rows = [("lesion_measurements", "response", "RECIST PD: sum 36.0 mm — sum 36.0 mm ... PD needs >= +20% and <= x",
             "PD", "imaging", at, "file:///a.csv", "a" * 64, "row 2", recist.EXTRACTOR, "1.0", at, "r", "response"),
            ("imaging_studies", "imaging study", "CT chest", "U1", "imaging", at - timedelta(days=1), "file:///s.dcm",
             "b" * 64, "1.2.3", "dicom", "1", at, "r", "imaging")]
    fig = timeline_figure(pl.DataFrame(rows, schema=PROVENANCE, orient="row"))
    tr = {t.name: t for t in fig.data}
    assert list(fig.layout.yaxis.categoryarray) == ["response", "imaging"]
    assert list(tr["response"].marker.color) == [RESPONSE_COLOURS["PD"]] and list(tr["response"].text) == ["PD"]
    assert "&lt;= x" in tr["response"].hovertext[0] and "source: a.csv" in tr["response"].hovertext[0]


def test_response_figure_marks_the_last_board():
    from core.ui.response_figures import response_figure

    t0 = datetime(2025, 1, 6)
    meas = pl.DataFrame({"lesion_id": ["L1", "L1"], "study_uid": ["S0", "S1"],
                         "observed_at": [t0, t0 + timedelta(weeks=8)], "long_axis_mm": [30.0, 40.0]})
    series = recist.assess_response(meas)
    fig = response_figure(series, last_board_at=t0 + timedelta(weeks=4))
    assert len(fig.layout.shapes) == 3  # baseline, PR threshold, last board
    assert any(a.text == "last board" for a in fig.layout.annotations)
    assert len(response_figure(series).layout.shapes) == 2


# ---- the views ------------------------------------------------------------------------------------

def test_patient_page_shows_the_response_block_and_track(demo_store, followed_patient):
    at = _app("2_Patient.py", followed_patient).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Response (RECIST 1.1-style)" in [s.value for s in at.subheader]
    captions = [c.value for c in at.caption]
    assert recist.THRESHOLDS_TEXT in captions and recist.CAVEAT in captions
    series = recist.response_series(demo_store, followed_patient)
    head = _board_headline(demo_store, followed_patient)
    assert f"**Latest:** {head.line}" in [m.value for m in at.markdown]
    tables = [d.value for d in at.dataframe if "targets_measured" in d.value.columns]
    assert len(tables) == 1 and tables[0]["response"].tolist() == series["response"].to_list()
    charts = _charts(at)
    timeline = next(c for c in charts if any(t.get("name") == "imaging" for t in c["data"]))
    track = next(t for t in timeline["data"] if t.get("name") == "response")
    assert len(track["x"]) == series.height
    assert track["text"] == [r if r == "PD" else "" for r in series["response"].to_list()]
    assert all("RECIST" in h and "source:" in h for h in track["hovertext"])
    assert any(t.get("name") == "nadir" or t.get("name") == "response" for c in charts if c is not timeline
               for t in c["data"])  # the response figure itself
    flags = [e.value for e in at.error if e.value.startswith(("New progression since", "Progression (RECIST PD)"))]
    assert flags == ([head.flag] * 2 if head.flag else [])  # summary tab and response block


def test_patient_page_flags_new_progression_since_last_board(demo_store):
    ids = _measured(demo_store)
    flagged = next(((p, h) for p in ids if (h := _board_headline(demo_store, p)).flag), None)
    if flagged is None:
        pytest.skip("no patient in the demo store progressed since their last board")
    pid, head = flagged
    at = _app("2_Patient.py", pid).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error].count(head.flag) == 2  # summary tab and response block
    assert head.flag.startswith(("New progression since last board (", "Progression (RECIST PD) on file"))


def _meeting_case(con) -> tuple[str, str]:
    from core.board.agenda import agenda, upcoming_meeting

    mid = upcoming_meeting(con).meeting_id
    order = agenda(con, mid)["patient_id"].to_list()
    return mid, _with_follow_up(con, order) or order[0]


def test_presentation_shows_the_response_line_masked(demo_store):
    mid, pid = _meeting_case(demo_store)
    at = _app("6_Present.py", pid).run()
    assert not at.exception, [e.value for e in at.exception]
    head = _board_headline(demo_store, pid, mid)
    text = [m.value for m in at.markdown]
    line = next(m for m in text if "Response (RECIST 1.1-style):" in m)
    assert html.escape(head.line) in line and "font-size:1.9rem" in line
    if head.latest:
        assert f">{head.latest}</span>" in line
    shown_flag = [m for m in text if "rogression" in m and "#D73027" in m]
    assert len(shown_flag) == (1 if head.flag else 0)
    name = demo_store.execute("SELECT family_name FROM patients WHERE patient_id = ?", [pid]).fetchone()[0]
    if name:
        rendered = " ".join(str(x.value) for x in list(at.markdown) + list(at.title) + list(at.caption))
        assert name.upper() not in rendered.upper()


def test_presentation_flags_new_progression_in_large_red_type(demo_store, monkeypatch):
    import streamlit as st

    mid, pid = _meeting_case(demo_store)
    last = datetime(2025, 3, 1)
    fake = recist.ResponseHeadline("PD", datetime(2025, 4, 2), "RECIST PD: sum 40.0 mm, +33% vs baseline (2025-04-02)",
                                   True, datetime(2025, 4, 2), last)
    monkeypatch.setattr(recist, "board_response_headline", lambda *a, **k: fake)
    st.cache_data.clear()  # the headline is cached per store version and board revision
    try:
        at = _app("6_Present.py", pid).run()
    finally:
        st.cache_data.clear()  # nothing computed with the fake outlives this test
    assert not at.exception, [e.value for e in at.exception]
    want = "New progression since last board (2025-03-01): PD on 2025-04-02"
    flag = [m.value for m in at.markdown if want in m.value]
    assert len(flag) == 1 and "background:#D73027" in flag[0] and "font-size:1.9rem" in flag[0]
