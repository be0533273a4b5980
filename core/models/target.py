"""The clinical target: progression or death within 12 months of the index date.

Index date (the moment the model speaks, and the cut-off for every feature):

* a patient on a board agenda: the date of that board meeting (the latest one for a
  current case, the first one for a historical patient who was discussed before);
* any other historical patient: diagnosis date plus ``WORKUP_DAYS`` (the usual
  work-up time between diagnosis and a first board).

Events: an ``outcomes`` row of progression or death (or a response of PD), or a note event
documenting progressive disease (``concept_type`` response, value PD; negated, family,
hypothetical and historical mentions excluded) - many progressions are written only in
the oncologist's note.

Label: 1 if such an event falls in (index, index + 365 days]; 0 if the patient was
followed beyond 365 days without one; null (excluded from the binary target, kept for
survival views) if follow-up ends earlier without an event. Follow-up ends at the last
dated fact on file (outcome, note, lab, imaging, treatment).
"""
from __future__ import annotations

import duckdb
import polars as pl

from core.store.queries import frame

TARGET = "progression_or_death_12m"
HORIZON_DAYS = 365
WORKUP_DAYS = 30
PROGRESSION_EVENTS = ("progression", "progressive disease", "disease progression", "recurrence", "relapse")
DEATH_EVENTS = ("death", "died", "deceased")
# A 'response' outcome whose value says PD is a progression (RECIST progressive disease).
PD_RESPONSES = ("pd", "progressive disease", "progression")


def index_dates(con: duckdb.DuckDBPyConnection, patient_ids: list[str] | None = None) -> pl.DataFrame:
    """Index date of every patient (or of ``patient_ids``).

    Returns columns: patient_id, cohort, index_date (datetime), index_rule
    ('board meeting' / 'diagnosis + 30 days' / 'last evidence').
    """
    return frame(con, f"""
        WITH board AS (
            SELECT bc.patient_id, min(bm.scheduled_at) AS first_board, max(bm.scheduled_at) AS last_board
            FROM board_cases bc JOIN board_meetings bm USING (meeting_id)
            WHERE $ids IS NULL OR bc.patient_id IN (SELECT unnest($ids)) GROUP BY bc.patient_id),
        lastev AS (SELECT patient_id, max(observed_at) AS last_seen FROM notes
                   WHERE $ids IS NULL OR patient_id IN (SELECT unnest($ids)) GROUP BY patient_id)
        SELECT p.patient_id, p.cohort,
               CAST(CASE
                 WHEN b.patient_id IS NOT NULL AND coalesce(p.cohort, '') <> 'historical' THEN b.last_board
                 WHEN b.patient_id IS NOT NULL THEN b.first_board
                 WHEN p.diagnosis_date IS NOT NULL THEN p.diagnosis_date + INTERVAL {WORKUP_DAYS} DAY
                 ELSE l.last_seen END AS TIMESTAMP) AS index_date,
               CASE WHEN b.patient_id IS NOT NULL THEN 'board meeting'
                    WHEN p.diagnosis_date IS NOT NULL THEN 'diagnosis + {WORKUP_DAYS} days'
                    ELSE 'last evidence' END AS index_rule
        FROM patients p
        LEFT JOIN board b USING (patient_id)
        LEFT JOIN lastev l USING (patient_id)
        WHERE $ids IS NULL OR p.patient_id IN (SELECT unnest($ids))
        ORDER BY p.patient_id""", {"ids": patient_ids})


def _event_sql() -> str:
    prog = ", ".join(f"'{e}'" for e in PROGRESSION_EVENTS)
    death = ", ".join(f"'{e}'" for e in DEATH_EVENTS)
    pd = ", ".join(f"'{e}'" for e in PD_RESPONSES)
    return f"""
        CASE WHEN lower(event) IN ({death}) THEN 'death'
             WHEN lower(event) IN ({prog}) THEN 'progression'
             WHEN lower(event) = 'response' AND lower(coalesce(value_text, '')) IN ({pd}) THEN 'progression'
             ELSE NULL END"""


def outcome_labels(con: duckdb.DuckDBPyConnection, idx: pl.DataFrame | None = None) -> pl.DataFrame:
    """Binary 12-month label and time-to-event of every patient with an index date.

    Args:
        idx: patients and their index dates (columns patient_id, index_date; cohort and
            index_rule optional); default ``index_dates(con)``.

    Returns columns: patient_id, cohort, index_date, index_rule, event_date, event_kind,
    followup_end, time_days (to event or censoring), event (bool), label (1/0/null).
    """
    idx = index_dates(con) if idx is None else idx
    idx = idx.with_columns([pl.lit(None, dtype=pl.Utf8).alias(c) for c in ("cohort", "index_rule") if c not in idx.columns])
    events = frame(con, f"""
        SELECT patient_id, observed_at AS event_at, {_event_sql()} AS kind
        FROM outcomes WHERE observed_at IS NOT NULL
        UNION ALL
        SELECT patient_id, observed_at, 'progression' FROM note_events
        WHERE observed_at IS NOT NULL AND lower(concept_type) = 'response'
          AND (upper(coalesce(value_text, '')) = 'PD' OR lower(concept) = 'progressive disease')
          AND NOT coalesce(is_negated, false) AND NOT coalesce(is_hypothetical, false)
          AND NOT coalesce(is_family, false) AND NOT coalesce(is_historical, false)""").filter(
        pl.col("kind").is_not_null())
    followup = frame(con, """
        SELECT patient_id, max(t) AS followup_end FROM (
            SELECT patient_id, observed_at AS t FROM outcomes
            UNION ALL SELECT patient_id, observed_at FROM notes
            UNION ALL SELECT patient_id, observed_at FROM labs
            UNION ALL SELECT patient_id, observed_at FROM imaging_studies
            UNION ALL SELECT patient_id, CAST(coalesce(end_date, start_date) AS TIMESTAMP) FROM treatments
        ) WHERE t IS NOT NULL GROUP BY patient_id""")
    ev = (events.join(idx.select("patient_id", "index_date"), on="patient_id")
          .filter(pl.col("event_at") > pl.col("index_date"))
          .sort("event_at").group_by("patient_id", maintain_order=True)
          .agg(pl.col("event_at").first().alias("event_date"), pl.col("kind").first().alias("event_kind")))
    out = (idx.join(ev, on="patient_id", how="left").join(followup, on="patient_id", how="left")
           .with_columns(pl.col("event_date").is_not_null().alias("event")))
    end = pl.when(pl.col("event")).then(pl.col("event_date")).otherwise(pl.col("followup_end"))
    out = out.with_columns(((end - pl.col("index_date")).dt.total_seconds() / 86400.0).alias("time_days"))
    horizon = float(HORIZON_DAYS)
    label = (pl.when(pl.col("index_date").is_null() | pl.col("time_days").is_null()).then(None)
             .when(pl.col("event") & (pl.col("time_days") <= horizon)).then(1)
             .when(pl.col("time_days") > horizon).then(0)
             .otherwise(None).cast(pl.Int8))
    return out.with_columns(label.alias("label")).select(
        "patient_id", "cohort", "index_date", "index_rule", "event_date", "event_kind", "followup_end",
        "time_days", "event", "label")

