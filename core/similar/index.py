"""faiss indexes over L2-normalised case vectors: exact (flat) and approximate (IVF, HNSW, IVF-PQ).

Cosine similarity is the inner product of L2-normalised vectors, so every index uses
``METRIC_INNER_PRODUCT`` and scores are cosines in [-1, 1] (IVF-PQ scores are
approximations unless re-ranked). Small cohorts use exact search; large ones an
approximate index whose search parameter (``nprobe`` / ``efSearch``) is tuned against
exact search for a recall target (``tune_search``). Pure functions on arrays: no store.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from enum import StrEnum

import faiss
import numpy as np

logger = logging.getLogger(__name__)

# Below this many cases exact search is both fast (< 5 ms) and exact; above, HNSW.
EXACT_MAX_CASES = 50_000


class IndexMethod(StrEnum):
    FLAT = "flat"        # exact inner product
    IVF = "ivf"          # inverted file, flat lists (exact within the probed lists)
    HNSW = "hnsw"        # graph
    IVFPQ = "ivfpq"      # inverted file with product-quantised codes, optionally re-ranked exactly


@dataclass(frozen=True)
class IndexParams:
    """How to build and search an index. ``nprobe`` / ``ef_search`` are search-time settings."""

    method: IndexMethod = IndexMethod.FLAT
    nlist: int = 0              # IVF lists; 0 = about 4 * sqrt(n)
    nprobe: int = 16
    hnsw_m: int = 32
    ef_construction: int = 64
    ef_search: int = 64
    pq_m: int = 0               # PQ sub-quantisers; 0 = one per 8 dimensions (d padded to a multiple of 8)
    pq_bits: int = 8
    train_size: int = 0         # IVF k-means sample; 0 = 64 points per list (at least 20k, at most n)
    refine: bool = True         # IVF-PQ: re-rank candidates with the exact vectors
    refine_factor: int = 4      # candidates re-ranked = k * refine_factor

    def __post_init__(self) -> None:
        if self.pq_bits not in (4, 6, 8, 10, 12):
            raise ValueError(f"pq_bits must be one of 4, 6, 8, 10, 12, got {self.pq_bits}")
        if self.nprobe < 1 or self.ef_search < 1 or self.hnsw_m < 4:
            raise ValueError("nprobe and ef_search must be >= 1 and hnsw_m >= 4")

    def label(self) -> str:
        if self.method == IndexMethod.IVF:
            return f"IVF{self.nlist},Flat nprobe={self.nprobe}"
        if self.method == IndexMethod.HNSW:
            return f"HNSW{self.hnsw_m} efSearch={self.ef_search}"
        if self.method == IndexMethod.IVFPQ:
            return f"IVF{self.nlist},PQ{self.pq_m}x{self.pq_bits}{'+refine' if self.refine else ''} nprobe={self.nprobe}"
        return "Flat (exact)"


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm as contiguous float32 (zero rows stay zero)."""
    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D matrix (n x d), got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def auto_params(n: int, d: int) -> IndexParams:
    """Exact search for small cohorts, HNSW above ``EXACT_MAX_CASES`` (see docs/BENCHMARKS.md)."""
    if n <= EXACT_MAX_CASES:
        return IndexParams(IndexMethod.FLAT)
    return IndexParams(IndexMethod.HNSW, hnsw_m=32, ef_construction=64, ef_search=64)


def _default_nlist(n: int) -> int:
    """About sqrt(n) lists (~1,000 vectors per list at 1M), at least 39 training points per list."""
    return int(max(1, min(n // 39, round(np.sqrt(n)))))


PQ_PAD = 8


def pad_to(x: np.ndarray, d: int) -> np.ndarray:
    """Zero-pad rows to width ``d`` (inner products are unchanged)."""
    if x.shape[1] >= d:
        return x
    return np.ascontiguousarray(np.hstack([x, np.zeros((x.shape[0], d - x.shape[1]), dtype=x.dtype)]))


def build_index(vectors: np.ndarray, params: IndexParams | None = None, *, seed: int = 0) -> tuple[faiss.Index, IndexParams]:
    """Build an inner-product index over ``vectors`` (normalised here).

    Args:
        vectors: n x d matrix; rows are L2-normalised before indexing.
        params: index kind and settings; None chooses with ``auto_params``.
        seed: k-means seed for IVF training.

    Returns:
        (index with every row added in order, the params actually used, nlist/pq_m filled in).
    """
    x = normalise(vectors)
    n, d = x.shape
    params = params or auto_params(n, d)
    if params.method == IndexMethod.FLAT:
        index: faiss.Index = faiss.IndexFlatIP(d)
    elif params.method == IndexMethod.HNSW:
        index = faiss.IndexHNSWFlat(d, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
    elif params.method in (IndexMethod.IVF, IndexMethod.IVFPQ):
        nlist = params.nlist or _default_nlist(n)
        if n < nlist:
            raise ValueError(f"IVF needs at least nlist={nlist} vectors to train, got {n}")
        quantizer = faiss.IndexFlatIP(d)
        if params.method == IndexMethod.IVF:
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            params = replace(params, nlist=nlist)
        else:
            # faiss k-means is 10-50x slower on sub-vectors under 8 dimensions (no BLAS path): pad d to
            # a multiple of 8 and use 8 dimensions per sub-quantiser unless told otherwise.
            d = -(-d // PQ_PAD) * PQ_PAD
            x = pad_to(x, d)
            quantizer = faiss.IndexFlatIP(d)
            pq_m = params.pq_m or d // PQ_PAD
            if d % pq_m:
                raise ValueError(f"pq_m={pq_m} must divide the padded dimension d={d}")
            index = faiss.IndexIVFPQ(quantizer, d, nlist, pq_m, params.pq_bits, faiss.METRIC_INNER_PRODUCT)
            params = replace(params, nlist=nlist, pq_m=pq_m)
        index.cp.seed = seed
        index.cp.max_points_per_centroid = 64
        n_train = min(n, params.train_size or max(64 * nlist, 20_000))
        sample = x if n_train >= n else x[np.random.default_rng(seed).choice(n, n_train, replace=False)]
        index.train(sample)  # the Python wrapper keeps the quantiser alive with the index
        if params.method == IndexMethod.IVFPQ and params.refine:
            index = faiss.IndexRefineFlat(index)
    else:  # pragma: no cover - enum is closed
        raise ValueError(f"unknown index method {params.method!r}")
    index.add(x)
    set_search_params(index, params)
    return index, params


def add_refinement(index: faiss.Index, vectors: np.ndarray, params: IndexParams) -> tuple[faiss.Index, IndexParams]:
    """Wrap a built IVF-PQ index with exact re-ranking over ``vectors`` (the rows it holds, in order)."""
    x = pad_to(normalise(vectors), index.d)
    refined = faiss.IndexRefineFlat(index, faiss.swig_ptr(x))
    params = replace(params, refine=True)
    set_search_params(refined, params)
    return refined, params


def set_search_params(index: faiss.Index, params: IndexParams) -> None:
    """Apply nprobe / efSearch / refine factor to a built or loaded index."""
    index = faiss.downcast_index(index)
    base = index
    if isinstance(index, faiss.IndexRefine):
        index.k_factor = float(params.refine_factor)
        base = faiss.downcast_index(index.base_index)
    if isinstance(base, faiss.IndexHNSW):
        base.hnsw.efSearch = params.ef_search
    ivf = faiss.try_extract_index_ivf(base)
    if ivf is not None:
        ivf.nprobe = params.nprobe


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, row numbers) per query; row -1 with score -inf where fewer than k exist."""
    q = pad_to(normalise(np.atleast_2d(queries)), index.d)
    k = max(1, min(int(k), index.ntotal)) if index.ntotal else 1
    scores, rows = index.search(q, k)
    scores = np.where(rows < 0, -np.inf, scores)
    return scores, rows


def recall_at_k(approx: np.ndarray, exact: np.ndarray, k: int) -> float:
    """Mean fraction of the exact top-k found in the approximate top-k (rows of ids per query)."""
    hits = 0
    for a, e in zip(approx[:, :k], exact[:, :k]):
        hits += len(set(a[a >= 0].tolist()) & set(e[e >= 0].tolist()))
    return hits / float(exact[:, :k].shape[0] * k)


@dataclass(frozen=True)
class TuneResult:
    params: IndexParams
    recall: float
    sweep: tuple[tuple[str, float], ...]   # (setting, recall) tried in order


def _tuning_grid(params: IndexParams) -> list[tuple[str, IndexParams]]:
    """Search settings in increasing cost order, with a label of what changed."""
    if params.method == IndexMethod.HNSW:
        return [(f"efSearch={e}", replace(params, ef_search=e)) for e in (16, 32, 64, 128, 256, 512)]
    probes = [p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256) if p <= max(params.nlist, 1)]
    grid = [(f"nprobe={p}", replace(params, nprobe=p)) for p in probes]
    if params.method == IndexMethod.IVFPQ and params.refine:
        # PQ codes cap recall: once nprobe stops helping, re-rank more candidates.
        grid += [(f"nprobe={probes[-1]},k_factor={f}", replace(params, nprobe=probes[-1], refine_factor=f))
                 for f in (8, 16, 32)]
    return grid


def tune_search(index: faiss.Index, params: IndexParams, queries: np.ndarray, exact_rows: np.ndarray, k: int = 10,
                target: float = 0.95) -> TuneResult:
    """Cheapest search setting (nprobe, efSearch, IVF-PQ re-rank factor) reaching ``target`` recall@k.

    Settings are tried in increasing cost; a setting is skipped once a cheaper one of the
    same kind has plateaued (IVF-PQ then tries larger re-rank factors). The last setting
    tried is kept if the target is never reached. Flat indexes: unchanged, recall 1.
    """
    if params.method == IndexMethod.FLAT:
        return TuneResult(params, 1.0, ())
    sweep: list[tuple[str, float]] = []
    best, best_r = params, -1.0
    grid = _tuning_grid(params)
    i = 0
    while i < len(grid):
        name, trial = grid[i]
        set_search_params(index, trial)
        _, rows = search(index, queries, k)
        r = recall_at_k(rows, exact_rows, k)
        sweep.append((name, r))
        best, best_r = trial, r
        if r >= target:
            break
        # nprobe plateau on IVF-PQ: jump to the re-rank settings
        if (params.method == IndexMethod.IVFPQ and len(sweep) >= 3 and "k_factor" not in name
                and r - sweep[-3][1] < 0.002):
            i = next((j for j, (nm, _) in enumerate(grid) if "k_factor" in nm), len(grid))
            if i < len(grid):
                grid[i:] = [(nm.replace(f"nprobe={grid[i][1].nprobe}", f"nprobe={trial.nprobe}"),
                             replace(p, nprobe=trial.nprobe)) for nm, p in grid[i:]]
            continue
        i += 1
    set_search_params(index, best)
    return TuneResult(best, best_r, tuple(sweep))


def query_latencies_ms(index: faiss.Index, queries: np.ndarray, k: int = 10, warmup: int = 5) -> np.ndarray:
    """Wall time of one-at-a-time top-k queries (ms each), as a board page issues them."""
    q = pad_to(normalise(queries), index.d)
    for i in range(min(warmup, len(q))):
        index.search(q[i:i + 1], k)
    out = np.empty(len(q))
    for i in range(len(q)):
        t = time.perf_counter()
        index.search(q[i:i + 1], k)
        out[i] = (time.perf_counter() - t) * 1000.0
    return out


def index_bytes(index: faiss.Index) -> int:
    """Size of the serialised index (what is written to disk and held in memory, roughly)."""
    return int(faiss.serialize_index(index).nbytes)
