"""Pilot cases: board decisions joined with their agenda case, patient, evidence on file and 12-month outcome.

One row per decided case (``metrics.PILOT_SCHEMA`` columns first, then ``followup_days``
and ``event_kind`` to explain the outcome). Decisions live in the board store, the rest in
the evidence store; the join is done here in polars because the two are separate DuckDB
files.

Rules, stated once:

* a decision counts when its (meeting, patient) is on a board agenda of the evidence
  store and the patient exists there; the latest decision per case wins (a correction
  recorded later replaces the first entry); decisions that match no case are left out and
  logged with their count;
* ``model_risk`` is the risk recorded on the decision row (what the board saw), never a
  later re-score;
* turnaround = ``ready_at`` -> ``decided_at``; preparation = ``added_at`` -> ``ready_at``;
* ``has_<modality>`` = evidence of that modality observed on or before the decision
  (imaging series, notes, specimens: the agenda's readiness checks); undated rows count;
* ``outcome_12m`` = progression or death in (decided_at, decided_at + 365 days], computed
  by ``core.models.target.outcome_labels`` with the decision as index date: False when
  follow-up (latest dated evidence) runs beyond 365 days without such an event, null when
  it ends earlier.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

import duckdb
import polars as pl

from core.models import target
from core.pilot.metrics import PILOT_SCHEMA, conform
from core.store.queries import frame

logger = logging.getLogger(__name__)

EXTRA_SCHEMA = {"followup_days": pl.Float64, "event_kind": pl.Utf8}
# Evidence checked per modality, as on the agenda (core/board/agenda.py MODALITY_CHECKS).
MODALITY_TABLES = {"imaging": "imaging_series", "notes": "notes", "sequencing": "specimens"}


def window_bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """[lo, hi) on ``decided_at``: dates are whole days (``end`` included), datetimes are exact (``end`` excluded)."""
    lo = start if isinstance(start, datetime) else datetime.combine(start, time.min)
    hi = end if isinstance(end, datetime) else datetime.combine(end, time.min) + timedelta(days=1)
    if hi <= lo:
        raise ValueError(f"pilot window ends ({hi:%Y-%m-%d}) before it starts ({lo:%Y-%m-%d})")
    return lo, hi


def empty_cases() -> pl.DataFrame:
    return pl.DataFrame(schema=PILOT_SCHEMA | EXTRA_SCHEMA)


def window_decisions(board_cur: duckdb.DuckDBPyConnection, start: date | datetime,
                     end: date | datetime) -> pl.DataFrame:
    """Decision rows decided in the window, the latest per (meeting, patient)."""
    lo, hi = window_bounds(start, end)
    d = frame(board_cur, """SELECT decision_id, meeting_id, patient_id, decided_at, model_agreement, reason_category,
                                   model_risk
                            FROM decisions WHERE decided_at >= ? AND decided_at < ?
                            ORDER BY decided_at, decision_id""", [lo, hi])
    if d.height == 0:
        return d
    return (d.sort("decided_at", "decision_id")
            .group_by("meeting_id", "patient_id", maintain_order=True).last()
            .sort("decided_at", "decision_id"))


def pilot_cases(evidence_con: duckdb.DuckDBPyConnection, board_cur: duckdb.DuckDBPyConnection,
                start: date | datetime, end: date | datetime) -> pl.DataFrame:
    """The decided cases of the pilot window.

    Args:
        evidence_con: evidence store (board_meetings, board_cases, patients, evidence, outcomes).
        board_cur: board store cursor (decisions).
        start, end: the window on ``decided_at`` (dates: both days included).

    Returns:
        ``PILOT_SCHEMA`` columns plus ``followup_days`` (decision -> event or last contact, days)
        and ``event_kind`` ('progression' / 'death' / null), sorted by decided_at.
    """
    dec = window_decisions(board_cur, start, end)
    if dec.height == 0:
        return empty_cases()
    pids = sorted(set(dec["patient_id"].to_list()))
    agenda = frame(evidence_con, """
        SELECT c.meeting_id, c.patient_id, c.added_at, c.ready_at, p.cancer_type, p.sex, p.site, p.cohort,
               p.age_at_diagnosis_years, CAST(p.diagnosis_date AS TIMESTAMP) AS diagnosis_at,
               CAST(p.birth_date AS TIMESTAMP) AS birth_at
        FROM board_cases c JOIN patients p USING (patient_id)
        WHERE c.patient_id IN (SELECT unnest(?))""", [pids])
    df = dec.join(agenda, on=["meeting_id", "patient_id"], how="inner")
    if df.height < dec.height:
        logger.warning("%d of %d decisions in the pilot window match no agenda case in this store; left out",
                       dec.height - df.height, dec.height)
    if df.height == 0:
        return empty_cases()
    df = _with_age(df)
    df = _with_modalities(evidence_con, df, pids)
    df = _with_outcomes(evidence_con, df)
    return conform(df.select(*PILOT_SCHEMA, *EXTRA_SCHEMA)).with_columns(
        [pl.col(c).cast(t) for c, t in EXTRA_SCHEMA.items()]).sort("decided_at", "decision_id")


def _with_age(df: pl.DataFrame) -> pl.DataFrame:
    """Age at the decision: age at diagnosis plus the years since, else from the birth date."""
    years = lambda a, b: (pl.col(a) - pl.col(b)).dt.total_seconds() / (365.25 * 86400)  # noqa: E731
    age = (pl.when(pl.col("age_at_diagnosis_years").is_not_null() & pl.col("diagnosis_at").is_not_null())
           .then(pl.col("age_at_diagnosis_years") + years("decided_at", "diagnosis_at"))
           .when(pl.col("birth_at").is_not_null()).then(years("decided_at", "birth_at"))
           .otherwise(pl.col("age_at_diagnosis_years")))
    return df.with_columns(age.cast(pl.Float64).alias("age_years"))


def _with_modalities(con: duckdb.DuckDBPyConnection, df: pl.DataFrame, pids: list[str]) -> pl.DataFrame:
    for modality, table in MODALITY_TABLES.items():
        first = frame(con, f"""SELECT patient_id, min(observed_at) AS first_at, bool_or(observed_at IS NULL) AS undated
                               FROM {table} WHERE patient_id IN (SELECT unnest(?)) GROUP BY patient_id""", [pids])
        df = df.join(first, on="patient_id", how="left").with_columns(
            (pl.col("undated").fill_null(False) | (pl.col("first_at") <= pl.col("decided_at")).fill_null(False))
            .alias(f"has_{modality}")).drop("first_at", "undated")
    return df


def _with_outcomes(con: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> pl.DataFrame:
    """Outcome relative to each decision, through ``target.outcome_labels`` (one call per round so that
    each call sees a patient once: it keys events on patient_id)."""
    df = df.with_columns(pl.col("decided_at").rank("ordinal").over("patient_id").alias("_round"))
    parts = []
    for (rnd,), part in df.group_by("_round", maintain_order=True):
        idx = part.select("patient_id", "cohort", pl.col("decided_at").cast(pl.Datetime("us")).alias("index_date"),
                          pl.lit("pilot decision").alias("index_rule"))
        lab = target.outcome_labels(con, idx).select(
            "patient_id", pl.col("label").cast(pl.Boolean).alias("outcome_12m"),
            pl.col("time_days").alias("followup_days"),
            pl.when(pl.col("event") & (pl.col("time_days") <= target.HORIZON_DAYS)).then(pl.col("event_kind"))
            .alias("event_kind"))
        parts.append(part.join(lab, on="patient_id", how="left"))
    return pl.concat(parts, how="vertical_relaxed").drop("_round")
