from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from core.pilot import metrics, stats
from core.pilot.verdict import Measured, Status, Threshold, Verdict, judge, load_thresholds, overall


def test_wilson_matches_hand_computed():
    r = stats.wilson(7, 10)
    assert r.p == pytest.approx(0.7)
    assert (r.lo, r.hi) == pytest.approx((0.3968, 0.8922), abs=1e-4)
    assert stats.wilson(0, 0).p is None  # no data is not 0%
    r0 = stats.wilson(0, 20)
    assert r0.lo == 0 and r0.hi == pytest.approx(0.1611, abs=1e-4)
    with pytest.raises(ValueError):
        stats.Rate(3, 2, None, None, None)


def test_auroc_and_ece_hand_computed():
    assert stats.auroc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert stats.auroc(np.array([1, 1]), np.array([0.2, 0.3])) is None
    assert stats.auroc(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.5)
    assert stats.ece(np.array([0, 1, 1, 1]), np.array([0.1, 0.1, 0.9, 0.9])) == pytest.approx(0.25)


def _cases(agreements, risks=None, outcomes=None, hours=None, **cols):
    n = len(agreements)
    t0 = datetime(2025, 6, 2, 8)
    return metrics.conform(pl.DataFrame({
        "decision_id": [str(i) for i in range(n)], "meeting_id": ["M"] * n, "patient_id": [f"P{i}" for i in range(n)],
        "added_at": [t0 - timedelta(hours=48)] * n, "ready_at": [t0] * n,
        "decided_at": [t0 + timedelta(hours=h) for h in (hours or [24] * n)],
        "model_agreement": agreements, "reason_category": cols.get("reasons", ["none"] * n),
        "model_risk": risks or [0.5] * n, "outcome_12m": outcomes or [None] * n,
        "cancer_type": cols.get("cancer_type", ["lung"] * n), "sex": ["F"] * n, "age_years": [60.0] * n,
        "site": ["main"] * n, "has_imaging": [True] * n, "has_notes": [True] * n, "has_sequencing": [False] * n,
    }, schema_overrides={"outcome_12m": pl.Boolean}))


def test_rates_and_reasons():
    df = _cases(["accepted"] * 6 + ["overridden"] * 2 + ["modified"] + ["not used"],
                reasons=["none"] * 6 + ["patient preference", "patient preference", "comorbidity / performance status",
                                        "none"])
    assert metrics.acceptance_rate(df).k == 6 and metrics.acceptance_rate(df).n == 9  # 'not used' excluded
    assert metrics.override_rate(df).k == 2
    assert metrics.discordance_rate(df).k == 3
    reasons = metrics.overrides_by_reason(df)
    assert reasons["reason"][0] == "patient preference" and reasons["k"][0] == 2 and reasons["n"][0] == 3


def test_turnaround_reduction():
    df = _cases(["accepted"] * 5, hours=[10, 20, 30, 40, 50])
    m = metrics.turnaround_reduction(df, baseline_hours=60)
    assert m.value == pytest.approx(0.5) and m.n == 5 and m.lo <= 0.5 <= m.hi


def test_edge_cases_no_cases_all_overrides_empty_subgroup():
    empty = _cases([])
    assert metrics.acceptance_rate(empty).p is None
    ms = metrics.measure_all(empty, 100, 20)
    cfg = load_thresholds()
    js = [judge(t, ms[t.metric]) for t in cfg.thresholds]
    assert all(j.status == Status.NOT_ENOUGH for j in js)
    assert overall(js).verdict == Verdict.EXTEND

    allover = _cases(["overridden"] * 40, reasons=["other"] * 40)
    ms = metrics.measure_all(allover, 100, 20)
    acc = next(t for t in cfg.thresholds if t.metric == "acceptance_rate")
    assert judge(acc, ms["acceptance_rate"]).status == Status.NOT_MET
    assert overall([judge(acc, ms["acceptance_rate"])]).verdict == Verdict.NO_GO

    rng = np.random.default_rng(0)
    risks = list(rng.uniform(size=60))
    outcomes = [bool(rng.uniform() < r) for r in risks]
    df = _cases(["accepted"] * 60, risks=risks, outcomes=outcomes, cancer_type=["lung"] * 55 + ["breast"] * 5)
    m = metrics.subgroup_auroc_min(df, min_n=20)
    assert m.value is not None and "cancer_type=breast (n=5)" in m.detail  # too small to judge, and said so


@pytest.mark.parametrize("direction,value,measured,status", [
    (">=", 0.7, Measured(0.8, 0.72, 0.88, 50), Status.MET),
    (">=", 0.7, Measured(0.6, 0.5, 0.69, 50), Status.NOT_MET),
    (">=", 0.7, Measured(0.72, 0.6, 0.8, 50), Status.NOT_ENOUGH),     # straddles
    (">=", 0.7, Measured(0.9, 0.8, 0.95, 5), Status.NOT_ENOUGH),      # n too small
    ("<=", 0.2, Measured(0.1, 0.05, 0.18, 50), Status.MET),
    ("<=", 0.2, Measured(0.3, 0.22, 0.4, 50), Status.NOT_MET),
])
def test_judge(direction, value, measured, status):
    t = Threshold("x", "m", direction, value, 30, True, "")
    assert judge(t, measured).status == status


def test_overall_verdict_rules():
    crit = Threshold("a", "m", ">=", 0.5, 1, True, "")
    soft = Threshold("b", "m", ">=", 0.5, 1, False, "")
    met = Measured(0.9, 0.8, 0.95, 10)
    bad = Measured(0.1, 0.05, 0.2, 10)
    assert overall([judge(crit, met), judge(soft, met)]).verdict == Verdict.GO
    assert overall([judge(crit, bad), judge(soft, met)]).verdict == Verdict.NO_GO
    go_watch = overall([judge(crit, met), judge(soft, bad)])
    assert go_watch.verdict == Verdict.GO and "watch" in go_watch.reasons[0]
    assert overall([judge(crit, Measured(0.5, 0.3, 0.7, 10))]).verdict == Verdict.EXTEND


def test_threshold_file_is_valid_and_hashed():
    cfg = load_thresholds()
    assert len(cfg.thresholds) >= 6 and len(cfg.sha256) == 64
    assert {t.metric for t in cfg.thresholds} <= set(metrics.measure_all(_cases(["accepted"]), 1, 1))
