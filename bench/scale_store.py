"""A large evidence store for latency benchmarks: an ingested store's patients replicated under new ids.

Usage:
    .venv/bin/python bench/scale_store.py --src /tmp/demo300/store --dest /tmp/big10k/store --patients 10000

Building a 100k-patient store by ingest takes hours on 2 cores (ingest-bound, see
docs/BENCHMARKS.md), while query latency depends on table sizes, indexes and per-patient row
counts, not on whether two patients' notes differ. So this copies the current version of
``--src`` and adds copies of every patient-scoped row (every table with a ``patient_id``)
with each identifier suffixed ``~k``: patient, note, event, study/series/instance UIDs,
specimen, variant ... Per-patient row counts and the distribution of row sizes are those of
the ingested cohort; ``evidence_items`` is then materialised as publishing a version does. Left as they were: the board agenda (meetings and their cases),
predictions and their explanations (board-case outputs), sources (one row per file),
trials and the model registry. Replicated patients are historical patients, not board cases.

The result is a benchmark fixture, never a demo: ``patients`` grows, ``sources`` does not,
so a replicated row's provenance points at the file its original came from.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a script from anywhere

import duckdb  # noqa: E402

from core.store import db, evidence_items  # noqa: E402

# board-case outputs and agenda rows are not replicated (see module docstring)
SKIP = {"evidence_items", "board_cases", "board_meetings", "predictions", "attributions", "ablations", "review_triggers",
        "discrepancies", "trial_matches"}
# identifiers shared across patients: kept as they are
SHARED = {"model_id", "ingest_run_id", "trial_id", "nct_id", "pubmed_id", "civic_id", "dicom_patient_id"}
SUFFIX = "'~' || CAST(r.k AS VARCHAR)"


def _per_patient_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, bool]]:
    """(column, remap?) in table order: identifiers get the copy's suffix."""
    cols = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                       "ORDER BY ordinal_position", [table]).fetchall()
    out = []
    for name, dtype in cols:
        ident = name.endswith(("_id", "_uid")) or name == "resource_key" or (
            table == "patient_identifiers" and name == "value")
        out.append((name, ident and dtype == "VARCHAR" and name not in SHARED))
    return out


def replicate(path: Path, copies: int) -> dict[str, int]:
    """Add ``copies`` suffixed copies of every patient-scoped row of the store at ``path``; rows per table."""
    con = duckdb.connect(str(path))
    con.execute(db.NO_RLE)
    tables = [r[0] for r in con.execute(
        "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'patient_id' "
        "AND table_schema = 'main' ORDER BY 1").fetchall() if r[0] not in SKIP]
    out = {}
    for t in tables:
        cols = _per_patient_columns(con, t)
        select = ", ".join(f"{c} || {SUFFIX}" if remap else c for c, remap in cols)
        t0 = time.perf_counter()
        con.execute(f"INSERT INTO {t} SELECT {select} FROM {t} CROSS JOIN range(1, {copies + 1}) r(k) "
                    "ORDER BY r.k, patient_id")  # one patient's rows together, as an ingest writes them
        out[t] = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        print(f"  {t:<24} {out[t]:>11,} rows  {time.perf_counter() - t0:6.1f} s", flush=True)
    t0 = time.perf_counter()
    evidence_items.refresh(con, was_trusted=False)  # what publishing a version does
    print(f"  evidence_items materialised in {time.perf_counter() - t0:.1f} s", flush=True)
    con.execute("CHECKPOINT")
    con.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", type=Path, required=True, help="store folder with an ingested cohort")
    ap.add_argument("--dest", type=Path, required=True, help="new store folder (replaced)")
    ap.add_argument("--patients", type=int, required=True, help="about this many patients in the result")
    args = ap.parse_args()
    src = db.current_evidence_path(args.src)
    if src is None or not src.exists():
        raise SystemExit(f"no evidence store in {args.src}")
    with duckdb.connect(str(src), read_only=True) as con:
        n = con.execute("SELECT count(*) FROM patients").fetchone()[0]
    copies = max(0, -(-args.patients // n) - 1)
    shutil.rmtree(args.dest, ignore_errors=True)
    args.dest.mkdir(parents=True)
    shutil.copyfile(src, args.dest / src.name)
    for f in ("board.duckdb", "board.duckdb.wal"):  # the agenda the dashboard opens
        if (args.src / f).exists():
            shutil.copyfile(args.src / f, args.dest / f)
    (args.dest / "CURRENT").write_text(src.name)
    t0 = time.perf_counter()
    print(f"{n} patients x {copies + 1} -> {n * (copies + 1):,} patients in {args.dest / src.name}")
    rows = replicate(args.dest / src.name, copies)
    print(f"done in {time.perf_counter() - t0:.0f} s; {rows.get('patients', 0):,} patients; "
          f"{(args.dest / src.name).stat().st_size / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
