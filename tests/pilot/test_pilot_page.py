"""The pilot review page renders on the demo store, and its numbers trace to the decision rows."""
from __future__ import annotations

import io
import time
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def _page(role: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["user"] = role
    at.session_state["role"] = role
    at.session_state["last_activity"] = time.time()
    at.switch_page("pages/7_Pilot.py")
    return at.run()


def _board_counts(window) -> tuple[int, int]:
    """(decisions in the window with the model used, of them accepted), straight from the board store."""
    from core.store import db

    cur = db.board_writer().read()
    try:
        return tuple(cur.execute("""
            SELECT count(*) FILTER (WHERE model_agreement <> 'not used'),
                   count(*) FILTER (WHERE model_agreement = 'accepted')
            FROM decisions WHERE decided_at >= ? AND decided_at < CAST(? AS DATE) + INTERVAL 1 DAY""",
                                 [window.start, window.end]).fetchall()[0])
    finally:
        cur.close()


def test_page_verdict_traces_to_decisions(demo_store):
    at = _page("oncologist")
    assert not at.exception, [e.value for e in at.exception]
    banner = [m.value for m in list(at.success) + list(at.warning) + list(at.error) if "Verdict" in m.value]
    assert len(banner) == 1 and any(v in banner[0] for v in ("GO", "NO-GO", "EXTEND"))
    table = at.dataframe[0].value
    from core.pilot.verdict import load_thresholds

    assert list(table["threshold_id"]) == [t.id for t in load_thresholds().thresholds]
    from core.pilot import report

    cur = __import__("core.store.db", fromlist=["db"]).board_writer().read()
    window = report.default_window(cur, load_thresholds(), evidence_con=demo_store)
    cur.close()
    n_used, n_accepted = _board_counts(window)
    acc = table[table["threshold_id"] == "acceptance"].iloc[0]
    assert n_used > 0 and acc["n"] == n_used
    assert acc["estimate"].startswith(f"{100 * n_accepted / n_used:.0f}%")
    # drill-down of the acceptance number: numerator = accepted rows, numerator + denominator = n
    drill = at.dataframe[-1].value
    assert (drill["counted_as"] == "numerator").sum() == n_accepted
    assert drill["counted_as"].isin(["numerator", "denominator only"]).sum() == n_used
    assert drill["open"].str.startswith("/patient?patient=PT").all()


def test_drilldown_selection_and_export_match_the_table(demo_store):
    at = _page("oncologist")
    at.selectbox(key="pilot_drill_metric").set_value("turnaround_reduction").run()
    assert not at.exception
    drill = at.dataframe[-1].value
    assert set(drill["counted_as"]) <= {"denominator only", "not counted"} and len(drill) > 0
    from core.pilot import export, report
    from core.store import db

    rv = report.build_review(db.connect_readonly(), db.board_writer().read())
    csv = pl.read_csv(io.StringIO(export.metrics_csv(rv)))
    shown = at.dataframe[0].value
    assert csv["estimate"].to_list() == list(shown["estimate"]) and csv["n"].to_list() == list(shown["n"])
    assert any(b.label == "Prepare PDF" for b in at.button)


def test_viewer_sees_the_review_without_export(demo_store):
    at = _page("board viewer")
    assert not at.exception
    assert any("may not export" in c.value for c in at.caption)
    assert not any(b.label == "Prepare PDF" for b in at.button)


@pytest.mark.slow
def test_pdf_export(demo_store, tmp_path):
    from core.pilot import export, figures, report
    from core.store import db

    rv = report.build_review(db.connect_readonly(), db.board_writer().read())
    figs = figures.review_figures(rv)
    pdf = export.export_pdf(rv, tmp_path / "p.pdf", {"Turnaround": figs["Turnaround"]})  # one figure: keep it quick
    assert pdf.read_bytes()[:4] == b"%PDF"
