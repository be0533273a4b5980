"""patient_evidence latency on a large store, as a ratio against a point lookup measured in the same run.

Usage: TB_STORE_DIR=/tmp/big/store .venv/bin/python bench/bench_evidence.py [--n 300]
(build the store first: TB_STORE_DIR=... TB_DEMO_DIR=... python -m core build-demo --patients 100000 --no-images)
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a script from anywhere

from core.store import db, queries


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    con = db.connect_readonly()
    ids = [r[0] for r in con.execute("SELECT patient_id FROM patients").fetchall()]
    n_pat = len(ids)
    rng = random.Random(0)
    sample = [rng.choice(ids) for _ in range(args.n)]
    queries.patient_evidence(con, sample[0])  # warm-up
    base, ev, tl = [], [], []
    for pid in sample:
        t = time.perf_counter()
        con.execute("SELECT * FROM patients WHERE patient_id = ?", [pid]).fetchall()
        base.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        df = queries.patient_evidence(con, pid)
        ev.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        queries.timeline(con, pid)
        tl.append((time.perf_counter() - t) * 1000)
    print(f"store: {n_pat} patients, version {db.current_version()}; {args.n} random patients")
    for name, xs in (("baseline point lookup", base), ("patient_evidence", ev), ("timeline", tl)):
        print(f"{name:<24} p50 {statistics.median(xs):7.2f} ms  p95 {pct(xs, 0.95):7.2f} ms  "
              f"ratio p95/baseline p95 {pct(xs, 0.95) / pct(base, 0.95):6.1f}")
    print(f"last evidence rows: {df.height}")


if __name__ == "__main__":
    main()
