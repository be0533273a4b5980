"""`python -m core COMMAND ...`: the project's command line."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# Each module registers its sub-commands; add new groups here.
COMMAND_MODULES = (
    "core.cli.store_cmds",     # ingest, status, export-parquet, backup, restore
    "core.cli.demo_cmds",      # build-demo
    "core.cli.model_cmds",     # train-encoder, train, evaluate, score
    "core.cli.similar_cmds",   # build-index
    "core.cli.trial_cmds",     # load-trials, match-trials
    "core.cli.bench_cmds",     # bench ...
    "core.cli.governance_cmds",  # audit verify, users
    "core.cli.pilot_cmds",     # pilot report, set-threshold, simulate (+ the demo pilot build step)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Tumor-board evidence dashboard CLI")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # group not built yet
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError, PermissionError) as e:
        # expected user-facing failures: one clear line (no traceback, no PHI: messages name files and rules)
        logging.getLogger("core").debug("command failed", exc_info=True)
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    code = main()
    # duckdb 2.0's nanobind bindings print "leaked instance" noise during interpreter teardown;
    # everything is written and closed by now, so leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
