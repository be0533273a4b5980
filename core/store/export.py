"""Parquet export of every table, optionally de-identified by the schema's PHI classes."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import duckdb

from core.store import schema
from core.store.schema import Phi

logger = logging.getLogger(__name__)


def safe_output_dir(path: Path) -> Path:
    """Refuse export targets that traverse out via '..' components or point at system folders."""
    if any(part == ".." for part in path.parts):
        raise ValueError(f"refusing export path with '..': {path}")
    resolved = path.resolve()
    if "'" in str(resolved):
        raise ValueError("refusing export path containing a quote character")
    for forbidden in (Path("/etc"), Path("/proc"), Path("/sys"), Path("/dev"), Path("/boot"), Path("/usr")):
        if resolved == forbidden or forbidden in resolved.parents:
            raise ValueError(f"refusing to export into system folder {forbidden}")
    return resolved


def _date_shift_days(con: duckdb.DuckDBPyConnection) -> int:
    """A store-wide secret shift (-180..180 days) so intervals survive de-identification."""
    row = None
    try:
        row = con.execute("SELECT value FROM store_secrets WHERE name = 'pseudonym_key'").fetchone()
    except duckdb.CatalogException:
        pass
    seed = row[0] if row else "no-key"
    return int(hashlib.sha256(f"shift:{seed}".encode()).hexdigest(), 16) % 361 - 180


def export_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path, *, deidentified: bool = False,
                   tables: dict[str, schema.Table] | None = None) -> list[Path]:
    """Write each schema table to ``out_dir/<table>.parquet``.

    With ``deidentified`` the columns classed DIRECT or FREE_TEXT are dropped and DATE
    columns shifted by one secret per-store offset (DATE columns kept as text are dropped);
    the classification in ``core.store.schema`` drives it, no hand-kept list.
    """
    out_dir = safe_output_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = tables or {n: t for n, t in schema.EVIDENCE_TABLES.items() if n not in schema.DERIVED_TABLES}
    existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    shift = _date_shift_days(con)
    written = []
    for name, t in tables.items():
        if name not in existing:
            continue
        cols = []
        for c in t.columns:
            if deidentified and c.phi in (Phi.DIRECT, Phi.FREE_TEXT):
                continue
            if deidentified and c.phi == Phi.DATE:
                if c.type.upper().startswith(("DATE", "TIMESTAMP")):
                    cols.append(f'CAST("{c.name}" + INTERVAL ({shift}) DAY AS {c.type}) AS "{c.name}"')
                # else: a date kept as text ("4 Mar 2025" as written) cannot be shifted: dropped
            else:
                cols.append(f'"{c.name}"')
        target = out_dir / f"{name}.parquet"
        con.execute(f"COPY (SELECT {', '.join(cols)} FROM {name}) TO '{target}' (FORMAT parquet)")
        written.append(target)
    logger.info("exported %d tables (deidentified=%s)", len(written), deidentified)
    return written
