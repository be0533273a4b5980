"""The pilot review: verdict, threshold table and the frames behind every plot.

``build_review`` gathers everything once (pilot cases, measured metrics, judgements,
verdict); the other functions here, in ``drilldown`` and in ``export`` are pure views of a
``PilotReview`` for the page, the CLI and the steering-committee export, so all three
show the same numbers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from core.pilot import metrics
from core.pilot.cases import pilot_cases, window_decisions
from core.pilot.verdict import (THRESHOLDS_PATH, Judgement, Measured, Outcome, ThresholdConfig, judge,
                                load_thresholds, overall)
from core.store.queries import frame

logger = logging.getLogger(__name__)

DEFAULT_SUBGROUP_MIN_N = 20


@dataclass(frozen=True)
class PilotWindow:
    start: date
    end: date      # included
    basis: str     # how the window was chosen

    def text(self) -> str:
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d} ({(self.end - self.start).days + 1} days; {self.basis})"


@dataclass(frozen=True)
class PilotReview:
    """Everything the review page, CLI and export show, computed once."""

    window: PilotWindow
    config: ThresholdConfig
    cases: pl.DataFrame                  # pilot_cases(...) plus turnaround_h, preparation_h
    measured: dict[str, Measured]
    outcome: Outcome
    n_decisions_in_window: int           # decision rows in the window before matching agenda cases
    baseline_hours: float
    subgroup_min_n: int
    notes: list[str] = field(default_factory=list)  # governance remarks (thresholds fixed late, unmatched decisions)

    @property
    def judgements(self) -> list[Judgement]:
        return self.outcome.judgements


def _as_date(v: object) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


def first_decision(evidence_con: duckdb.DuckDBPyConnection | None, board_cur: duckdb.DuckDBPyConnection
                   ) -> datetime | None:
    """When the first decision on a meeting of this evidence store was recorded (any meeting without
    ``evidence_con``); decisions left from another store's meetings do not move the pilot start."""
    per_meeting = frame(board_cur, "SELECT meeting_id, min(decided_at) AS first FROM decisions GROUP BY 1")
    if evidence_con is not None and per_meeting.height:
        known = frame(evidence_con, "SELECT meeting_id FROM board_meetings WHERE meeting_id IN (SELECT unnest(?))",
                      [per_meeting["meeting_id"].to_list()])
        per_meeting = per_meeting.filter(pl.col("meeting_id").is_in(known["meeting_id"].to_list()))
    return per_meeting["first"].min() if per_meeting.height else None


def default_window(board_cur: duckdb.DuckDBPyConnection, config: ThresholdConfig, today: date | None = None,
                   evidence_con: duckdb.DuckDBPyConnection | None = None) -> PilotWindow:
    """The pilot window: ``meta.pilot_start`` if the threshold file names it, else the day of the first
    recorded decision (decision capture starts with the pilot), else the last ``pilot_days`` days."""
    days = int(config.meta.get("pilot_days", 90))
    start = _as_date(config.meta.get("pilot_start"))
    basis = "pilot_start in the threshold file"
    if start is None:
        first = first_decision(evidence_con, board_cur)
        if first is not None:
            start, basis = first.date(), "from the first recorded decision"
    if start is None:
        today = today or date.today()
        return PilotWindow(today - timedelta(days=days - 1), today, "no decisions yet: the last pilot_days days")
    return PilotWindow(start, start + timedelta(days=days - 1), basis)


def _metric_min_n(config: ThresholdConfig, metric: str, default: int) -> int:
    return next((t.min_n for t in config.thresholds if t.metric == metric), default)


def build_review(evidence_con: duckdb.DuckDBPyConnection, board_cur: duckdb.DuckDBPyConnection,
                 start: date | None = None, end: date | None = None, *, thresholds_path: Path = THRESHOLDS_PATH,
                 seed: int = 0) -> PilotReview:
    """Measure the pilot window against the thresholds.

    Args:
        start, end: window on decided_at (both days included); default ``default_window``.
        seed: bootstrap seed (intervals are reproducible).
    """
    config = load_thresholds(thresholds_path)
    window = default_window(board_cur, config, evidence_con=evidence_con)
    if start is not None or end is not None:
        s = start or window.start
        window = PilotWindow(s, end or s + timedelta(days=int(config.meta.get("pilot_days", 90)) - 1), "chosen")
    cases = pilot_cases(evidence_con, board_cur, window.start, window.end)
    cases = cases.with_columns(
        ((pl.col("decided_at") - pl.col("ready_at")).dt.total_seconds() / 3600).alias("turnaround_h"),
        ((pl.col("ready_at") - pl.col("added_at")).dt.total_seconds() / 3600).alias("preparation_h"))
    baseline = float(config.meta.get("baseline_turnaround_hours", 0) or 0)
    sub_n = _metric_min_n(config, "subgroup_auroc_min", DEFAULT_SUBGROUP_MIN_N)
    measured = metrics.measure_all(cases, baseline, sub_n, seed=seed)
    outcome = overall([judge(t, measured[t.metric]) if t.metric in measured else
                       judge(t, Measured(None, None, None, 0, f"unknown metric {t.metric!r}"))
                       for t in config.thresholds])
    n_dec = window_decisions(board_cur, window.start, window.end).height
    notes = _governance_notes(config, window, cases, n_dec)
    return PilotReview(window, config, cases, measured, outcome, n_dec, baseline, sub_n, notes)


def _governance_notes(config: ThresholdConfig, window: PilotWindow, cases: pl.DataFrame, n_dec: int) -> list[str]:
    notes = []
    fixed = _as_date(config.meta.get("fixed_on"))
    first = cases["decided_at"].min() if cases.height else None
    if fixed is None:
        notes.append("The threshold file does not say when it was fixed (meta.fixed_on).")
    elif first is not None and fixed > first.date():
        notes.append(f"Thresholds fixed on {fixed}, after the first pilot decision ({first:%Y-%m-%d}): "
                     "they were not set in advance.")
    amended = _as_date(config.meta.get("amended_on"))
    if amended is not None and first is not None and amended >= first.date():
        notes.append(f"Thresholds amended on {amended}, during or after the pilot (see the audit log, 'threshold.').")
    if n_dec > cases.height:
        notes.append(f"{n_dec - cases.height} of {n_dec} decisions in the window match no agenda case in this "
                     "evidence store and are not counted.")
    return notes


# ---- tables ---------------------------------------------------------------------------------------

def _fmt(v: float | None, metric: str) -> str:
    if v is None:
        return "–"
    return f"{100 * v:.0f}%" if metric.endswith(("_rate", "reduction", "all_core")) else f"{v:.3f}"


def threshold_table(review: PilotReview) -> pl.DataFrame:
    """One row per threshold: value with 95% interval and n, the threshold, status and reason."""
    rows = []
    for j in review.judgements:
        t, m = j.threshold, j.measured
        est = ("no data" if m.value is None
               else f"{_fmt(m.value, t.metric)} ({_fmt(m.lo, t.metric)}–{_fmt(m.hi, t.metric)})")
        rows.append({"threshold_id": t.id, "metric": t.metric, "description": t.description, "value": m.value,
                     "ci_low": m.lo, "ci_high": m.hi, "n": m.n, "estimate": est,
                     "threshold": f"{t.direction} {_fmt(t.value, t.metric)}", "threshold_value": t.value,
                     "min_n": t.min_n, "critical": t.critical, "status": str(j.status), "reason": j.reason,
                     "detail": m.detail})
    schema = {"threshold_id": pl.Utf8, "metric": pl.Utf8, "description": pl.Utf8, "value": pl.Float64,
              "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64, "estimate": pl.Utf8, "threshold": pl.Utf8,
              "threshold_value": pl.Float64, "min_n": pl.Int64, "critical": pl.Boolean, "status": pl.Utf8,
              "reason": pl.Utf8, "detail": pl.Utf8}
    return pl.DataFrame(rows, schema=schema)


def weekly_trend(review: PilotReview) -> pl.DataFrame:
    """Acceptance per week with Wilson intervals (empty frame with columns when no cases)."""
    if review.cases.height == 0:
        return pl.DataFrame(schema={"week": pl.Datetime("us"), "n": pl.Int64, "acceptance": pl.Float64,
                                    "lo": pl.Float64, "hi": pl.Float64, "median_turnaround_h": pl.Float64})
    return metrics.weekly_trend(review.cases)


def override_reasons(review: PilotReview) -> pl.DataFrame:
    return metrics.overrides_by_reason(review.cases)


def reliability(review: PilotReview) -> pl.DataFrame:
    return metrics.reliability(review.cases)


def subgroups(review: PilotReview) -> pl.DataFrame:
    return metrics.subgroup_table(review.cases)


def completeness_table(review: PilotReview) -> pl.DataFrame:
    """Share of cases with each modality on file at the decision (imaging, notes, sequencing, all three)."""
    rows = []
    if review.cases.height:
        for name, r in metrics.completeness(review.cases).items():
            rows.append({"modality": name, "k": r.k, "n": r.n, "share": r.p, "lo": r.lo, "hi": r.hi})
    return pl.DataFrame(rows, schema={"modality": pl.Utf8, "k": pl.Int64, "n": pl.Int64, "share": pl.Float64,
                                      "lo": pl.Float64, "hi": pl.Float64})


def turnaround(review: PilotReview) -> pl.DataFrame:
    """Per decided case: turnaround (ready -> decided) and preparation (added -> ready), hours."""
    return review.cases.select("decision_id", "meeting_id", "patient_id", "decided_at", "turnaround_h",
                               "preparation_h")


def board_state(board_cur: duckdb.DuckDBPyConnection) -> str:
    """A cheap fingerprint of the decisions table (count and latest id), to key caches."""
    row = frame(board_cur, "SELECT count(*) AS n, max(decision_id) AS last, max(decided_at) AS at FROM decisions")
    r = row.row(0)
    return f"{r[0]}:{r[1]}:{r[2]}"
