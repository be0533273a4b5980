"""The simulated 90-day pilot: schedule, realistic decision draws, determinism, and what build-demo stored."""
from __future__ import annotations

import os
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from core.board.decisions import ModelAgreement, OverrideReason
from core.models import target
from core.pilot import sim_agenda as ag
from core.pilot import simulate as sim


def test_pilot_start_is_a_wednesday_after_the_thresholds_with_observable_outcomes():
    ref = date(2026, 12, 9)
    s = ag.pilot_start(ref, date(2025, 5, 1))
    assert s == date(2025, 5, 14) and s.weekday() == 2
    late = ag.pilot_start(ref, date(2026, 6, 1))  # too late to observe 12 months: moved earlier
    last = ag.meeting_times(late)[-1]
    assert late.weekday() == 2 and (ref - last.date()).days >= target.HORIZON_DAYS + ag.OUTCOME_MARGIN_DAYS
    times = ag.meeting_times(s)
    assert len(times) == 12 and {(b - a).days for a, b in zip(times, times[1:])} == {7}


def _view(missing=()):
    return sim.ModelView(0.3, 0.2, 0.4, ("clinical",), tuple(missing), "m", "v1")


def _case(i: int, week: int) -> dict:
    return {"meeting_id": f"MTB-{week:02d}", "patient_id": f"PT{i:05d}", "week": week, "position": 1,
            "scheduled_at": datetime(2025, 5, 14, 7, 30) + timedelta(days=7 * (week - 1)), "minutes_planned": 5,
            "minutes_before": 10, "stage": "II", "cancer_type": "lung", "first_discussion": False}


def test_decision_draws_are_realistic_and_deterministic():
    cases = [_case(i, 1 + i % 12) for i in range(2400)]
    ds = [sim.draw_decision(c, _view()) for c in cases]
    used = [d for d in ds if d.model_agreement != ModelAgreement.NOT_USED]
    acc = sum(d.model_agreement == ModelAgreement.ACCEPTED for d in used) / len(used)
    assert 0.74 <= acc <= 0.80
    assert 0.01 <= 1 - len(used) / len(ds) <= 0.06
    reasons = Counter(d.reason_category for d in used if d.model_agreement != ModelAgreement.ACCEPTED)
    assert reasons.most_common(1)[0][0] == OverrideReason.PATIENT_PREFERENCE and len(reasons) >= 6
    kinds = Counter(d.model_agreement for d in used)
    assert kinds[ModelAgreement.MODIFIED] > 0 and kinds[ModelAgreement.OVERRIDDEN] > 0
    early = [d for d, c in zip(ds, cases) if c["week"] <= 3 and d.model_agreement != ModelAgreement.NOT_USED]
    late = [d for d, c in zip(ds, cases) if c["week"] >= 10 and d.model_agreement != ModelAgreement.NOT_USED]
    share = lambda xs: sum(d.model_agreement == ModelAgreement.ACCEPTED for d in xs) / len(xs)  # noqa: E731
    assert share(late) > share(early)  # the board trusts the tool more as the pilot goes on
    again = sim.draw_decision(cases[7], _view())
    assert (again.model_agreement, again.reason_category, again.decided_at) == \
        (ds[7].model_agreement, ds[7].reason_category, ds[7].decided_at)
    assert ds[0].decided_at == cases[0]["scheduled_at"] + timedelta(minutes=15)
    assert ds[0].model_risk == 0.3 and ds[0].decided_by == sim.SIM_ACTOR


def test_without_a_model_the_output_is_not_used():
    d = sim.draw_decision(_case(1, 1), None)
    assert d.model_agreement == ModelAgreement.NOT_USED and d.model_risk is None
    assert d.reason_category == OverrideReason.MISSING_DATA


# ---- what build-demo stored (tests/conftest.py demo store: 60 patients, seed 11) -------------------
DEMO_SEED = int(os.environ.get("TB_TEST_SEED", "11"))  # the seed of a TB_TEST_REUSE_DIR store, if used

@pytest.fixture(scope="module")
def stored(demo_env):
    from core.store import db

    old = {k: os.environ.get(k) for k in demo_env}
    os.environ.update(demo_env)
    con = db.connect_readonly()
    yield con, ag.pilot_agenda(con)
    con.close()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_build_demo_stored_twelve_weekly_pilot_meetings_of_historical_patients(stored):
    con, agenda = stored
    meetings = agenda.group_by("meeting_id", "scheduled_at", "week").len().sort("scheduled_at")
    assert meetings.height == 12 and meetings["week"].to_list() == list(range(1, 13))
    assert all(t.weekday() == 2 for t in meetings["scheduled_at"].to_list())
    assert agenda.height >= 12 and agenda["patient_id"].n_unique() == agenda.height  # one discussion each
    cohorts = set(con.execute("SELECT DISTINCT cohort FROM patients WHERE patient_id IN (SELECT unnest(?))",
                              [agenda["patient_id"].to_list()]).fetchall())
    assert cohorts == {("historical",)}
    # the model's index date (first board) is not moved by the pilot
    idx = target.index_dates(con, agenda["patient_id"].to_list()).join(agenda, on="patient_id")
    assert (idx["index_date"] <= idx["scheduled_at"]).all()
    assert (idx.filter(~pl.col("first_discussion"))["index_date"] < idx.filter(~pl.col("first_discussion"))
            ["scheduled_at"]).all()


def test_simulation_is_deterministic_and_matches_the_store(stored, demo_env):
    from core.synth.cohort import reference_date

    con, agenda = stored
    plan1 = ag.plan_agenda(con, DEMO_SEED, reference_date(DEMO_SEED), date(2025, 5, 1))
    plan2 = ag.plan_agenda(con, DEMO_SEED, reference_date(DEMO_SEED), date(2025, 5, 1))
    assert plan1.equals(plan2)
    key = ["meeting_id", "patient_id", "added_at", "ready_at"]
    assert plan1.select(key).sort(key).equals(agenda.select(key).sort(key))
    from core.store import db

    planned = {(d.patient_id, str(d.model_agreement), d.decided_at, None if d.model_risk is None else
                round(d.model_risk, 9)) for d, _ in sim.plan_decisions(con)}
    cur = db.board_writer(Path(demo_env["TB_STORE_DIR"])).read()
    try:
        stored = {(p, a, t, None if r is None else round(r, 9)) for p, a, t, r in cur.execute(
            "SELECT patient_id, model_agreement, decided_at, model_risk FROM decisions WHERE decided_by = ?",
            [sim.SIM_ACTOR]).fetchall()}
    finally:
        cur.close()
    assert planned == stored and len(planned) == agenda.height  # re-planning reproduces what build-demo recorded


def test_pilot_decisions_are_in_the_board_store_and_audited(stored, demo_env):
    from core.governance import audit
    from core.store import db

    con, agenda = stored
    w = db.board_writer(Path(demo_env["TB_STORE_DIR"]))  # the process-wide writer (the app tests share it)
    cur = w.read()
    try:
        got = cur.execute("SELECT meeting_id, patient_id FROM decisions WHERE decided_by = ?",
                          [sim.SIM_ACTOR]).fetchall()
        assert set(got) == set(agenda.select("meeting_id", "patient_id").iter_rows())
        n_audit = cur.execute("SELECT count(*) FROM audit_log WHERE action = 'decision.record' AND actor = ?",
                              [sim.SIM_ACTOR]).fetchall()[0][0]
        assert n_audit == len(got) and audit.verify(cur).ok
        assert sim.record_pilot_decisions(w, sim.plan_decisions(con), "again") == 0  # a re-run adds nothing
    finally:
        cur.close()
