"""load-trials, match-trials."""
from __future__ import annotations

import argparse
import logging
import time
from datetime import date
from pathlib import Path

import duckdb

from core.config import path_setting
from core.store import db

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    _register_post_build()
    p = sub.add_parser("load-trials", help="load CTML trial files (YAML/JSON) into a new store version")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the trials_dir setting)")
    p.add_argument("--strict", action="store_true", help="exit non-zero if any trial failed validation")
    p.set_defaults(func=cmd_load_trials)

    p = sub.add_parser("match-trials", help="match patients to trial arms (met / not met / unknown per criterion)")
    p.add_argument("--patient", help="one patient_id: print its ranked arms, criteria and what to test next")
    p.add_argument("--top", type=int, default=10, help="arms to print for --patient (default 10)")
    p.add_argument("--as-of", type=date.fromisoformat, default=None, help="date for age criteria (YYYY-MM-DD)")
    p.set_defaults(func=cmd_match_trials)


def load_and_match_trials(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> None:
    """build-demo step: load the CTML files of ``trials_dir`` and fill trial_matches for the new store."""
    from core.ingest.run import ingest_paths
    from core.trials.bulk import match_all, write_trial_matches

    trials_dir = path_setting("trials_dir")
    if trials_dir.is_dir():
        summary = ingest_paths(con, [trials_dir], command="build-demo: trials")
        logger.info("trials: %s", summary.line())
    as_of = getattr(args, "reference_date", None)  # the demo's "today", so ages match the cohort
    n = write_trial_matches(con, match_all(con, as_of=as_of))
    logger.info("trial_matches: %d candidate rows", n)


def _register_post_build() -> None:
    try:
        from core.synth.build import POST_BUILD_STEPS
    except ModuleNotFoundError:  # generator not in this checkout
        return
    if load_and_match_trials not in POST_BUILD_STEPS:
        POST_BUILD_STEPS.append(load_and_match_trials)


def cmd_load_trials(args: argparse.Namespace) -> int:
    from core.ingest.run import ingest_paths

    paths = args.paths or [path_setting("trials_dir")]
    with db.evidence_writer() as con:
        summary = ingest_paths(con, paths, command="load-trials")
        n = con.execute("SELECT count(*) FROM trials").fetchone()[0]
    print(summary.line())
    for e in summary.errors:
        print(f"  {e.severity.upper()} {e.error_type}: {e}")
    print(f"trials in store: {n}")
    return 1 if (args.strict and summary.failed) else 0


def cmd_match_trials(args: argparse.Namespace) -> int:
    if args.patient:
        return _print_patient(args.patient, args.top, args.as_of)
    from core.trials.bulk import match_all, write_trial_matches

    t0 = time.perf_counter()
    with db.evidence_writer() as con:
        matches = match_all(con, as_of=args.as_of,
                            progress=lambda done, total: print(f"  matched {done}/{total} patients", flush=True))
        t1 = time.perf_counter()
        n = write_trial_matches(con, matches)
    counts = matches.group_by("status").len().sort("status")
    print(f"matched {matches['patient_id'].n_unique()} patients x {matches.select('trial_id', 'arm').unique().height} "
          f"arms in {t1 - t0:.1f}s; wrote {n} trial_matches rows in {time.perf_counter() - t1:.1f}s")
    for status, k in counts.iter_rows():
        print(f"  {status:<8} {k:>10}")
    return 0


def _print_patient(patient_id: str, top: int, as_of: date | None) -> int:
    from core.trials.api import criteria_table, match_patient, what_to_test_next

    con = db.connect_readonly()
    try:
        ranked = match_patient(con, patient_id, as_of=as_of)
    except LookupError as e:
        print(e)
        return 2
    print(f"{'rank':>4}  {'status':<8} {'trial / arm':<34} {'met':>3} {'not':>3} {'unk':>3}  why / to resolve")
    for r in ranked.head(top).iter_rows(named=True):
        extra = r["priority_reason"] if r["status"] == "met" else "; ".join(r["tests_to_resolve"])
        closed = "" if r["is_open"] else " (closed)"
        print(f"{r['rank']:>4}  {r['status']:<8} {r['trial_id'] + ' / ' + r['arm'] + closed:<34} "
              f"{r['n_met']:>3} {r['n_not_met']:>3} {r['n_unknown']:>3}  {extra}")
        print(f"        {r['title']}")
    if ranked.height:
        best = ranked.row(0, named=True)
        print(f"\ncriteria of {best['trial_id']} / {best['arm']}:")
        for c in criteria_table(con, patient_id, best["trial_id"], best["arm"], as_of=as_of).iter_rows(named=True):
            src = f"  <- {c['evidence_table']}:{c['evidence_id']} {c['source_uri']} [{c['locator']}]" \
                if c["evidence_table"] else ""
            print(f"  {c['status']:<8} {c['description']}: {c['reason']}{src}")
    tests = what_to_test_next(con, patient_id, as_of=as_of)
    if tests.height:
        print("\nwhat to test next:")
        for t in tests.iter_rows(named=True):
            print(f"  {t['test']:<32} decides {t['resolves_arms']} arm(s): {', '.join(t['arms'])}")
    con.close()
    return 0
