"""pilot_cases on the hand-built stores of pilot_store.py: every number computed by hand."""
from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

import pilot_store as ps
from core.pilot import metrics
from core.pilot.cases import pilot_cases, window_bounds
from core.pilot.metrics import PILOT_SCHEMA


@pytest.fixture(scope="module")
def cases(hand_stores):
    con, w = hand_stores
    return pilot_cases(con, w.read(), *ps.WINDOW)


def _row(cases, pid):
    return cases.filter(pl.col("patient_id") == pid).row(0, named=True)


def test_conforms_and_joins_only_agenda_cases_in_the_window(cases):
    assert {c: cases.schema[c] for c in PILOT_SCHEMA} == PILOT_SCHEMA
    # P6 has no agenda case, P7 was decided after the window; P5 counted once (latest decision wins)
    assert cases["patient_id"].to_list() == ["P1", "P2", "P3", "P4", "P5"]
    assert _row(cases, "P5")["model_agreement"] == "modified"
    assert _row(cases, "P5")["reason_category"] == "comorbidity / performance status"


def test_turnaround_and_preparation_hours(cases):
    h = dict(zip(cases["patient_id"], metrics.turnaround_hours(cases)))
    assert h == pytest.approx({"P1": 46, "P2": 24, "P3": 20, "P4": 12, "P5": 48})
    assert metrics.preparation_hours(cases.filter(pl.col("patient_id") == "P1"))[0] == pytest.approx(26)
    m = metrics.turnaround_reduction(cases, baseline_hours=48)
    assert m.value == pytest.approx(1 - 24 / 48) and m.n == 5


@pytest.mark.parametrize("pid,outcome,kind", [
    ("P1", True, "progression"),   # progression 200 days after the decision
    ("P2", False, None),           # followed 400 days, no event
    ("P3", None, None),            # followed 100 days only, no event: not observable yet
    ("P4", True, "death"),         # death 300 days after
    ("P5", False, None),           # progression BEFORE the decision does not count; followed 500 days
])
def test_outcome_12m(cases, pid, outcome, kind):
    r = _row(cases, pid)
    assert r["outcome_12m"] is outcome
    assert r["event_kind"] == kind


def test_followup_days_explain_the_null(cases):
    assert _row(cases, "P3")["followup_days"] == pytest.approx(100 - 20 / 1440)  # note at D1+100d, decided 08:20


def test_evidence_on_file_at_the_decision(cases):
    flags = {r["patient_id"]: (r["has_imaging"], r["has_notes"], r["has_sequencing"])
             for r in cases.iter_rows(named=True)}
    assert flags["P1"] == (True, True, False)   # specimen collected after the decision
    assert flags["P2"] == (True, True, True)
    assert flags["P3"] == (False, False, False)  # imaging and note only after
    assert flags["P4"] == (False, False, True)   # undated specimen counts as on file
    assert metrics.completeness(cases)["all_core"].k == 1


def test_age_at_decision(cases):
    assert _row(cases, "P1")["age_years"] == pytest.approx(60 + (31 + 8 / 24) / 365.25)


def test_not_used_decisions_are_listed_but_not_in_rates(cases):
    assert _row(cases, "P4")["model_agreement"] == "not used"
    acc = metrics.acceptance_rate(cases)
    assert (acc.k, acc.n) == (2, 4)
    assert metrics.override_rate(cases).k == 1 and metrics.discordance_rate(cases).k == 2
    a = metrics.auroc(cases)   # P1 (event, 0.8) vs P2 (0.2) and P5 (0.6); P3 unobserved, P4 no risk
    assert a.value == pytest.approx(1.0) and a.n == 3


def test_empty_window_and_bad_window(hand_stores):
    con, w = hand_stores
    empty = pilot_cases(con, w.read(), date(2020, 1, 1), date(2020, 1, 31))
    assert empty.height == 0 and {c: empty.schema[c] for c in PILOT_SCHEMA} == PILOT_SCHEMA
    assert metrics.measure_all(empty, 100, 20)["acceptance_rate"].value is None
    with pytest.raises(ValueError, match="before it starts"):
        window_bounds(date(2025, 6, 30), date(2025, 6, 1))
    assert window_bounds(date(2025, 6, 1), date(2025, 6, 1))[1] == datetime(2025, 6, 2)
