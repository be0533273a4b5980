"""What happened to historical cases: first-line therapy, PFS / OS, progression within 12 months, best response.

Definitions follow the fusion model's target (``core.models.target``) so that "similar
cases progressed" and "the model's risk" speak about the same event:

* time zero is the patient's index date (``target.index_dates``: the board meeting);
* PFS: time to the first progression or death after the index date (``target.outcome_labels``),
  censored at the last dated fact on file; ``progressed_12m`` is the model's binary label
  (1 / 0 / null when follow-up ended before 12 months without an event);
* OS: time to death, censored at the same follow-up end;
* best response: best disease status recorded after the index date (response > stable >
  progression), null when never assessed;
* first-line therapy: ``line = 1`` treatments when the source numbers lines; otherwise every
  treatment started within ``REGIMEN_WINDOW_DAYS`` of the first one on or after (index date -
  ``PRE_INDEX_DAYS``), and when that was surgery or radiotherapy, the adjuvant drugs started
  within ``ADJUVANT_DAYS`` ("lobectomy, then cisplatin + vinorelbine"). Diagnostic biopsies
  are not treatments.

Kaplan-Meier curves use ``sksurv.nonparametric.kaplan_meier_estimator`` with log-log 95%
intervals; rates use Wilson intervals (``core.pilot.stats.wilson``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import polars as pl
from sksurv.nonparametric import kaplan_meier_estimator

from core.models import target
from core.pilot.stats import wilson
from core.store.queries import frame

logger = logging.getLogger(__name__)

DAYS_PER_MONTH = 30.4375
PRE_INDEX_DAYS = 30
REGIMEN_WINDOW_DAYS = 21
ADJUVANT_DAYS = 120
RESPONSE_RANK = {"response": 0, "stable": 1, "progression": 2}
RESPONSE_LABEL = {"response": "response (CR/PR)", "stable": "stable disease", "progression": "progressive disease"}

OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.Utf8, "first_line_therapy": pl.Utf8, "therapies": pl.List(pl.Utf8),
    "pfs_months": pl.Float64, "pfs_event": pl.Boolean, "progressed_12m": pl.Int8, "os_months": pl.Float64,
    "os_event": pl.Boolean, "best_response": pl.Utf8,
}


def case_outcomes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Treatment and outcome of every patient with an index date (``OUTCOME_SCHEMA`` columns).

    Survival columns are null for patients without follow-up after their index date
    (current board cases).
    """
    labels = target.outcome_labels(con)
    if labels.height == 0:
        return pl.DataFrame(schema=OUTCOME_SCHEMA)
    idx = labels.select("patient_id", "index_date")
    deaths = frame(con, f"""
        SELECT patient_id, min(observed_at) AS death_at FROM outcomes
        WHERE observed_at IS NOT NULL AND lower(event) IN ({", ".join(f"'{e}'" for e in target.DEATH_EVENTS)})
        GROUP BY patient_id""")
    status = frame(con, """
        SELECT patient_id, observed_at, lower(event) AS event, lower(coalesce(value_text, '')) AS value_text
        FROM outcomes WHERE observed_at IS NOT NULL AND lower(event) IN ('response', 'stable', 'progression')""")
    tx = frame(con, """
        SELECT patient_id, kind, name, start_date, line FROM treatments
        WHERE name IS NOT NULL AND NOT regexp_matches(lower(name), 'biops')
        ORDER BY patient_id, start_date NULLS LAST, name""")
    out = labels.join(deaths, on="patient_id", how="left")
    end = pl.col("followup_end")
    os_event = pl.col("death_at").is_not_null() & (pl.col("death_at") > pl.col("index_date"))
    os_days = (pl.when(os_event).then(pl.col("death_at")).otherwise(end) - pl.col("index_date")).dt.total_seconds() / 86400
    out = out.with_columns(
        (pl.col("time_days") / DAYS_PER_MONTH).alias("pfs_months"), pl.col("event").alias("pfs_event"),
        pl.col("label").alias("progressed_12m"), (os_days / DAYS_PER_MONTH).alias("os_months"),
        os_event.alias("os_event"))
    # no follow-up after the index date: nothing to say about survival
    no_fu = pl.col("pfs_months").is_null() | (pl.col("pfs_months") <= 0)
    out = out.with_columns([pl.when(no_fu).then(None).otherwise(pl.col(c)).alias(c)
                            for c in ("pfs_months", "pfs_event", "os_months", "os_event")])
    out = out.join(_best_response(status, idx), on="patient_id", how="left")
    out = out.join(_first_line(tx, idx), on="patient_id", how="left")
    return out.select([pl.col(c).cast(t) for c, t in OUTCOME_SCHEMA.items()])


def _best_response(status: pl.DataFrame, idx: pl.DataFrame) -> pl.DataFrame:
    if status.height == 0:
        return pl.DataFrame(schema={"patient_id": pl.Utf8, "best_response": pl.Utf8})
    pd_words = list(target.PD_RESPONSES)
    s = (status.join(idx, on="patient_id").filter(pl.col("observed_at") > pl.col("index_date"))
         .with_columns(pl.when((pl.col("event") == "response") & pl.col("value_text").is_in(pd_words))
                       .then(pl.lit("progression")).otherwise(pl.col("event")).alias("event")))
    s = s.with_columns(pl.col("event").replace_strict(RESPONSE_RANK, default=9).alias("rank"))
    best = s.sort("rank").group_by("patient_id").agg(pl.col("event").first())
    return best.select("patient_id", pl.col("event").replace_strict(RESPONSE_LABEL, default=None).alias("best_response"))


def _as_date(v: date | datetime | None) -> date | None:
    return v.date() if isinstance(v, datetime) else v


def _regimen(rows: list[dict]) -> str:
    """Local treatments first, then drugs, each sorted: 'lobectomy', 'carboplatin + pemetrexed'."""
    local = sorted({r["name"] for r in rows if r["kind"] != "drug"})
    drugs = sorted({r["name"] for r in rows if r["kind"] == "drug"})
    return ", ".join(local + ([" + ".join(drugs)] if drugs else []))


def _first_line(tx: pl.DataFrame, idx: pl.DataFrame) -> pl.DataFrame:
    rows = []
    index_of = dict(zip(idx["patient_id"].to_list(), idx["index_date"].to_list()))
    window = timedelta(days=REGIMEN_WINDOW_DAYS)
    for (pid,), g in tx.group_by("patient_id", maintain_order=True):
        t0 = _as_date(index_of.get(pid))
        after = [r for r in g.iter_rows(named=True)
                 if r["start_date"] is not None and (t0 is None or r["start_date"] >= t0 - timedelta(days=PRE_INDEX_DAYS))]
        after.sort(key=lambda r: (r["start_date"], r["name"]))
        first_line = None
        lined = [r for r in after if r["line"] == 1]
        if lined:
            first_line = _regimen(lined)
        elif after:
            start = after[0]["start_date"]
            first = [r for r in after if r["start_date"] <= start + window]
            first_line = _regimen(first)
            if all(r["kind"] != "drug" for r in first):
                # surgery or radiotherapy first: name the adjuvant drugs that followed within ADJUVANT_DAYS
                adj = [r for r in after if r["kind"] == "drug" and r not in first
                       and r["start_date"] <= start + timedelta(days=ADJUVANT_DAYS)]
                if adj:
                    a0 = adj[0]["start_date"]
                    first_line += ", then " + _regimen([r for r in adj if r["start_date"] <= a0 + window])
        rows.append({"patient_id": pid, "first_line_therapy": first_line, "therapies": sorted({r["name"] for r in after})})
    return pl.DataFrame(rows, schema={"patient_id": pl.Utf8, "first_line_therapy": pl.Utf8,
                                      "therapies": pl.List(pl.Utf8)})


# ---- summaries of a group of cases ------------------------------------------------------------

ENDPOINTS = {"pfs": ("pfs_months", "pfs_event", "progression-free survival"),
             "os": ("os_months", "os_event", "overall survival")}
KM_SCHEMA = {"group": pl.Utf8, "endpoint": pl.Utf8, "time_months": pl.Float64, "survival": pl.Float64,
             "ci_low": pl.Float64, "ci_high": pl.Float64, "at_risk": pl.Int64}
MEDIAN_SCHEMA = {"group": pl.Utf8, "endpoint": pl.Utf8, "n": pl.Int64, "events": pl.Int64,
                 "median_months": pl.Float64, "median_low": pl.Float64, "median_high": pl.Float64}
RATE_SCHEMA = {"group": pl.Utf8, "measure": pl.Utf8, "k": pl.Int64, "n": pl.Int64, "rate": pl.Float64,
               "ci_low": pl.Float64, "ci_high": pl.Float64}


def kaplan_meier(cases: pl.DataFrame, group: str, endpoint: str = "pfs") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Kaplan-Meier curve (step points from t=0) and median with 95% CI of one group.

    Args:
        cases: frame with the ``case_outcomes`` survival columns.
        group: label written in the ``group`` column.
        endpoint: ``pfs`` or ``os``.

    Returns:
        (curve with ``KM_SCHEMA``, one-row median frame with ``MEDIAN_SCHEMA``). The median
        and its limits are null when the curve (or its band) never reaches 0.5; the curve is
        empty when fewer than 2 cases have follow-up.
    """
    tcol, ecol, _ = ENDPOINTS[endpoint]
    d = cases.filter(pl.col(tcol).is_not_null() & pl.col(ecol).is_not_null())
    t = d[tcol].to_numpy().astype(float)
    e = d[ecol].to_numpy().astype(bool)
    n, events = len(t), int(e.sum())
    if n < 2:
        med = pl.DataFrame([{"group": group, "endpoint": endpoint, "n": n, "events": events, "median_months": None,
                             "median_low": None, "median_high": None}], schema=MEDIAN_SCHEMA)
        return pl.DataFrame(schema=KM_SCHEMA), med
    times, surv, ci = kaplan_meier_estimator(e, t, conf_type="log-log")
    ci = np.nan_to_num(ci, nan=0.0)
    at_risk = np.array([(t >= x).sum() for x in times])
    curve = pl.DataFrame({
        "group": group, "endpoint": endpoint,
        "time_months": np.concatenate([[0.0], times]), "survival": np.concatenate([[1.0], surv]),
        "ci_low": np.concatenate([[1.0], ci[0]]), "ci_high": np.concatenate([[1.0], ci[1]]),
        "at_risk": np.concatenate([[n], at_risk]).astype(np.int64)}, schema=KM_SCHEMA)

    def first_below(y: np.ndarray) -> float | None:
        hit = np.nonzero(y <= 0.5)[0]
        return float(times[hit[0]]) if len(hit) else None

    med = pl.DataFrame([{"group": group, "endpoint": endpoint, "n": n, "events": events,
                         "median_months": first_below(surv), "median_low": first_below(ci[0]),
                         "median_high": first_below(ci[1])}], schema=MEDIAN_SCHEMA)
    return curve, med


def response_rates(cases: pl.DataFrame, group: str) -> pl.DataFrame:
    """Objective response and progression within 12 months, k / n with Wilson 95% intervals.

    The denominators are the cases with a response assessment and the cases with a
    12-month label respectively (never the whole group: unknown is not "no").
    """
    rows = []
    assessed = cases.filter(pl.col("best_response").is_not_null())
    labelled = cases.filter(pl.col("progressed_12m").is_not_null())
    for measure, k, n in (
            ("objective response", int((assessed["best_response"] == RESPONSE_LABEL["response"]).sum()), assessed.height),
            ("progression or death within 12 months", int((labelled["progressed_12m"] == 1).sum()), labelled.height)):
        r = wilson(k, n)
        rows.append({"group": group, "measure": measure, "k": k, "n": n, "rate": r.p, "ci_low": r.lo, "ci_high": r.hi})
    return pl.DataFrame(rows, schema=RATE_SCHEMA)


@dataclass(frozen=True)
class GroupOutcomes:
    """Outcome summaries of groups of cases, ready for plotting."""

    km: pl.DataFrame         # KM_SCHEMA, all groups stacked
    medians: pl.DataFrame    # MEDIAN_SCHEMA
    rates: pl.DataFrame      # RATE_SCHEMA


def summarise_groups(groups: dict[str, pl.DataFrame], endpoints: tuple[str, ...] = ("pfs", "os")) -> GroupOutcomes:
    """KM curves, medians and rates of each named group of ``case_outcomes`` rows."""
    curves, meds, rates = [], [], []
    for name, cases in groups.items():
        for ep in endpoints:
            c, m = kaplan_meier(cases, name, ep)
            curves.append(c)
            meds.append(m)
        rates.append(response_rates(cases, name))
    return GroupOutcomes(pl.concat(curves) if curves else pl.DataFrame(schema=KM_SCHEMA),
                         pl.concat(meds) if meds else pl.DataFrame(schema=MEDIAN_SCHEMA),
                         pl.concat(rates) if rates else pl.DataFrame(schema=RATE_SCHEMA))
