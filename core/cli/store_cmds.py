"""ingest, status, export-parquet."""
from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from core.config import path_setting
from core.store import db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="ingest files or folders (format detected) into a new store version")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--manifest", action="append", type=Path, default=[],
                   help="extra specimen/document manifest CSV (data/manifests/*.csv are always loaded)")
    p.add_argument("--strict", action="store_true", help="exit non-zero if any file failed")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("status", help="table counts and recent ingest errors")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("export-parquet", help="write every table as Parquet into DIR")
    p.add_argument("dir", type=Path)
    p.add_argument("--deidentified", action="store_true", help="drop direct PHI and free text, shift dates")
    p.set_defaults(func=cmd_export)


def cmd_ingest(args: argparse.Namespace) -> int:
    from core.ingest.run import ingest_paths

    manifests = sorted(path_setting("manifest_dir").glob("*.csv")) + list(args.manifest)
    with db.evidence_writer() as con:
        summary = ingest_paths(con, [*manifests, *args.paths], command="ingest",
                               progress=lambda it: tqdm(it, desc="ingest", unit="file"))
    print(summary.line())
    for e in summary.errors:
        print(f"  {e.severity.upper()} {e.error_type}: {e}")
    return 1 if (args.strict and summary.failed) else 0


def cmd_status(args: argparse.Namespace) -> int:
    from core.store import queries

    con = db.connect_readonly()
    print(f"store version: {db.current_version()}")
    for name, n in queries.table_counts(con).iter_rows():
        print(f"  {name:<24} {n:>10}")
    errs = queries.ingest_errors(con, limit=20)
    print(f"ingest errors: {queries.count_ingest_errors(con)} (latest {errs.height} shown)")
    for r in errs.iter_rows(named=True):
        print(f"  {r['severity']:<7} {r['error_type']:<18} {r['source_uri']} [{r['locator']}]: {r['message']}")
    con.close()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from core.store.export import export_parquet

    con = db.connect_readonly()
    written = export_parquet(con, args.dir, deidentified=args.deidentified)
    con.close()
    print(f"wrote {len(written)} Parquet files to {args.dir}")
    return 0
