"""UMAP in a worker process compiled ahead of use.

UMAP's functions are numba-compiled on first use in a process and not cached to disk: the
first cohort map of a process costs ~10 s of compilation (~20 s on a slow day) for a fit
that then takes 0.3 s. ``build-demo`` knows long before the index step that it will draw a
map, so it starts this worker first (``start``); the worker compiles UMAP on a small
random fit while the ingest runs, and the index step's fit (``fit``) then runs there.

Without a started worker, or if it fails, ``fit`` runs UMAP in the calling process: the
map is the same (UMAP is deterministic for a fixed ``random_state``); only where the
compilation time is spent changes.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import numpy as np

logger = logging.getLogger(__name__)

_pool: ProcessPoolExecutor | None = None


def _fit(vectors: np.ndarray, params: dict) -> np.ndarray:
    import umap  # slow import (numba)

    return np.asarray(umap.UMAP(**params).fit_transform(vectors), dtype=np.float64)


def _warm(params: dict) -> None:
    """A throw-away fit on random points that goes through the same compiled paths as a cohort map."""
    x = np.random.default_rng(0).normal(size=(60, 16))
    _fit(x, {**params, "n_neighbors": min(params["n_neighbors"], 15)})


def start(params: dict) -> None:
    """Start the worker and compile UMAP there, in the background (no-op if running)."""
    global _pool
    if _pool is not None:
        return
    _pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
    _pool.submit(_warm, params)  # a failure here shows in ``fit``, which then fits in-process


def stop() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)  # its CPU time counts in the build report
    _pool = None


@contextmanager
def compiled_ahead(params: dict | None) -> Iterator[None]:
    """A warmed worker for the duration of the block (none when ``params`` is None), stopped after it."""
    if params is not None:
        start(params)
    try:
        yield
    finally:
        stop()


def running() -> bool:
    return _pool is not None


def fit(vectors: np.ndarray, params: dict) -> np.ndarray:
    """UMAP coordinates of ``vectors``: in the warmed worker when one runs, else here."""
    if _pool is not None:
        try:
            return _pool.submit(_fit, np.ascontiguousarray(vectors), params).result()
        except Exception as e:  # noqa: BLE001 - a broken worker: draw the map here instead
            logger.warning("UMAP worker failed (%s); fitting in this process", type(e).__name__)
    return _fit(vectors, params)
