"""The pilot review: verdict, threshold table, the frames behind every plot, drill-down and exports.

``build_review`` gathers everything once (pilot cases, measured metrics, judgements,
verdict); the other functions are pure views of a ``PilotReview`` for the page, the CLI
and the steering-committee export, so all three show the same numbers.
"""
from __future__ import annotations

import html
import io
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
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
NUMERATOR, DENOMINATOR, NOT_COUNTED = "numerator", "denominator only", "not counted"


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
        est = "no data" if m.value is None else f"{_fmt(m.value, t.metric)} ({_fmt(m.lo, t.metric)}–{_fmt(m.hi, t.metric)})"
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


# ---- drill-down -----------------------------------------------------------------------------------

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


# ---- exports --------------------------------------------------------------------------------------

def metrics_csv(review: PilotReview) -> str:
    """The threshold table as CSV, preceded by comment-free header columns (window, verdict, file hash)."""
    t = threshold_table(review).with_columns(
        pl.lit(str(review.window.start)).alias("window_start"), pl.lit(str(review.window.end)).alias("window_end"),
        pl.lit(str(review.outcome.verdict)).alias("verdict"), pl.lit(review.config.sha256).alias("thresholds_sha256"))
    buf = io.StringIO()
    t.write_csv(buf)
    return buf.getvalue()


def cases_csv(review: PilotReview) -> str:
    """Every decided case of the window with what each metric used (pseudonymous ids, no free text)."""
    buf = io.StringIO()
    metrics.with_age_band(review.cases).write_csv(buf)
    return buf.getvalue()


CSS = """
body{font-family:DejaVu Sans,Arial,sans-serif;font-size:11pt;margin:22px;color:#111}
h1{font-size:19pt;margin-bottom:2px} h2{font-size:14pt;border-bottom:1px solid #999;margin-top:16px}
table{border-collapse:collapse;width:100%;font-size:9pt} td,th{border:1px solid #ccc;padding:3px 5px;text-align:left}
.go{background:#e3f4e1} .no-go{background:#f9e0de} .extend{background:#fff4d6} .small{color:#555;font-size:8.5pt}
.banner{padding:8px 12px;border-radius:4px;font-size:14pt;margin:8px 0}
"""


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def report_html(review: PilotReview, figures: dict[str, object] | None = None) -> str:
    """Self-contained HTML for the steering committee (figures as static PNG when given)."""
    from core.report.pdf import figure_png_tag

    v = review.outcome.verdict
    reasons = "".join(f"<li>{_e(r)}</li>" for r in review.outcome.reasons)
    tab = threshold_table(review)
    head = ("<tr><th>Threshold</th><th>Estimate (95% CI)</th><th>n</th><th>Required</th><th>min n</th>"
            "<th>Status</th><th>Reason</th></tr>")
    body = "".join(
        f"<tr><td>{_e(r['threshold_id'])}{' (critical)' if r['critical'] else ''}<br>"
        f"<span class='small'>{_e(r['description'])}</span></td><td>{_e(r['estimate'])}</td><td>{r['n']}</td>"
        f"<td>{_e(r['threshold'])}</td><td>{r['min_n']}</td><td>{_e(r['status'])}</td><td>{_e(r['reason'])}"
        f"<br><span class='small'>{_e(r['detail'])}</span></td></tr>" for r in tab.iter_rows(named=True))
    notes = "".join(f"<li>{_e(n)}</li>" for n in review.notes)
    figs = "".join(f"<h2>{_e(name)}</h2>{figure_png_tag(fig, alt=name)}" for name, fig in (figures or {}).items())
    meta = review.config.meta
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html><html><head><meta charset='utf-8'><title>Pilot review</title><style>{CSS}</style>
</head><body><h1>Pilot go / no-go review</h1>
<p class='small'>Window {_e(review.window.text())} · {review.cases.height} decided cases
({review.n_decisions_in_window} decisions in the window) · generated {now}</p>
<div class='banner {_e(v)}'><b>Verdict: {_e(str(v).upper())}</b><ul>{reasons}</ul></div>
{f"<h2>Governance notes</h2><ul>{notes}</ul>" if notes else ""}
<h2>Thresholds</h2>
<p class='small'>data/pilot/thresholds.toml · sha256 {_e(review.config.sha256)} · fixed on {_e(meta.get('fixed_on'))}
by {_e(meta.get('approved_by'))} · version {_e(meta.get('version'))}. A threshold is met only when the whole 95%
interval is on the right side and n reaches its minimum; otherwise "not enough data".</p>
<table>{head}{body}</table>{figs}
<p class='small'>Every number traces to the decisions listed in the cases export (pseudonymous patient ids).</p>
</body></html>"""


def export_pdf(review: PilotReview, out: Path, figures: dict[str, object] | None = None) -> Path:
    """The review as PDF (headless Chromium)."""
    from core.report.pdf import html_to_pdf

    return html_to_pdf(report_html(review, figures), out)


def board_state(board_cur: duckdb.DuckDBPyConnection) -> str:
    """A cheap fingerprint of the decisions table (count and latest id), to key caches."""
    row = frame(board_cur, "SELECT count(*) AS n, max(decision_id) AS last, max(decided_at) AS at FROM decisions")
    r = row.row(0)
    return f"{r[0]}:{r[1]}:{r[2]}"


def summary_lines(review: PilotReview) -> list[str]:
    """Plain-text verdict and threshold table (CLI)."""
    out = [f"Pilot window {review.window.text()}: {review.cases.height} decided cases",
           f"VERDICT: {str(review.outcome.verdict).upper()}"]
    out += [f"  - {r}" for r in review.outcome.reasons]
    out += [f"  ! {n}" for n in review.notes]
    tab = threshold_table(review)
    w = max([len(x) for x in tab["threshold_id"].to_list()] + [9])
    out.append(f"{'threshold':<{w}}  {'estimate (95% CI)':<22} {'n':>4}  {'required':<10} status")
    for r in tab.iter_rows(named=True):
        out.append(f"{r['threshold_id']:<{w}}  {r['estimate']:<22} {r['n']:>4}  {r['threshold']:<10} {r['status']}"
                   f" — {r['reason']}")
    out.append(f"thresholds sha256 {review.config.sha256[:16]}…, fixed on {review.config.meta.get('fixed_on')}")
    return out


