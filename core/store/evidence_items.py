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

import json
import os
import threading
import weakref
from datetime import datetime, timezone

import duckdb

from core.store import schema
from core.store.schema import PROVENANCE_NAMES

NAME = "evidence_items"


def _views() -> tuple[tuple[str, str, str, str], ...]:
    from core.store.queries import EVIDENCE_VIEWS  # queries imports this module

    return EVIDENCE_VIEWS


def select_sql(where: str) -> str:
    """The union of every evidence table in ``evidence_items`` column order, each part filtered by ``where``."""
    prov = ", ".join(PROVENANCE_NAMES)
    parts = []
    for table, kind, summary, value in _views():
        schema.check_identifier(table)
        parts.append(f"SELECT '{table}' AS source_table, '{kind}' AS kind, CAST({summary} AS VARCHAR) AS summary, "
                     f"CAST({value} AS VARCHAR) AS value, {prov} FROM {table} WHERE {where}")
    return " UNION ALL ".join(parts)


def signature(con: duckdb.DuckDBPyConnection) -> str:
    """Row count of every source table: what a refresh saw."""
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t, *_ in _views()}
    return json.dumps(counts, sort_keys=True)


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
    cols = ", ".join(c.name for c in schema.EVIDENCE_TABLES[NAME].columns)
    order = "ORDER BY patient_id, observed_at NULLS LAST, source_table, locator"
    if not was_trusted:
        con.execute(f"DELETE FROM {NAME}")
        con.execute(f"INSERT INTO {NAME} ({cols}) SELECT * FROM ({select_sql('true')}) {order}")
        n = con.execute(f"SELECT count(DISTINCT patient_id) FROM {NAME}").fetchone()[0]
    else:
        ids = " UNION ALL ".join(f"SELECT patient_id FROM {t}" for t, *_ in _views())
        touched = [r[0] for r in con.execute(
            f"SELECT patient_id, count(*) FROM ({ids}) GROUP BY ALL "
            f"EXCEPT SELECT patient_id, count(*) FROM {NAME} GROUP BY ALL ORDER BY 1").fetchall()]
        n = len(touched)
        if touched:
            con.execute(f"DELETE FROM {NAME} WHERE patient_id IN (SELECT unnest(?::VARCHAR[]))", [touched])
            con.execute(f"INSERT INTO {NAME} ({cols}) SELECT * FROM "
                        f"({select_sql('patient_id IN (SELECT unnest($ids::VARCHAR[]))')}) {order}", {"ids": touched})
    con.execute("INSERT OR REPLACE INTO derived_state VALUES (?, ?, ?)",
                [NAME, signature(con), datetime.now(timezone.utc).replace(tzinfo=None)])
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
