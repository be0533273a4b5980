"""The persisted case index: faiss index of historical cases + case table + 2-D map, per store version.

Files live beside the evidence store, in ``<store_dir>/similar/``::

    <kind>-<recipe>-<store>.faiss         faiss index over the historical cases (row i = i-th indexed case)
    <kind>-<recipe>-<store>.cases.parquet one row per patient with a vector: cohort, index row, map x/y,
                                          profile (why-similar attributes) and outcomes; no PHI
    <kind>-<recipe>-<store>.vectors.npy   every patient's case vector (queries for current cases)
    <kind>-<recipe>-<store>.json          meta: recipe / encoder / store versions, index params, map method

``recipe`` hashes the representation recipe and the image-encoder version
(``representation.recipe_version``); ``store`` names the evidence-store version. Either
changing means a new file name, so a stale index is never read: it is rebuilt on first
use (or by ``python -m core build-index`` / the build-demo hook). Older files of the same
kind are removed after a build. An in-memory store has no version and is never persisted.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import faiss
import numpy as np
import polars as pl

from core.models import features as fx
from core.models.projection import encoder_versions
from core.similar.index import (IndexMethod, IndexParams, auto_params, build_index, search, set_search_params,
                                tune_search)
from core.similar.outcomes import OUTCOME_SCHEMA, case_outcomes
from core.similar.profile import PROFILE_SCHEMA, case_profiles
from core.similar.representation import CaseKind, CaseVectors, case_vectors, recipe_version
from core.similar import umap_worker

logger = logging.getLogger(__name__)

# Bump when the case table (profile or outcome definitions, map) changes: persisted indexes are rebuilt.
CASE_TABLE_VERSION = "1"
MAP_MIN_UMAP = 15          # fewer points: PCA (UMAP needs a neighbourhood)
MAP_MAX_UMAP = 50_000      # more points: PCA (UMAP would take minutes at build time)
UMAP_NEIGHBOURS = 15
SEED = 42


CASE_COLUMNS: tuple[str, ...] = ("patient_id", "cohort", "index_row", "map_x", "map_y", *PROFILE_SCHEMA,
                                 *OUTCOME_SCHEMA)


@dataclass(frozen=True)
class IndexMeta:
    kind: str
    recipe_version: str
    encoder_version: str | None
    store_version: str | None
    index_label: str
    index_params: dict
    dim: int
    n_cases: int
    n_indexed: int
    map_method: str
    built_at: str
    recall_at_10: float = 1.0   # of the approximate index against exact search, measured at build time


@dataclass
class CaseIndex:
    """A loaded case index. ``cases`` rows align with ``vectors``; ``index_row`` >= 0 for indexed (historical) cases."""

    meta: IndexMeta
    index: faiss.Index
    cases: pl.DataFrame
    vectors: np.ndarray

    def __post_init__(self) -> None:
        self._pos = {pid: i for i, pid in enumerate(self.cases["patient_id"].to_list())}
        rows = self.cases["index_row"].to_numpy()
        self.indexed_pos = np.argsort(np.where(rows >= 0, rows, np.iinfo(np.int64).max))[: int((rows >= 0).sum())]

    def position(self, patient_id: str) -> int | None:
        """Row of ``patient_id`` in ``cases`` / ``vectors``, or None when it has no case vector."""
        return self._pos.get(patient_id)


# ---- versions and paths ------------------------------------------------------------------------

def store_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The DuckDB file behind ``con`` (None for an in-memory database)."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    path = rows[0][0] if rows else None
    return Path(path) if path and path != ":memory:" else None


def _stem(store: Path | None) -> str:
    return "memory" if store is None else store.name.removesuffix(".duckdb")


def index_dir(con: duckdb.DuckDBPyConnection, cache_dir: Path | None = None) -> Path | None:
    if cache_dir is not None:
        return cache_dir
    store = store_file(con)
    return None if store is None else store.parent / "similar"


def current_encoder_version(con: duckdb.DuckDBPyConnection) -> str | None:
    v = encoder_versions(con)
    return v[0] if v else None


def index_recipe(kind: CaseKind | str, encoder_version: str | None) -> str:
    """Version of everything in an index besides the store: vector recipe, encoder, case-table definitions."""
    return recipe_version(kind, encoder_version, extra=f"cases-{CASE_TABLE_VERSION}")


def base_name(kind: CaseKind | str, recipe: str, store: Path | None) -> str:
    return f"{CaseKind(kind)}-{recipe}-{_stem(store)}"


# ---- build ------------------------------------------------------------------------------------

def map_coordinates(vectors: np.ndarray, seed: int = SEED) -> tuple[np.ndarray, str]:
    """2-D coordinates of the case vectors and the method used ('UMAP' or 'PCA').

    UMAP (cosine geometry; the vectors are unit length, so Euclidean is equivalent) for
    ``MAP_MIN_UMAP``..``MAP_MAX_UMAP`` points, PCA otherwise.
    """
    n = vectors.shape[0]
    if n == 0:
        return np.zeros((0, 2)), "none"
    if not uses_umap(n):
        xc = vectors - vectors.mean(axis=0)
        if n < 2:
            return np.zeros((n, 2)), "PCA"
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        xy = xc @ vt[:2].T
        if xy.shape[1] < 2:
            xy = np.hstack([xy, np.zeros((n, 2 - xy.shape[1]))])
        return xy, "PCA"
    return umap_worker.fit(vectors, umap_params(n, seed)), "UMAP"


def umap_params(n_cases: int, seed: int = SEED) -> dict:
    """The cohort map's UMAP settings for ``n_cases`` points."""
    return {"n_neighbors": min(UMAP_NEIGHBOURS, n_cases - 1), "min_dist": 0.15, "n_components": 2,
            "metric": "euclidean", "random_state": seed, "init": "spectral" if n_cases > 50 else "random"}


def uses_umap(n_cases: int) -> bool:
    return MAP_MIN_UMAP <= n_cases <= MAP_MAX_UMAP


def build_case_index(con: duckdb.DuckDBPyConnection, kind: CaseKind | str = CaseKind.FUSED, *,
                     features: pl.DataFrame | None = None, params: IndexParams | None = None,
                     outcomes: pl.DataFrame | None = None) -> CaseIndex:
    """Build (not persist) the case index of ``kind`` from the store behind ``con``.

    Args:
        features: a precomputed ``patient_features(con)`` frame (shared between kinds).
        params: faiss index settings; None = exact search up to ``EXACT_MAX_CASES`` historical cases.
        outcomes: a precomputed ``case_outcomes(con)`` frame.
    """
    kind = CaseKind(kind)
    feats = features if features is not None else fx.patient_features(con)
    cv: CaseVectors = case_vectors(con, kind, features=feats)
    cohort = cv.features.get_column("cohort").to_list() if cv.features.height else []
    hist = np.array([c == "historical" for c in cohort], dtype=bool)
    index_row = np.full(len(cv.patient_ids), -1, dtype=np.int64)
    index_row[hist] = np.arange(int(hist.sum()))
    dim = cv.dim if cv.dim else 1
    matrix = cv.matrix if cv.dim else np.zeros((len(cv.patient_ids), 1), np.float32)
    hist_vectors = matrix[hist]
    params = params or auto_params(len(hist_vectors), dim)
    recall = 1.0
    if len(hist_vectors):
        index, params = build_index(hist_vectors, params, seed=SEED)
        if params.method != IndexMethod.FLAT:
            params, recall = _tune(index, params, hist_vectors)
    else:
        index = faiss.IndexFlatIP(dim)
    xy, method = map_coordinates(matrix)
    prof = case_profiles(con, cv.features.select([c for c in cv.features.columns if not c.startswith("emb_")]))
    outs = outcomes if outcomes is not None else case_outcomes(con)
    cases = (pl.DataFrame({"patient_id": cv.patient_ids, "cohort": cohort, "index_row": index_row,
                           "map_x": xy[:, 0] if len(xy) else [], "map_y": xy[:, 1] if len(xy) else []},
                          schema={"patient_id": pl.Utf8, "cohort": pl.Utf8, "index_row": pl.Int64,
                                  "map_x": pl.Float64, "map_y": pl.Float64})
             .join(prof, on="patient_id", how="left", maintain_order="left")   # rows stay aligned with the vectors
             .join(outs, on="patient_id", how="left", maintain_order="left"))
    store = store_file(con)
    meta = IndexMeta(kind=str(kind), recipe_version=index_recipe(kind, cv.encoder_version),
                     encoder_version=cv.encoder_version, store_version=None if store is None else store.name,
                     index_label=params.label(), index_params=_params_json(params), dim=dim,
                     n_cases=len(cv.patient_ids), n_indexed=int(hist.sum()), map_method=method,
                     built_at=datetime.now().isoformat(timespec="seconds"), recall_at_10=round(recall, 4))
    logger.info("case index %s: %d cases (%d historical indexed), d=%d, %s, map %s", kind, meta.n_cases,
                meta.n_indexed, dim, meta.index_label, method)
    return CaseIndex(meta, index, cases, np.ascontiguousarray(matrix, dtype=np.float32))


TUNE_QUERIES = 200
TUNE_TARGET = 0.96


def _tune(index: faiss.Index, params: IndexParams, vectors: np.ndarray) -> tuple[IndexParams, float]:
    """Tune an approximate index's search setting on indexed cases used as queries; (params, recall@10)."""
    rng = np.random.default_rng(SEED)
    rows = rng.choice(len(vectors), min(TUNE_QUERIES, len(vectors)), replace=False)
    flat, _ = build_index(vectors, IndexParams(IndexMethod.FLAT))
    _, exact = search(flat, vectors[rows], 10)
    tuned = tune_search(index, params, vectors[rows], exact, 10, TUNE_TARGET)
    logger.info("approximate case index %s: recall@10 %.3f against exact search", tuned.params.label(), tuned.recall)
    return tuned.params, tuned.recall


def _params_json(p: IndexParams) -> dict:
    d = asdict(p)
    d["method"] = str(p.method)
    return d


# ---- persist / load ---------------------------------------------------------------------------

def save_case_index(ci: CaseIndex, directory: Path, name: str) -> None:
    """Write the four files atomically (meta last, so a reader never sees a half-written index)."""
    directory.mkdir(parents=True, exist_ok=True)
    tag = f".tmp-{os.getpid()}-{threading.get_ident()}"

    def put(suffix: str, write) -> None:  # noqa: ANN001 - writer callback
        final = directory / f"{name}{suffix}"
        tmp = directory / f"{name}{suffix}{tag}"
        write(tmp)
        os.replace(tmp, final)

    put(".faiss", lambda p: faiss.write_index(ci.index, str(p)))
    put(".cases.parquet", lambda p: ci.cases.write_parquet(p))
    put(".vectors.npy", lambda p: np.save(open(p, "wb"), ci.vectors))
    put(".json", lambda p: p.write_text(json.dumps(asdict(ci.meta), indent=1)))


def load_case_index(directory: Path, name: str) -> CaseIndex | None:
    """The index saved under ``name``, or None if incomplete or unreadable."""
    meta_path = directory / f"{name}.json"
    if not meta_path.exists():
        return None
    try:
        meta = IndexMeta(**json.loads(meta_path.read_text()))
        index = faiss.read_index(str(directory / f"{name}.faiss"))
        set_search_params(index, IndexParams(**meta.index_params))
        cases = pl.read_parquet(directory / f"{name}.cases.parquet")
        vectors = np.load(directory / f"{name}.vectors.npy")
        missing = set(CASE_COLUMNS) - set(cases.columns)
        if missing or len(cases) != len(vectors) or index.ntotal != meta.n_indexed:
            raise ValueError(f"inconsistent files (missing columns {sorted(missing)})")
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:
        logger.warning("case index %s unreadable (%s): rebuilding", name, type(e).__name__)
        return None
    return CaseIndex(meta, index, cases, vectors)


def _prune(directory: Path, kind: str, keep: str, store: Path | None) -> None:
    """Remove index files of ``kind`` built with another recipe for this store version, or for store
    versions that no longer exist (an app still on an older, existing version keeps its index)."""
    stem = _stem(store)
    for p in directory.glob(f"{kind}-*"):
        if p.name.startswith(keep + ".") or ".tmp-" in p.name:
            continue
        parts = p.name.split(".", 1)[0].split("-", 2)  # kind, recipe, store stem
        other_store = parts[2] if len(parts) == 3 else ""
        stale = other_store == stem or store is None or not (store.parent / f"{other_store}.duckdb").exists()
        if stale:
            try:
                p.unlink()
            except OSError as e:
                logger.warning("could not remove old case index file %s: %s", p.name, e)


_MEMO: dict[tuple, CaseIndex] = {}
_LOCK = threading.Lock()


def case_index(con: duckdb.DuckDBPyConnection, kind: CaseKind | str = CaseKind.FUSED, *,
               cache_dir: Path | None = None, rebuild: bool = False,
               features: pl.DataFrame | None = None) -> CaseIndex:
    """The case index for the store behind ``con``: from memory, from disk, or built now.

    Args:
        kind: ``fused`` or ``imaging``.
        cache_dir: folder for the index files (default ``<store_dir>/similar``).
        rebuild: build even if a matching index exists.
        features: precomputed ``patient_features(con)`` (used only when building).

    The index is rebuilt when the store version, the image-encoder version or the
    representation recipe changed since it was built.
    """
    kind = CaseKind(kind)
    store = store_file(con)
    recipe = index_recipe(kind, current_encoder_version(con))
    directory = index_dir(con, cache_dir)
    name = base_name(kind, recipe, store)
    key = (str(directory), name)
    with _LOCK:
        if not rebuild and key in _MEMO and store is not None:
            return _MEMO[key]
        ci = None if (rebuild or directory is None or store is None) else load_case_index(directory, name)
        if ci is None:
            ci = build_case_index(con, kind, features=features)
            if directory is not None and store is not None:
                try:
                    save_case_index(ci, directory, name)
                    _prune(directory, str(kind), name, store)
                except OSError as e:  # read-only store folder: keep it in memory only
                    logger.warning("could not persist the case index in %s: %s", directory, e)
        if store is not None:
            # one index per folder and kind in memory: drop the ones of older store versions
            for old in [k for k in _MEMO if k[0] == key[0] and k[1].startswith(f"{kind}-") and k != key]:
                del _MEMO[old]
            _MEMO[key] = ci
        return ci


def clear_memo() -> None:
    """Forget indexes held in memory (tests; after deleting files)."""
    with _LOCK:
        _MEMO.clear()
