"""``evidence_items``: every patient's evidence rows, materialised for one-lookup reads.

``patient_evidence`` is a union over twelve evidence tables; planning and running twelve
index scans costs ~30 ms per patient whatever the store size. Store versions are immutable
once published, so the union is materialised when a writer publishes a version
(``core.store.db.evidence_writer``): only for the patients whose number of evidence rows
changed, or for everyone when the table cannot be trusted (a new store, or one written
without a refresh). Evidence tables are append-only (ingest inserts or ignores, nothing
deletes or rewrites their rows), so a patient whose row count is unchanged is unchanged.

``derived_state`` keeps the row count of every source table at the last refresh; a reader
uses the materialised rows only when those counts still hold (checked once per store
version), otherwise it runs the union itself. Stale rows are never served.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import weakref
from datetime import datetime, timezone

import duckdb

from core.store import schema
from core.store.schema import PROVENANCE_NAMES

NAME = "evidence_items"


# How each evidence table reads as one line of evidence: (table, kind, summary SQL expression, value SQL).
EVIDENCE_VIEWS: tuple[tuple[str, str, str, str], ...] = (
    ("conditions", "diagnosis",
     "coalesce(display, code) || coalesce(' [' || oncotree_code || ']', '') || coalesce(', stage ' || stage, '')",
     "coalesce(stage, '')"),
    ("imaging_studies", "imaging study", "coalesce(dicom_modality, '') || ' ' || coalesce(study_description, '')", "study_uid"),
    ("lesion_measurements", "lesion",
     "'lesion ' || coalesce(lesion_id, '') || ': ' || round(long_axis_mm, 1) || ' x ' || round(short_axis_mm, 1) || ' mm'"
     " || coalesce(', ' || margin, '')", "CAST(long_axis_mm AS VARCHAR)"),
    ("notes", "note", "coalesce(note_type, 'note') || coalesce(': ' || title, '')", "note_id"),
    ("note_events", "note event",
     "concept_type || ': ' || concept || coalesce(' ' || value_text, '')"
     " || CASE WHEN is_negated THEN ' (negated)' ELSE '' END"
     " || CASE WHEN is_uncertain THEN ' (uncertain)' ELSE '' END"
     " || CASE WHEN is_historical THEN ' (history)' ELSE '' END"
     " || CASE WHEN is_family THEN ' (family)' ELSE '' END", "coalesce(value_text, CAST(value_num AS VARCHAR), '')"),
    ("variants", "variant",
     "coalesce(hugo_symbol, chrom || ':' || pos) || ' ' || coalesce(protein_change, cnv_call, sv_partner, variant_classification, '')"
     " || coalesce(' VAF ' || round(vaf, 2), '') || coalesce(' level ' || actionability_level, '')",
     "coalesce(protein_change, '')"),
    ("biomarkers", "biomarker",
     "name || ': ' || coalesce(status, '') || coalesce(' ' || CAST(value_num AS VARCHAR) || coalesce(' ' || unit, ''), '')"
     " || coalesce(' (' || method || ')', '')", "coalesce(status, CAST(value_num AS VARCHAR))"),
    ("specimens", "specimen", "'specimen ' || coalesce(specimen_type, '') || ', panel ' || coalesce(panel_name, '?')", "panel_name"),
    ("labs", "lab", "name || ' ' || coalesce(CAST(value_num AS VARCHAR), value_text, '') || coalesce(' ' || unit, '')",
     "coalesce(CAST(value_num AS VARCHAR), value_text)"),
    ("clinical_observations", "clinical",
     "name || ': ' || coalesce(value_text, CAST(value_num AS VARCHAR), '') || coalesce(' ' || unit, '')",
     "coalesce(value_text, CAST(value_num AS VARCHAR))"),
    ("treatments", "treatment", "kind || ': ' || name || coalesce(' (line ' || line || ')', '')", "name"),
    ("outcomes", "outcome", "event || coalesce(': ' || value_text, '')", "event"),
)
# The columns ``patient_evidence`` returns, and its order.
COLUMNS = ("source_table", "kind", "summary", "value") + tuple(c for c in PROVENANCE_NAMES if c != "patient_id")
ORDER = "observed_at NULLS LAST, source_table, locator"
SQL_VERSION = 1  # bump with any change to EVIDENCE_VIEWS or COLUMNS: a stored table is then rebuilt


def select_sql(where: str) -> str:
    """The union of every evidence table in ``evidence_items`` column order, each part filtered by ``where``."""
    prov = ", ".join(PROVENANCE_NAMES)
    parts = []
    for table, kind, summary, value in EVIDENCE_VIEWS:
        schema.check_identifier(table)
        parts.append(f"SELECT '{table}' AS source_table, '{kind}' AS kind, CAST({summary} AS VARCHAR) AS summary, "
                     f"CAST({value} AS VARCHAR) AS value, {prov} FROM {table} WHERE {where}")
    return " UNION ALL ".join(parts)


def signature(con: duckdb.DuckDBPyConnection) -> str:
    """What a refresh saw: the row count of every source table, and the SQL that shaped the rows (a
    changed view definition makes every stored row suspect, not only those of patients with new rows)."""
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t, *_ in EVIDENCE_VIEWS}
    shape = hashlib.sha256(f"{SQL_VERSION}|{select_sql('true')}".encode()).hexdigest()[:16]
    return json.dumps({"rows": counts, "sql": shape}, sort_keys=True)


def _recorded(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT signature FROM derived_state WHERE name = ?", [NAME]).fetchall()
    return row[0][0] if row else None


def trusted(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``evidence_items`` holds exactly what the source tables hold now."""
    try:
        return _recorded(con) == signature(con)
    except duckdb.CatalogException:  # a store from before migration 3
        return False


def refresh(con: duckdb.DuckDBPyConnection, was_trusted: bool = True) -> int:
    """Re-materialise every patient whose number of evidence rows differs from what ``evidence_items``
    holds for them (everyone when the table was not trusted when the writer opened: a new store, or
    one written without a refresh). Returns the number of patients refreshed."""
    now = signature(con)
    if was_trusted and _recorded(con) == now:
        return 0  # nothing was added (evidence tables are append-only): train, score, trials ...
    cols = ", ".join(c.name for c in schema.EVIDENCE_TABLES[NAME].columns)
    order = f"ORDER BY patient_id, {ORDER}"
    if not was_trusted:
        con.execute(f"DELETE FROM {NAME}")
        con.execute(f"INSERT INTO {NAME} ({cols}) SELECT * FROM ({select_sql('true')}) {order}")
        n = con.execute(f"SELECT count(DISTINCT patient_id) FROM {NAME}").fetchall()[0][0]
    else:
        ids = " UNION ALL ".join(f"SELECT patient_id FROM {t}" for t, *_ in EVIDENCE_VIEWS)
        touched = [r[0] for r in con.execute(
            f"SELECT patient_id, count(*) FROM ({ids}) GROUP BY ALL "
            f"EXCEPT SELECT patient_id, count(*) FROM {NAME} GROUP BY ALL ORDER BY 1").fetchall()]
        n = len(touched)
        if touched:
            con.execute(f"DELETE FROM {NAME} WHERE patient_id IN (SELECT unnest(?::VARCHAR[]))", [touched])
            con.execute(f"INSERT INTO {NAME} ({cols}) SELECT * FROM "
                        f"({select_sql('patient_id IN (SELECT unnest($ids::VARCHAR[]))')}) {order}", {"ids": touched})
    con.execute("INSERT OR REPLACE INTO derived_state VALUES (?, ?, ?)",
                [NAME, now, datetime.now(timezone.utc).replace(tzinfo=None)])
    return n


_trusted_by_db: dict[tuple[str, int, int], bool] = {}
_by_connection: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # read-only connection -> verdict
_lock = threading.Lock()


def usable(con: duckdb.DuckDBPyConnection) -> bool:
    """``trusted``, remembered per read-only connection and per published store file (versions never
    change once published); a writable connection is checked every time."""
    with _lock:
        known = _by_connection.get(con)
    if known is not None:
        return known
    row = con.execute("SELECT path, readonly FROM duckdb_databases() WHERE database_name = current_database()"
                      ).fetchall()
    path, readonly = row[0] if row else (None, False)
    if not path or not readonly:
        return trusted(con)
    try:
        st = os.stat(path)
    except OSError:
        return trusted(con)
    key = (path, st.st_mtime_ns, st.st_size)
    with _lock:
        if key not in _trusted_by_db:
            _trusted_by_db[key] = trusted(con)
        _by_connection[con] = _trusted_by_db[key]
        return _trusted_by_db[key]
