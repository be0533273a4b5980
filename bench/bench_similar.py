"""Similar-case search at 100k and 1M cases: faiss flat / IVF / HNSW / IVF-PQ vs DuckDB brute force.

Usage: .venv/bin/python bench/bench_similar.py [--sizes 100000,1000000] [--dim D] [--queries 200]
        [--duckdb-max 1000000] [--threads 2] [--write-doc docs/BENCHMARKS.md]

Vectors are random but clustered like a cohort of case vectors: 1 cluster per 1,000 cases
(subgroup x stage x ... cells), each point = cluster centre + a 12-dimensional low-rank
within-cluster variation + isotropic noise, L2-normalised; ``d`` defaults to the fused
case-vector width (``core.similar.representation.nominal_dimension``). Queries are fresh
draws from the same mixture (not in the index); a separate tuning set picks nprobe /
efSearch (the cheapest setting reaching recall@10 >= 0.95), and recall is then measured on
the evaluation set against exact flat search. Latency is one query at a time (as the page
issues them), p50 / p95 over the evaluation queries after a warm-up. DuckDB runs
``ORDER BY array_cosine_similarity(vec, ?::FLOAT[d]) DESC LIMIT 10`` over a FLOAT[d] column.

Printed and (with --write-doc) appended to docs/BENCHMARKS.md under "Similar cases":
latency ratios against flat measured in the same run, build time and memory at each size.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402
import faiss  # noqa: E402
import pyarrow as pa  # noqa: E402

from core.similar.index import (IndexMethod, IndexParams, add_refinement, build_index, index_bytes,  # noqa: E402
                                normalise, query_latencies_ms, recall_at_k, search, tune_search)
from core.similar.representation import nominal_dimension  # noqa: E402

K = 10
TARGET_RECALL = 0.95
TUNE_MARGIN = 0.02  # tune for 0.97 on the tuning queries so the evaluation set clears 0.95
ROOT = Path(__file__).resolve().parent.parent
HEADING = "## Similar cases"


@dataclass
class Row:
    n: int
    method: str
    setting: str
    build_s: float
    bytes: int
    rss_mb: float
    recall: float
    p50_ms: float
    p95_ms: float


def rss_mb() -> float:
    """Resident set size of this process (Linux /proc), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def clustered(n: int, d: int, rng: np.random.Generator, centres: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``n`` points of the cluster mixture, normalised (float32), in random cluster order."""
    c = rng.integers(0, len(centres), n)
    out = np.empty((n, d), dtype=np.float32)
    order = np.argsort(c, kind="stable")
    bounds = np.searchsorted(c[order], np.arange(len(centres) + 1))
    for j in range(len(centres)):
        rows = order[bounds[j]:bounds[j + 1]]
        if len(rows) == 0:
            continue
        z = rng.standard_normal((len(rows), basis.shape[1]), dtype=np.float32)
        out[rows] = centres[j] + 0.5 * (z @ basis[j]) + 0.25 * rng.standard_normal((len(rows), d), dtype=np.float32)
    return normalise(out)


def dataset(n: int, d: int, n_queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_clusters = max(10, n // 1000)
    centres = rng.standard_normal((n_clusters, d), dtype=np.float32)
    basis = rng.standard_normal((n_clusters, 12, d), dtype=np.float32) / np.sqrt(d).astype(np.float32) * 3
    x = clustered(n, d, rng, centres, basis)
    q = clustered(2 * n_queries, d, rng, centres, basis)
    return x, q[:n_queries], q[n_queries:]  # base, tuning queries, evaluation queries


def duckdb_bruteforce(x: np.ndarray, queries: np.ndarray, exact_rows: np.ndarray, threads: int) -> Row:
    """Top-10 by array_cosine_similarity over a FLOAT[d] column, one query at a time."""
    n, d = x.shape
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    t = time.perf_counter()
    arr = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1), type=pa.float32()), d)
    tbl = pa.table({"id": pa.array(np.arange(n, dtype=np.int64)), "vec": arr})
    con.register("_v", tbl)
    con.execute(f"CREATE TABLE cases AS SELECT id, CAST(vec AS FLOAT[{d}]) AS vec FROM _v")
    con.unregister("_v")
    del tbl, arr
    build = time.perf_counter() - t
    sql = f"SELECT id FROM cases ORDER BY array_cosine_similarity(vec, CAST(? AS FLOAT[{d}])) DESC LIMIT {K}"
    lat, rows = [], []
    con.execute(sql, [queries[0].tolist()]).fetchall()  # warm-up
    for qv in queries:
        t = time.perf_counter()
        ids = [r[0] for r in con.execute(sql, [qv.tolist()]).fetchall()]
        lat.append((time.perf_counter() - t) * 1000.0)
        rows.append(ids + [-1] * (K - len(ids)))
    size = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
    con.close()
    rec = recall_at_k(np.asarray(rows), exact_rows[: len(queries)], K)
    return Row(n, "DuckDB array_cosine_similarity", "brute force", build, int(size or 0), float("nan"), rec,
               float(np.percentile(lat, 50)), float(np.percentile(lat, 95)))


def latencies(index: faiss.Index, queries: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    """One-at-a-time latencies with ``--query-threads`` OpenMP threads (builds use ``--threads``)."""
    faiss.omp_set_num_threads(args.query_threads)
    try:
        return query_latencies_ms(index, queries[: args.latency_queries], K)
    finally:
        faiss.omp_set_num_threads(args.threads)


def measure(index: faiss.Index, params: IndexParams, build: float, grown: float, n: int, q_tune: np.ndarray,
            q_eval: np.ndarray, exact_tune: np.ndarray, exact_eval: np.ndarray, args: argparse.Namespace) -> Row:
    """Tune the search setting on the tuning queries, then recall and latency on the evaluation queries."""
    tuned = tune_search(index, params, q_tune, exact_tune, K, TARGET_RECALL + TUNE_MARGIN)
    _, approx = search(index, q_eval, K)
    rec = recall_at_k(approx, exact_eval, K)
    lat = latencies(index, q_eval, args)
    name = {IndexMethod.IVF: "faiss IVF-Flat", IndexMethod.HNSW: "faiss HNSW",
            IndexMethod.IVFPQ: "faiss IVF-PQ" + (" + exact re-rank" if params.refine else "")}[params.method]
    row = Row(n, name, tuned.params.label(), build, index_bytes(index), grown, rec,
              float(np.percentile(lat, 50)), float(np.percentile(lat, 95)))
    logging.getLogger("bench").info("%s  (sweep %s)", row, tuned.sweep)
    return row


def run_size(n: int, d: int, n_queries: int, args: argparse.Namespace) -> list[Row]:
    log = logging.getLogger("bench")
    t = time.perf_counter()
    x, q_tune, q_eval = dataset(n, d, n_queries, seed=args.seed)
    log.info("n=%d: data %.1f s", n, time.perf_counter() - t)
    rows: list[Row] = []
    rss0 = rss_mb()
    t = time.perf_counter()
    flat, fp = build_index(x, IndexParams(IndexMethod.FLAT))
    fb = time.perf_counter() - t
    _, exact_tune = search(flat, q_tune, K)
    _, exact_eval = search(flat, q_eval, K)
    lat = latencies(flat, q_eval, args)
    rows.append(Row(n, "faiss Flat (exact)", "-", fb, index_bytes(flat), rss_mb() - rss0, 1.0,
                    float(np.percentile(lat, 50)), float(np.percentile(lat, 95))))
    log.info("%s", rows[-1])
    del flat
    gc.collect()
    plans = [IndexParams(IndexMethod.IVF),
             IndexParams(IndexMethod.HNSW, hnsw_m=args.hnsw_m, ef_construction=args.ef_construction),
             IndexParams(IndexMethod.IVFPQ, refine=False)]
    for params in plans:
        if params.method == IndexMethod.HNSW and n > args.hnsw_max:
            continue
        gc.collect()
        rss0 = rss_mb()
        t = time.perf_counter()
        index, params = build_index(x, params, seed=args.seed)
        build = time.perf_counter() - t
        rows.append(measure(index, params, build, rss_mb() - rss0, n, q_tune, q_eval, exact_tune, exact_eval, args))
        if params.method == IndexMethod.IVFPQ:
            # the same PQ index with exact re-ranking: reuse it instead of training twice
            rss0 = rss_mb()
            t = time.perf_counter()
            refined, rparams = add_refinement(index, x, params)
            extra = time.perf_counter() - t
            rows.append(measure(refined, rparams, build + extra, rows[-1].rss_mb + rss_mb() - rss0, n, q_tune, q_eval,
                                exact_tune, exact_eval, args))
            del refined
        del index
    if n <= args.duckdb_max:
        nq = min(len(q_eval), args.duckdb_queries)
        rows.append(duckdb_bruteforce(x, q_eval[:nq], exact_eval, args.threads))
        log.info("%s", rows[-1])
    return rows


def table(rows: list[Row]) -> list[str]:
    out = ["| cases | method | tuned setting | build (s) | index size (MB) | RSS growth (MB) | recall@10 | "
           "p50 (ms) | p95 (ms) | p95 / flat p95 |",
           "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    base = {r.n: r.p95_ms for r in rows if r.method.startswith("faiss Flat")}
    for r in rows:
        rss = "-" if np.isnan(r.rss_mb) else f"{r.rss_mb:.0f}"
        out.append(f"| {r.n:,} | {r.method} | {r.setting} | {r.build_s:.1f} | {r.bytes / 1e6:.0f} | {rss} | "
                   f"{r.recall:.3f} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.p95_ms / base[r.n]:.3f} |")
    return out


def verdict(rows: list[Row]) -> list[str]:
    top = max(r.n for r in rows)
    ok = [r for r in rows if r.n == top and r.recall >= TARGET_RECALL and r.p95_ms < 10 and not r.method.startswith("faiss Flat")]
    flat = next(r for r in rows if r.n == top and r.method.startswith("faiss Flat"))
    lines = [f"Target at {top:,}: p95 < 10 ms with recall@10 >= {TARGET_RECALL}."]
    if ok:
        best = min(ok, key=lambda r: r.p95_ms)
        lines.append(f"Met by {', '.join(r.method for r in ok)}; fastest {best.method} ({best.setting}): p95 "
                     f"{best.p95_ms:.2f} ms, {flat.p95_ms / best.p95_ms:.0f}x faster than exact flat search "
                     f"(p95 {flat.p95_ms:.1f} ms), recall@10 {best.recall:.3f}.")
    else:
        lines.append("Not met by any index in this run.")
    return lines


def write_doc(path: Path, body: list[str]) -> None:
    """Replace the "Similar cases" section of ``path`` (other sections are kept), or append it."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = "\n".join([HEADING, ""] + body) + "\n"
    if HEADING in text:
        start = text.index(HEADING)
        nxt = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + ("" if nxt < 0 else text[nxt + 1:])
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--dim", type=int, default=nominal_dimension())
    ap.add_argument("--queries", type=int, default=300, help="evaluation queries for recall (and as many tuning queries)")
    ap.add_argument("--latency-queries", type=int, default=100, help="evaluation queries timed one at a time")
    ap.add_argument("--duckdb-max", type=int, default=1_000_000, help="largest size also run through DuckDB")
    ap.add_argument("--duckdb-queries", type=int, default=20)
    ap.add_argument("--hnsw-max", type=int, default=1_000_000)
    ap.add_argument("--hnsw-m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="OpenMP threads for building and DuckDB")
    ap.add_argument("--query-threads", type=int, default=1,
                    help="OpenMP threads per query (1: a page issues single queries; more threads only add "
                         "synchronisation, and spin badly on a loaded machine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-doc", default="", help="append the results to this markdown file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    faiss.omp_set_num_threads(args.threads)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    rows: list[Row] = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        rows += run_size(n, args.dim, args.queries, args)
    total = time.perf_counter() - t0
    cmd = "python bench/bench_similar.py " + " ".join(sys.argv[1:])
    body = [f"Measured {date.today().isoformat()} on {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
            f"faiss {faiss.__version__}, DuckDB {duckdb.__version__}, {args.threads} build threads, "
            f"{args.query_threads} query thread(s); load average at start {load0:.1f} "
            f"(other jobs on the machine); total run {total:.0f} s.",
            "", f"Command: `{cmd.strip()}`", "",
            f"d = {args.dim} (fused case vector), k = {K}, recall over {args.queries} evaluation queries, latency over "
            f"{args.latency_queries} of them one at a time "
            f"(DuckDB: {args.duckdb_queries}), search settings tuned on a separate {args.queries}-query set for "
            f"recall@10 >= {TARGET_RECALL + TUNE_MARGIN:.2f}. Vectors: clustered mixture (1 cluster per 1,000 cases), L2-normalised. "
            "Recall is against exact flat search in the same run; 'p95 / flat p95' is the latency ratio to it. "
            "Index size = serialised faiss index (DuckDB: its buffer-manager memory holding the table); RSS growth = resident memory "
            "added while building.", ""] + table(rows) + [""] + verdict(rows)
    print("\n".join(body))
    if args.write_doc:
        write_doc(ROOT / args.write_doc if not Path(args.write_doc).is_absolute() else Path(args.write_doc), body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
