"""Drill-down: the decided cases behind each number of the pilot review, and their role in it."""
from __future__ import annotations

import polars as pl

from core.pilot import metrics
from core.pilot.report import PilotReview, subgroups

NUMERATOR, DENOMINATOR, NOT_COUNTED = "numerator", "denominator only", "not counted"

DRILL_COLUMNS = ("counted_as", "why", "decision_id", "meeting_id", "patient_id", "decided_at", "model_agreement",
                 "reason_category", "model_risk", "outcome_12m", "followup_days", "turnaround_h", "preparation_h",
                 "has_imaging", "has_notes", "has_sequencing", "cancer_type", "sex", "age_band", "site")


def _worst_subgroup(review: PilotReview) -> tuple[str, str] | None:
    tab = subgroups(review).filter((pl.col("n_outcomes") >= review.subgroup_min_n) & pl.col("auroc").is_not_null())
    if tab.height == 0:
        return None
    w = tab.sort("auroc").row(0, named=True)
    return w["subgroup"], w["level"]


def drilldown(review: PilotReview, metric: str) -> pl.DataFrame:
    """The decided cases behind one metric: which count in the numerator, which only in the
    denominator, and which are not counted (with why)."""
    df = metrics.with_age_band(review.cases)
    agree = pl.col("model_agreement")
    used = agree != "not used"
    observed = pl.col("outcome_12m").is_not_null() & pl.col("model_risk").is_not_null()
    why_unobserved = (pl.when(pl.col("model_risk").is_null()).then(pl.lit("no model risk recorded"))
                      .otherwise(pl.format("outcome not observable yet (follow-up {} days, no event)",
                                           pl.col("followup_days").round(0))))
    rate_metrics = {"acceptance_rate": agree == "accepted", "override_rate": agree == "overridden",
                    "discordance_rate": agree.is_in(["modified", "overridden"])}
    if metric in rate_metrics:
        num = rate_metrics[metric]
        role = pl.when(~used).then(pl.lit(NOT_COUNTED)).when(num).then(pl.lit(NUMERATOR)).otherwise(pl.lit(DENOMINATOR))
        why = pl.when(~used).then(pl.lit("model output not used")).otherwise(pl.format("board: {}", agree))
    elif metric in ("auroc", "ece", "subgroup_auroc_min"):
        inside = observed
        why_in = pl.when(pl.col("outcome_12m")).then(pl.format("event within 12 months ({})", pl.col("event_kind"))) \
            .otherwise(pl.lit("no event within 12 months"))
        if metric == "subgroup_auroc_min":
            worst = _worst_subgroup(review)
            if worst is None:
                inside = pl.lit(False)
                why_in = pl.lit(f"no subgroup has {review.subgroup_min_n} observed outcomes: none judged")
            else:
                col, level = worst
                in_group = pl.col(col).cast(pl.Utf8) == level
                why_in = pl.when(in_group).then(why_in).otherwise(pl.lit(f"outside the worst subgroup {col}={level}"))
                inside = observed & in_group
        role = pl.when(inside & pl.col("outcome_12m")).then(pl.lit(NUMERATOR)).when(inside).then(pl.lit(DENOMINATOR)) \
            .otherwise(pl.lit(NOT_COUNTED))
        why = pl.when(observed).then(why_in).otherwise(why_unobserved)
    elif metric == "turnaround_reduction":
        ok = pl.col("turnaround_h").is_not_null()
        role = pl.when(ok).then(pl.lit(DENOMINATOR)).otherwise(pl.lit(NOT_COUNTED))
        why = pl.when(ok).then(pl.format("ready -> decided {} h", pl.col("turnaround_h").round(1))) \
            .otherwise(pl.lit("no ready time recorded"))
    elif metric == "completeness_all_core":
        allc = pl.col("has_imaging") & pl.col("has_notes") & pl.col("has_sequencing")
        role = pl.when(allc).then(pl.lit(NUMERATOR)).otherwise(pl.lit(DENOMINATOR))
        missing = pl.concat_str([pl.when(~pl.col(f"has_{m}")).then(pl.lit(m + " ")).otherwise(pl.lit(""))
                                 for m in ("imaging", "notes", "sequencing")])
        why = pl.when(allc).then(pl.lit("imaging, notes and sequencing on file")) \
            .otherwise(pl.format("missing: {}", missing.str.strip_chars()))
    else:
        raise ValueError(f"no drill-down for metric {metric!r}; known: {sorted(review.measured)}")
    order = pl.col("counted_as").replace_strict({NUMERATOR: 0, DENOMINATOR: 1, NOT_COUNTED: 2}, default=3)
    return (df.with_columns(role.alias("counted_as"), why.alias("why"))
            .select(*DRILL_COLUMNS).sort(order, "decided_at"))


def drill_counts(drill: pl.DataFrame) -> dict[str, int]:
    """Counts per role; numerator + denominator only = the metric's n for rates."""
    counts = dict(drill.group_by("counted_as").len().iter_rows())
    return {k: int(counts.get(k, 0)) for k in (NUMERATOR, DENOMINATOR, NOT_COUNTED)}
