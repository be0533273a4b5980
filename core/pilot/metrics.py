"""Pilot metrics from recorded decisions and observed outcomes.

Input is one frame of pilot cases (``pilot_cases``) with columns:
decision_id, meeting_id, patient_id, decided_at, ready_at, added_at, model_agreement,
reason_category, model_risk, outcome_12m (bool, null = not yet observable), cancer_type,
sex, age_years, site, has_imaging, has_notes, has_sequencing.
Every rate comes with its n and a 95% interval.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from core.pilot import stats
from core.pilot.verdict import Measured

PILOT_SCHEMA = {
    "decision_id": pl.Utf8, "meeting_id": pl.Utf8, "patient_id": pl.Utf8, "decided_at": pl.Datetime("us"),
    "ready_at": pl.Datetime("us"), "added_at": pl.Datetime("us"), "model_agreement": pl.Utf8,
    "reason_category": pl.Utf8, "model_risk": pl.Float64, "outcome_12m": pl.Boolean, "cancer_type": pl.Utf8,
    "sex": pl.Utf8, "age_years": pl.Float64, "site": pl.Utf8, "has_imaging": pl.Boolean, "has_notes": pl.Boolean,
    "has_sequencing": pl.Boolean,
}
AGE_BANDS = [(0, 50, "<50"), (50, 65, "50-64"), (65, 75, "65-74"), (75, 200, "75+")]
SUBGROUPS = ("cancer_type", "sex", "age_band", "site")


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Cast a pilot-case frame to PILOT_SCHEMA (an empty frame keeps typed columns)."""
    missing = set(PILOT_SCHEMA) - set(df.columns)
    if missing:
        raise ValueError(f"pilot cases lack columns {sorted(missing)}")
    return df.with_columns([pl.col(c).cast(t) for c, t in PILOT_SCHEMA.items()])


def with_age_band(df: pl.DataFrame) -> pl.DataFrame:
    expr = pl.lit(None, dtype=pl.Utf8)
    for lo, hi, name in reversed(AGE_BANDS):
        expr = pl.when((pl.col("age_years") >= lo) & (pl.col("age_years") < hi)).then(pl.lit(name)).otherwise(expr)
    return df.with_columns(expr.alias("age_band"))


def _model_used(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("model_agreement") != "not used")


def acceptance_rate(df: pl.DataFrame) -> stats.Rate:
    """Accepted among decisions where a model output was available and considered."""
    d = _model_used(df)
    return stats.wilson(int((d["model_agreement"] == "accepted").sum()), d.height)


def override_rate(df: pl.DataFrame) -> stats.Rate:
    d = _model_used(df)
    return stats.wilson(int((d["model_agreement"] == "overridden").sum()), d.height)


def discordance_rate(df: pl.DataFrame) -> stats.Rate:
    """Board and model disagree: modified or overridden, among decisions with a model output."""
    d = _model_used(df)
    return stats.wilson(int(d["model_agreement"].is_in(["modified", "overridden"]).sum()), d.height)


def overrides_by_reason(df: pl.DataFrame) -> pl.DataFrame:
    """Share of each reason among overridden/modified decisions, with Wilson intervals."""
    d = _model_used(df).filter(pl.col("model_agreement").is_in(["modified", "overridden"]))
    n = d.height
    rows = []
    for reason, k in d.group_by("reason_category").len().sort("len", descending=True).iter_rows():
        r = stats.wilson(k, n)
        rows.append({"reason": reason, "k": k, "n": n, "share": r.p, "lo": r.lo, "hi": r.hi})
    return pl.DataFrame(rows, schema={"reason": pl.Utf8, "k": pl.Int64, "n": pl.Int64, "share": pl.Float64,
                                      "lo": pl.Float64, "hi": pl.Float64})


def turnaround_hours(df: pl.DataFrame) -> np.ndarray:
    d = df.filter(pl.col("ready_at").is_not_null() & pl.col("decided_at").is_not_null())
    return ((d["decided_at"] - d["ready_at"]).dt.total_seconds() / 3600).to_numpy()


def preparation_hours(df: pl.DataFrame) -> np.ndarray:
    d = df.filter(pl.col("ready_at").is_not_null() & pl.col("added_at").is_not_null())
    return ((d["ready_at"] - d["added_at"]).dt.total_seconds() / 3600).to_numpy()


def turnaround_reduction(df: pl.DataFrame, baseline_hours: float, *, seed: int = 0) -> Measured:
    """1 - median(pilot turnaround) / baseline median, with a bootstrap interval."""
    h = turnaround_hours(df)
    med = stats.median_ci(h, seed=seed)
    if med.value is None or baseline_hours <= 0:
        return Measured(None, None, None, len(h), "no decided cases")
    return Measured(1 - med.value / baseline_hours, 1 - med.hi / baseline_hours, 1 - med.lo / baseline_hours, med.n,
                    f"median {med.value:.0f} h vs baseline {baseline_hours:.0f} h")


def completeness(df: pl.DataFrame) -> dict[str, stats.Rate]:
    out = {m: stats.wilson(int(df[f"has_{m}"].sum()), df.height) for m in ("imaging", "notes", "sequencing")}
    all3 = df["has_imaging"] & df["has_notes"] & df["has_sequencing"]
    out["all_core"] = stats.wilson(int(all3.sum()), df.height)
    return out


def _observed(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("outcome_12m").is_not_null() & pl.col("model_risk").is_not_null())


def auroc(df: pl.DataFrame, *, seed: int = 0) -> stats.Estimate:
    d = _observed(df)
    return stats.auroc_ci(d["outcome_12m"].to_numpy(), d["model_risk"].to_numpy(), seed=seed)


def ece(df: pl.DataFrame, *, seed: int = 0) -> stats.Estimate:
    d = _observed(df)
    return stats.ece_ci(d["outcome_12m"].to_numpy(), d["model_risk"].to_numpy(), seed=seed)


def reliability(df: pl.DataFrame, n_bins: int = 10) -> pl.DataFrame:
    d = _observed(df)
    rows = stats.reliability(d["outcome_12m"].to_numpy(), d["model_risk"].to_numpy(), n_bins)
    return pl.DataFrame(rows, schema={"bin": pl.Int64, "lo": pl.Float64, "hi": pl.Float64,
                                      "mean_predicted": pl.Float64, "observed": pl.Float64, "n": pl.Int64})


def subgroup_table(df: pl.DataFrame, *, seed: int = 0) -> pl.DataFrame:
    """Acceptance and AUROC per subgroup level (cancer type, sex, age band, site), each with n and interval."""
    df = with_age_band(df)
    rows = []
    for col in SUBGROUPS:
        for level in sorted(v for v in df[col].unique().to_list() if v is not None):
            sub = df.filter(pl.col(col) == level)
            acc = acceptance_rate(sub)
            a = auroc(sub, seed=seed)
            rows.append({"subgroup": col, "level": str(level), "n_cases": sub.height,
                         "acceptance": acc.p, "acceptance_lo": acc.lo, "acceptance_hi": acc.hi,
                         "auroc": a.value, "auroc_lo": a.lo, "auroc_hi": a.hi, "n_outcomes": a.n})
    return pl.DataFrame(rows, schema={"subgroup": pl.Utf8, "level": pl.Utf8, "n_cases": pl.Int64,
                                      "acceptance": pl.Float64, "acceptance_lo": pl.Float64,
                                      "acceptance_hi": pl.Float64, "auroc": pl.Float64, "auroc_lo": pl.Float64,
                                      "auroc_hi": pl.Float64, "n_outcomes": pl.Int64})


def subgroup_auroc_min(df: pl.DataFrame, min_n: int, *, seed: int = 0) -> Measured:
    """The worst subgroup AUROC among subgroups with at least ``min_n`` observed outcomes.

    Subgroups below ``min_n`` are listed in ``detail`` as too small to judge (never silently passed).
    """
    tab = subgroup_table(df, seed=seed)
    judged = tab.filter((pl.col("n_outcomes") >= min_n) & pl.col("auroc").is_not_null())
    small = tab.filter((pl.col("n_outcomes") < min_n) | pl.col("auroc").is_null())
    detail = ("too few to judge: " + ", ".join(f"{r['subgroup']}={r['level']} (n={r['n_outcomes']})"
                                              for r in small.iter_rows(named=True))) if small.height else ""
    if judged.height == 0:
        return Measured(None, None, None, 0, detail or "no subgroups")
    worst = judged.sort("auroc").row(0, named=True)
    return Measured(worst["auroc"], worst["auroc_lo"], worst["auroc_hi"], worst["n_outcomes"],
                    f"worst: {worst['subgroup']}={worst['level']}; " + detail)


def weekly_trend(df: pl.DataFrame) -> pl.DataFrame:
    """Acceptance per ISO week with Wilson intervals."""
    d = _model_used(df).with_columns(pl.col("decided_at").dt.truncate("1w").alias("week"))
    rows = []
    for week, sub in sorted(d.group_by("week"), key=lambda t: t[0][0]):
        r = acceptance_rate(sub)
        rows.append({"week": week[0], "n": r.n, "acceptance": r.p, "lo": r.lo, "hi": r.hi,
                     "median_turnaround_h": float(np.median(turnaround_hours(sub))) if sub.height else None})
    return pl.DataFrame(rows)


def measure_all(df: pl.DataFrame, baseline_hours: float, subgroup_min_n: int, *, seed: int = 0) -> dict[str, Measured]:
    """Every metric a threshold can name, as Measured values."""
    df = conform(df)

    def m_rate(r: stats.Rate) -> Measured:
        return Measured(r.p, r.lo, r.hi, r.n, f"{r.k}/{r.n}")

    def m_est(e: stats.Estimate) -> Measured:
        return Measured(e.value, e.lo, e.hi, e.n, e.method)

    comp = completeness(df) if df.height else {"all_core": stats.wilson(0, 0)}
    return {
        "acceptance_rate": m_rate(acceptance_rate(df)),
        "override_rate": m_rate(override_rate(df)),
        "discordance_rate": m_rate(discordance_rate(df)),
        "ece": m_est(ece(df, seed=seed)) if df.height else Measured(None, None, None, 0),
        "auroc": m_est(auroc(df, seed=seed)) if df.height else Measured(None, None, None, 0),
        "turnaround_reduction": turnaround_reduction(df, baseline_hours, seed=seed),
        "subgroup_auroc_min": subgroup_auroc_min(df, subgroup_min_n, seed=seed) if df.height
        else Measured(None, None, None, 0),
        "completeness_all_core": m_rate(comp["all_core"]),
    }
