"""Board meetings and their cases, with readiness per case."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from core.store.queries import frame

MODALITY_CHECKS = {
    "imaging": "SELECT DISTINCT patient_id FROM imaging_series",
    "notes": "SELECT DISTINCT patient_id FROM notes",
    "sequencing": "SELECT DISTINCT patient_id FROM specimens",
    "pathology": "SELECT DISTINCT patient_id FROM notes WHERE lower(note_type) LIKE '%patholog%'",
}


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    scheduled_at: object
    site: str | None
    title: str | None


def meetings(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return frame(con, """SELECT m.meeting_id, m.scheduled_at, m.site, m.title, count(c.patient_id) AS n_cases
                          FROM board_meetings m LEFT JOIN board_cases c USING (meeting_id)
                          GROUP BY ALL ORDER BY m.scheduled_at DESC""")


def upcoming_meeting(con: duckdb.DuckDBPyConnection) -> Meeting | None:
    """The next meeting from now, else the latest one."""
    row = con.execute("""SELECT meeting_id, scheduled_at, site, title FROM board_meetings
                         ORDER BY (scheduled_at >= now()) DESC,
                                  CASE WHEN scheduled_at >= now() THEN scheduled_at END ASC,
                                  scheduled_at DESC LIMIT 1""").fetchone()
    return Meeting(*row) if row else None


def agenda(con: duckdb.DuckDBPyConnection, meeting_id: str) -> pl.DataFrame:
    """Cases of a meeting in order, with evidence completeness, open discrepancies and review triggers.

    Returns one row per case: position, patient_id, question, presenter, minutes_planned, added_at,
    ready_at, cancer_type, stage, has_<modality> flags, missing (list of missing modalities),
    n_discrepancies, n_triggers, risk, risk_low, risk_high.
    """
    cases = frame(con, """
        SELECT c.position, c.patient_id, c.question, c.presenter, c.minutes_planned, c.added_at, c.ready_at,
               p.cancer_type, p.oncotree_code, p.stage, p.sex, p.age_at_diagnosis_years
        FROM board_cases c LEFT JOIN patients p USING (patient_id)
        WHERE c.meeting_id = ? ORDER BY c.position""", [meeting_id])
    if cases.height == 0:
        return cases
    ids = cases["patient_id"].to_list()
    flags = {}
    for name, sql in MODALITY_CHECKS.items():
        have = {r[0] for r in con.execute(f"{sql} WHERE patient_id IN (SELECT unnest(?))"
                                          if "WHERE" not in sql else f"{sql} AND patient_id IN (SELECT unnest(?))",
                                          [ids]).fetchall()}
        flags[f"has_{name}"] = [i in have for i in ids]
    disc = dict(con.execute("SELECT patient_id, count(*) FROM discrepancies WHERE patient_id IN (SELECT unnest(?)) "
                            "GROUP BY 1", [ids]).fetchall())
    trig = dict(con.execute("SELECT patient_id, count(*) FROM review_triggers WHERE patient_id IN (SELECT unnest(?)) "
                            "GROUP BY 1", [ids]).fetchall())
    pred = {r[0]: r[1:] for r in con.execute("""
        SELECT patient_id, risk, risk_low, risk_high FROM (
          SELECT *, row_number() OVER (PARTITION BY patient_id ORDER BY scored_at DESC) AS rn
          FROM predictions WHERE patient_id IN (SELECT unnest(?))) WHERE rn = 1""", [ids]).fetchall()}
    out = cases.with_columns(
        *[pl.Series(k, v) for k, v in flags.items()],
        pl.Series("n_discrepancies", [disc.get(i, 0) for i in ids]),
        pl.Series("n_triggers", [trig.get(i, 0) for i in ids]),
        pl.Series("risk", [pred.get(i, (None,))[0] for i in ids], dtype=pl.Float64),
        pl.Series("risk_low", [pred.get(i, (None, None))[1] for i in ids], dtype=pl.Float64),
        pl.Series("risk_high", [pred.get(i, (None, None, None))[2] for i in ids], dtype=pl.Float64),
    )
    missing = [[m for m in MODALITY_CHECKS if not out[f"has_{m}"][k]] for k in range(out.height)]
    return out.with_columns(pl.Series("missing", missing, dtype=pl.List(pl.Utf8)))
