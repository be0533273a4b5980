"""What build-demo writes into the store besides ingested files: board meetings and cases, cohort and site."""
from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from core.ingest.base import MRN_SYSTEM
from core.synth import catalog
from core.synth.cohort import LatentPatient, reference_date


def seed_board(con: duckdb.DuckDBPyConnection, patients: list[LatentPatient], seed: int) -> None:
    """Board meetings: the upcoming one with the current cases, and past ones for historical patients."""
    ids = patient_ids(con)
    ref = reference_date(seed)
    meetings: dict[str, tuple] = {}
    cases: list[tuple] = []
    oncologists = catalog.CLINICIANS["oncology"]
    for p in patients:
        pid = ids.get(p.mrn)
        if pid is None:
            continue
        when = datetime.combine(p.board_date, datetime.min.time()).replace(hour=7, minute=30)
        mid = f"MTB-{p.board_date:%Y%m%d}"
        meetings.setdefault(mid, (mid, when, catalog.SITES[0], "Multidisciplinary Tumor Board"
                                  + (" (upcoming)" if p.board_date == ref else "")))
        added = when - timedelta(days=5 if p.is_current else 7, hours=p.idx % 9)
        ready = None if (p.is_current and not _ready(p)) else added + timedelta(days=1, hours=p.idx % 5)
        cases.append((mid, pid, 0, board_question(p), added, ready, 4 + (p.idx * 7) % 6,
                      oncologists[p.idx % len(oncologists)], p.idx))
    cases.sort(key=lambda r: (r[0], r[-1]))
    pos: dict[str, int] = {}
    rows = []
    for r in cases:
        pos[r[0]] = pos.get(r[0], 0) + 1
        rows.append((r[0], r[1], pos[r[0]], *r[3:8]))
    _insert(con, "board_meetings", ["meeting_id", "scheduled_at", "site", "title"], list(meetings.values()))
    _insert(con, "board_cases", ["meeting_id", "patient_id", "position", "question", "added_at", "ready_at",
                                 "minutes_planned", "presenter"], rows)


def _insert(con: duckdb.DuckDBPyConnection, table: str, names: list[str], rows: list[tuple]) -> None:
    """Bulk INSERT OR REPLACE through an Arrow table (row-by-row executemany is slow in DuckDB)."""
    if not rows:
        return
    tbl = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    con.register("_demo_rows", tbl)
    try:
        cols = ", ".join(names)
        con.execute(f"INSERT OR REPLACE INTO {table} ({cols}) SELECT {cols} FROM _demo_rows").fetchall()
    finally:
        con.unregister("_demo_rows")


def _ready(p: LatentPatient) -> bool:
    """A current case is ready when the work-up the board needs is on file."""
    if p.cancer_type == "lung" and p.oncotree != "SCLC" and p.stage in ("III", "IV"):
        return p.sequenced and p.has_imaging
    return p.has_imaging


def board_question(p: LatentPatient) -> str:
    """The question the presenter brings (no names: the text is free text in the store)."""
    dx = f"stage {p.stage_detail} {p.histology} ({p.oncotree})"
    known = [d for d in p.drivers if d.split(" ")[0] in ("EGFR", "ALK", "KRAS", "BRAF", "ROS1", "RET", "MET", "ERBB2",
                                                          "PIK3CA", "ESR1", "BRCA1", "BRCA2")]
    extra = f" with {known[0]}" if known and p.sequenced else ""
    if not p.is_current:
        return f"{dx}{extra}: treatment recommendation."
    if p.stage == "IV":
        q = f"Newly diagnosed {dx}{extra}: first-line systemic therapy?"
    elif p.cancer_type == "breast":
        q = f"{dx}: neoadjuvant therapy or upfront surgery?"
    elif p.cancer_type == "colorectal" and p.primary_site == "rectum":
        q = f"{dx}: total neoadjuvant therapy vs. chemoradiation then surgery?"
    elif p.stage == "III":
        q = f"{dx}: resectable, or definitive chemoradiation?"
    else:
        q = f"{dx}: surgical candidacy and need for adjuvant therapy?"
    if not p.sequenced and p.cancer_type == "lung":
        q += " Molecular testing not yet available."
    if not p.has_imaging:
        q += " Outside imaging to be uploaded."
    return q


def patient_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute("SELECT value, patient_id FROM patient_identifiers WHERE system = ?", [MRN_SYSTEM]).fetchall()
    return dict(rows)


def set_cohort(con: duckdb.DuckDBPyConnection, patients: list[LatentPatient]) -> int:
    """Set ``patients.cohort`` (historical / current) and ``site`` from the generator; returns rows updated."""
    tbl = pa.table({"mrn": [p.mrn for p in patients], "cohort": [p.cohort for p in patients],
                    "site": [p.site for p in patients]})
    con.register("_demo_cohort", tbl)
    try:
        con.execute("""
            UPDATE patients SET cohort = d.cohort, site = d.site
            FROM _demo_cohort d JOIN patient_identifiers i ON i.value = d.mrn AND i.system = ?
            WHERE patients.patient_id = i.patient_id""", [MRN_SYSTEM]).fetchall()
        return con.execute("SELECT count(*) FROM patients WHERE cohort IN ('historical', 'current')").fetchall()[0][0]
    finally:
        con.unregister("_demo_cohort")
