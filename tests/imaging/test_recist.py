"""RECIST 1.1-style response on hand-made measurement series (and once through a small store)."""
from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import polars as pl
import pytest

from core.imaging import recist
from core.imaging.recist import Response, assess_response, progression_since
from core.ingest.base import insert_rows
from core.store import queries, schema

T0 = datetime(2025, 1, 6, 9, 0)


def _series(*studies: dict[str, float], organs: dict[str, str] | None = None, weeks: int = 8) -> pl.DataFrame:
    """One study per argument ({lesion_id: long axis mm}), ``weeks`` apart, as a measurement frame."""
    rows = []
    for i, lesions in enumerate(studies):
        for lid, mm in lesions.items():
            rows.append({"lesion_id": lid, "study_uid": f"S{i}", "observed_at": T0 + timedelta(weeks=weeks * i),
                         "long_axis_mm": mm, "organ": (organs or {}).get(lid), "source_uri": "file:///ann.csv",
                         "source_sha256": "a" * 64, "locator": f"row {len(rows) + 2}", "ingested_at": T0,
                         "ingest_run_id": "run1"})
    return pl.DataFrame(rows, schema={"lesion_id": pl.Utf8, "study_uid": pl.Utf8, "observed_at": pl.Datetime("us"),
                                      "long_axis_mm": pl.Float64, "organ": pl.Utf8, "source_uri": pl.Utf8,
                                      "source_sha256": pl.Utf8, "locator": pl.Utf8, "ingested_at": pl.Datetime("us"),
                                      "ingest_run_id": pl.Utf8})


def _responses(df: pl.DataFrame) -> list[str]:
    return df["response"].to_list()


@pytest.mark.parametrize("baseline,follow,expected", [
    (10.0, 12.0, "SD"),    # +20 % but only +2 mm: the 5 mm absolute rule keeps it SD
    (30.0, 36.0, "PD"),    # +20 % and +6 mm
    (30.0, 35.0, "SD"),    # +5 mm but +16.7 %
    (40.0, 28.0, "PR"),    # exactly -30 %: PR (inclusive)
    (40.0, 28.1, "SD"),    # -29.75 %
    (25.0, 30.0, "PD"),    # exactly +20 % and exactly +5 mm: PD (both inclusive)
])
def test_thresholds_single_lesion(baseline, follow, expected):
    out = assess_response(_series({"L1": baseline}, {"L1": follow}))
    assert _responses(out) == ["baseline", expected]


def test_five_mm_rule_is_named_in_the_reason():
    out = assess_response(_series({"L1": 10.0}, {"L1": 12.0}))
    assert out["change_from_nadir_pct"][1] == pytest.approx(20.0)
    assert out["change_from_nadir_mm"][1] == pytest.approx(2.0)
    assert "only +2.0 mm" in out["reason"][1] and "not PD" in out["reason"][1]


def test_sum_of_diameters_over_several_targets():
    out = assess_response(_series({"L1": 20.0, "L2": 15.0, "L3": 12.0}, {"L1": 14.0, "L2": 10.0, "L3": 8.0}))
    assert out["sum_mm"].to_list() == pytest.approx([47.0, 32.0])
    assert out["change_from_baseline_pct"][1] == pytest.approx(-31.9148936)
    assert _responses(out) == ["baseline", "PR"]
    assert out["n_targets"][0] == 3


def test_new_lesion_is_progression_even_when_targets_shrink():
    out = assess_response(_series({"L1": 40.0}, {"L1": 20.0, "L9": 8.0}, {"L1": 19.0, "L9": 9.0}))
    assert _responses(out) == ["baseline", "PD", "PR"]  # reported once, where it first appears
    assert out["new_lesions"][1].to_list() == ["L9 (8.0 mm)"]
    assert "new lesion" in out["reason"][1]


def test_nadir_based_progression_after_partial_response():
    out = assess_response(_series({"L1": 50.0}, {"L1": 30.0}, {"L1": 37.0}))
    assert _responses(out) == ["baseline", "PR", "PD"]
    assert out["nadir_mm"][2] == 30.0
    assert out["change_from_baseline_pct"][2] == pytest.approx(-26.0)  # still below baseline, yet PD
    assert "from nadir 30.0 mm" in out["reason"][2]


def test_complete_response_then_reappearance():
    out = assess_response(_series({"L1": 20.0, "L2": 10.0}, {"L1": 0.0, "L2": 0.0}, {"L1": 5.0, "L2": 0.0}))
    assert _responses(out) == ["baseline", "CR", "PD"]  # from a 0 mm nadir, +5 mm is progression
    assert out["sum_mm"][1] == 0.0


def test_missing_follow_up_is_not_evaluable_and_not_progression():
    meas = _series({"L1": 30.0, "L2": 20.0}, {"L1": 29.0})
    studies = pl.DataFrame({"study_uid": ["S0", "S1", "S2"],
                            "observed_at": [T0, T0 + timedelta(weeks=8), T0 + timedelta(weeks=16)]})
    out = assess_response(meas, studies)
    assert _responses(out) == ["baseline", "NE", "NE"]
    assert "L2" in out["reason"][1] and out["sum_mm"][1] is None  # a partial sum is not shown as a sum
    assert "no lesion measurements" in out["reason"][2]
    assert progression_since(out, None) is None


def test_partial_sum_that_already_proves_progression_is_progression():
    out = assess_response(_series({"L1": 30.0, "L2": 20.0}, {"L1": 61.0}))
    assert _responses(out) == ["baseline", "PD"]
    assert "not measured" in out["reason"][1]


def test_new_lesion_with_a_missing_target_shows_no_partial_sum():
    out = assess_response(_series({"L1": 30.0, "L2": 20.0}, {"L1": 10.0, "L9": 12.0}))
    assert _responses(out) == ["baseline", "PD"]
    assert out["sum_mm"][1] is None and out["change_from_baseline_pct"][1] is None  # 10 mm is not the sum


def test_only_a_baseline_means_unknown_progression():
    out = assess_response(_series({"L1": 30.0}))
    assert _responses(out) == ["baseline"]
    assert progression_since(out, None) is None


def test_nothing_measured_gives_an_empty_series():
    out = assess_response(_series())
    assert out.height == 0 and out.columns == list(recist.SERIES_SCHEMA)


def test_unequal_lesion_sets():
    # L2 is too small to be a target (non-target, not "new" later); L3 appears only at follow-up: new
    out = assess_response(_series({"L1": 30.0, "L2": 8.0}, {"L1": 29.0}, {"L1": 28.0, "L3": 12.0}))
    assert out["n_targets"][0] == 1 and "1 non-target" in out["reason"][0]
    assert _responses(out) == ["baseline", "SD", "PD"]
    assert out["new_lesions"][2].to_list() == ["L3 (12.0 mm)"]


def test_target_selection_caps_total_and_per_organ():
    base = {"A": 50.0, "B": 45.0, "C": 40.0, "D": 30.0, "E": 25.0, "F": 20.0, "G": 15.0}
    organs = {"A": "liver", "B": "liver", "C": "liver", "D": "lung", "E": "lung", "F": "lung"}
    out = assess_response(_series(base, organs=organs))
    assert out["n_targets"][0] == 5
    assert "C " not in out["reason"][0] and "F " not in out["reason"][0]  # third liver / lung lesion left out
    assert out["sum_mm"][0] == 50 + 45 + 30 + 25 + 15


def test_baseline_is_the_last_scan_before_therapy():
    meas = _series({"L1": 20.0}, {"L1": 30.0}, {"L1": 20.0})  # untreated growth, then a response on therapy
    out = assess_response(meas, baseline_on_or_before=T0 + timedelta(weeks=9))
    assert out["study_uid"].to_list() == ["S1", "S2"]
    assert _responses(out) == ["baseline", "PR"]  # 30 -> 20 mm: -33 %
    assert _responses(assess_response(meas)) == ["baseline", "PD", "SD"]  # no therapy known: first scan


@pytest.mark.parametrize("since,expected", [(None, True), (T0 + timedelta(weeks=9), False),
                                            (T0 + timedelta(weeks=20), None)])
def test_progression_since(since, expected):
    out = assess_response(_series({"L1": 30.0}, {"L1": 40.0}, {"L1": 30.0}))  # PD at week 8, SD at week 16
    assert _responses(out) == ["baseline", "PD", "SD"]
    assert progression_since(out, since) is expected


# ---- through a store -------------------------------------------------------------------------------

def _prov(pid: str, at: datetime | None, locator: str, modality: str = "imaging", src: str = "ann.csv") -> dict:
    return {"patient_id": pid, "modality": modality, "observed_at": at, "source_uri": f"file:///demo/{src}",
            "source_sha256": (src.encode().hex() * 64)[:64], "locator": locator, "extractor": "tests",
            "extractor_version": "1", "ingested_at": T0, "ingest_run_id": "run1"}


@pytest.fixture
def store() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    schema.migrate(con)
    dates = [T0, T0 + timedelta(weeks=8), T0 + timedelta(weeks=16)]
    insert_rows(con, "imaging_studies", [
        {**_prov("P1", d, f"study {i}", src=f"s{i}.dcm"), "study_uid": f"U{i}", "dicom_modality": "CT"}
        for i, d in enumerate(dates)])
    insert_rows(con, "lesion_measurements", [
        {**_prov("P1", d, f"row {i + 2}"), "measurement_id": f"m{i}", "lesion_id": "L1", "study_uid": f"U{i}",
         "long_axis_mm": mm} for i, (d, mm) in enumerate(zip(dates, [40.0, 26.0, 27.0], strict=True))])
    insert_rows(con, "treatments", [{**_prov("P1", T0, "Procedure/1", "clinical", "f.json"), "treatment_id": "t1",
                                     "kind": "drug", "name": "osimertinib", "start_date": (T0 + timedelta(days=3)).date()}])
    texts = {"n1": "IMPRESSION:\n1. Interval decrease. No new lesions.\n",
             "n2": "IMPRESSION:\n1. Stable mass. New 11 mm hypodense lesion in hepatic segment VI.\n"}
    for k, (nid, text) in enumerate(texts.items(), start=1):
        day = dates[k].replace(hour=0, minute=0)
        insert_rows(con, "notes", [{**_prov("P1", day, "note", "notes", f"{nid}.txt"), "note_id": nid,
                                    "note_type": "Radiology Report", "text": text}])
        start = text.rindex("lesion")
        insert_rows(con, "note_events", [{**_prov("P1", day, f"chars {start}:{start + 6}", "notes", f"{nid}.txt"),
                                          "event_id": f"e{nid}", "note_id": nid, "concept_type": "imaging_finding",
                                          "concept": "lesion", "span_start": start, "span_end": start + 6,
                                          "is_negated": nid == "n1", "is_uncertain": False, "is_historical": False,
                                          "is_family": False, "is_hypothetical": False}])
    yield con
    con.close()


def test_store_series_reads_reports_and_the_negation(store):
    out = recist.response_series(store, "P1")
    assert _responses(out) == ["baseline", "PR", "PD"]  # "No new lesions" (negated) did not count; "New 11 mm" did
    assert out["new_lesions"][2].to_list() == ["lesion reported as new (radiology report)"]
    assert "note_events chars" in " ".join(out["evidence_locators"][2].to_list())
    assert recist.new_progression_since(store, "P1", T0 + timedelta(weeks=12)) is True
    assert recist.new_progression_since(store, "P1", T0 + timedelta(weeks=17)) is None
    assert recist.response_series(store, "nobody").height == 0


def test_timeline_merges_the_response_track_with_its_provenance(store):
    rows = recist.response_timeline_rows(store, "P1")
    tl = queries.timeline(store, "P1")
    assert tl.columns == queries.patient_evidence(store, "P1").columns + ["track"]
    resp = tl.filter(pl.col("track") == "response")
    assert resp.height == rows.height == 3 and resp["extractor"].unique().to_list() == [recist.EXTRACTOR]
    assert resp["value"].to_list() == ["baseline", "PR", "PD"]
    assert resp["summary"][1].startswith("RECIST PR: sum 26.0 mm, -35% vs baseline")
    assert "PR needs <= -30%" in resp["summary"][1]  # the reason travels with the point
    for col in ("source_table", "source_uri", "source_sha256", "locator", "extractor_version", "ingested_at",
                "ingest_run_id", "modality", "observed_at"):
        assert resp[col].null_count() == 0, col
    assert tl["observed_at"].is_sorted()
    # every response point opens a real stored row
    for r in resp.iter_rows(named=True):
        assert queries.evidence_row(store, r["source_table"], r["locator"], r["source_sha256"]) is not None
    assert "response" not in queries.timeline(store, "P1", response=False)["track"].to_list()
    assert queries.timeline(store, "nobody").height == 0


def test_a_study_without_measurements_points_at_the_study(store):
    at = T0 + timedelta(weeks=24)
    insert_rows(store, "imaging_studies", [{**_prov("P1", at, "study 3", src="s3.dcm"), "study_uid": "U3",
                                            "dicom_modality": "CT"}])
    out = recist.response_series(store, "P1")
    last = out.row(-1, named=True)
    assert last["response"] == "NE" and last["source_table"] == "imaging_studies" and last["locator"] == "study 3"
    assert last["evidence_locators"] == ["imaging_studies study 3"]
    assert queries.evidence_row(store, "imaging_studies", "study 3", last["source_sha256"]) is not None


# ---- what the views show -------------------------------------------------------------------------

def test_headline_flags_progression_since_the_last_board():
    out = assess_response(_series({"L1": 30.0}, {"L1": 40.0}, {"L1": 30.0}))  # PD at week 8, SD at week 16
    never = recist.response_headline(out, None)
    assert never.latest == "SD" and never.latest_at == T0 + timedelta(weeks=16)
    assert never.new_progression is True and never.progression_at == T0 + timedelta(weeks=8)
    assert never.flag.startswith("Progression (RECIST PD) on file, not yet discussed at a board")
    before = recist.response_headline(out, T0 + timedelta(weeks=4))
    assert before.flag == "New progression since last board (2025-02-03): PD on 2025-03-03"
    after = recist.response_headline(out, T0 + timedelta(weeks=9))
    assert after.new_progression is False and after.flag is None
    assert after.line == "RECIST SD: sum 30.0 mm, +0% vs baseline, +0% (+0.0 mm) vs nadir (2025-04-28)"


@pytest.mark.parametrize("studies,expected", [
    ((), "no lesion measurements on file"),
    (({"L1": 30.0},), "RECIST baseline only (sum 30.0 mm, 2025-01-06): no follow-up study yet"),
])
def test_headline_without_follow_up(studies, expected):
    head = recist.response_headline(assess_response(_series(*studies)), None)
    assert head.line == expected and head.latest is None and head.flag is None


def test_headline_for_a_not_evaluable_study_names_the_last_evaluable_one():
    meas = _series({"L1": 30.0, "L2": 20.0}, {"L1": 20.0, "L2": 10.0}, {"L1": 19.0})
    head = recist.response_headline(assess_response(meas), None)
    assert head.latest == "NE" and "L2" in head.line and "last evaluable: PR on 2025-03-03" in head.line


def test_response_table_for_people():
    out = recist.response_table(assess_response(_series({"L1": 20.0, "L2": 15.0}, {"L1": 14.0, "L2": 10.0})))
    assert out.columns == list(recist.TABLE_SCHEMA)
    assert out["response"].to_list() == ["baseline", "PR"]
    assert out["vs_baseline_pct"][1] == pytest.approx(-31.4) and out["targets_measured"][1] == "2/2"
    assert out["source"][1] == "ann.csv @ row 4"  # L1 at follow-up: the largest measured target
    assert recist.response_table(assess_response(_series())).height == 0


def test_thresholds_are_written_down_from_the_constants():
    t = recist.THRESHOLDS_TEXT
    assert "30% below the baseline" in t and "20% and at least 5 mm above the nadir" in t and "new lesion" in t
    assert "not a radiologist's read" in recist.CAVEAT


def test_last_board_discussion_takes_the_later_of_meeting_and_decision(store):
    board = duckdb.connect()
    schema.migrate(board, schema.BOARD_MIGRATIONS)
    m1, m2, m3 = T0 + timedelta(weeks=4), T0 + timedelta(weeks=10), T0 + timedelta(weeks=20)
    insert_rows(store, "board_meetings", [{"meeting_id": f"M{i}", "scheduled_at": at}
                                          for i, at in enumerate((m1, m2, m3), start=1)])
    insert_rows(store, "board_cases", [{"meeting_id": m, "patient_id": "P1", "position": 1} for m in ("M1", "M3")])
    assert recist.last_board_discussion(store, board, "P1", meeting_id="M3") == m1
    assert recist.last_board_discussion(store, board, "P1", before=m1) is None
    assert recist.last_board_discussion(store, board, "P2") is None
    board.execute("INSERT INTO decisions (decision_id, meeting_id, patient_id, decided_at) "
                  "VALUES ('d1', 'M2', 'P1', ?)", [m2])
    assert recist.last_board_discussion(store, board, "P1", meeting_id="M3") == m2
    # presenting M3 (week 20): the PD at week 16 came after the last discussion (week 10)
    head = recist.board_response_headline(store, board, "P1", meeting_id="M3")
    assert head.flag == "New progression since last board (2025-03-17): PD on 2025-04-28"
    # presenting M2 (week 10): only what was known then counts, and the PR at week 8 is not progression
    head = recist.board_response_headline(store, board, "P1", meeting_id="M2")
    assert head.latest == "PR" and head.flag is None
    board.close()
