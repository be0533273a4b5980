"""pilot report, pilot set-threshold, pilot simulate; registers the simulated pilot as a build-demo step."""
from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from core.pilot.verdict import THRESHOLDS_PATH


def register(sub: argparse._SubParsersAction) -> None:
    _register_post_build()
    p = sub.add_parser("pilot", help="pilot go/no-go review: verdict table, threshold changes (audited), demo pilot")
    psub = p.add_subparsers(dest="pilot_cmd", required=True)

    r = psub.add_parser("report", help="print the verdict and the threshold table (optionally write CSV files)")
    r.add_argument("--start", type=date.fromisoformat, default=None, help="first day (default: the pilot window)")
    r.add_argument("--end", type=date.fromisoformat, default=None, help="last day, included")
    r.add_argument("--csv", type=Path, default=None, metavar="DIR", help="write pilot_metrics.csv and pilot_cases.csv")
    r.add_argument("--thresholds", type=Path, default=THRESHOLDS_PATH, help=argparse.SUPPRESS)
    r.set_defaults(func=cmd_report)

    s = psub.add_parser("set-threshold", help="change one threshold value (admin; rewrites the TOML and appends "
                                              "an audit entry). Stop the app first: it holds the board store")
    s.add_argument("threshold_id")
    s.add_argument("value", type=float)
    s.add_argument("--actor", required=True, help="username of an admin user")
    s.add_argument("--reason", default="", help="why (kept in the audit entry; no patient data)")
    s.add_argument("--thresholds", type=Path, default=THRESHOLDS_PATH, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_set_threshold)

    m = psub.add_parser("simulate", help="record the demo pilot's decisions for the pilot meetings already in the "
                                         "evidence store (when build-demo could not reach the board store)")
    m.set_defaults(func=cmd_simulate)


def _register_post_build() -> None:
    try:
        from core.synth.build import POST_BUILD_STEPS
    except ModuleNotFoundError:  # generator not in this checkout
        return
    from core.pilot.simulate import simulate_pilot

    if simulate_pilot not in POST_BUILD_STEPS:
        POST_BUILD_STEPS.append(simulate_pilot)


def cmd_report(args: argparse.Namespace) -> int:
    from core.pilot.export import cases_csv, metrics_csv, summary_lines
    from core.pilot.report import build_review
    from core.store import db

    con = db.connect_readonly()
    board = db.BoardWriter()
    cur = board.read()
    try:
        review = build_review(con, cur, args.start, args.end, thresholds_path=args.thresholds)
    finally:
        cur.close()
        board.close()
        con.close()
    for line in summary_lines(review):
        print(line)
    if args.csv:
        args.csv.mkdir(parents=True, exist_ok=True)
        (args.csv / "pilot_metrics.csv").write_text(metrics_csv(review))
        (args.csv / "pilot_cases.csv").write_text(cases_csv(review))
        print(f"written: {args.csv / 'pilot_metrics.csv'}, {args.csv / 'pilot_cases.csv'}")
    return 0


def cmd_set_threshold(args: argparse.Namespace) -> int:
    from core.pilot.threshold_admin import set_threshold
    from core.store import db

    board = db.BoardWriter()
    try:
        ch = set_threshold(board, args.threshold_id, args.value, args.actor, reason=args.reason,
                           path=args.thresholds)
    except (PermissionError, KeyError, ValueError) as e:
        print(f"not changed: {e}")
        return 2
    finally:
        board.close()
    print(f"{ch.threshold_id} ({ch.metric}): {ch.old} -> {ch.new}; audit entry #{ch.audit_seq}; "
          f"file sha256 {ch.sha256_before[:12]}… -> {ch.sha256_after[:12]}…")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from core.pilot.simulate import plan_decisions, record_pilot_decisions
    from core.store import db

    con = db.connect_readonly()
    try:
        planned = plan_decisions(con)
        version = db.current_version()
    finally:
        con.close()
    if not planned:
        print("no pilot meetings in the evidence store: run `python -m core build-demo` first")
        return 1
    board = db.BoardWriter()
    try:
        n = record_pilot_decisions(board, planned, version)
    finally:
        board.close()
    print(f"pilot cases: {len(planned)}; decisions recorded now: {n} (the others were already recorded)")
    return 0
