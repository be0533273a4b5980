"""The cohort map drawn in the warmed UMAP worker is the map drawn in-process, point for point."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from core.similar import case_index as cix
from core.similar import umap_worker

MAP_MAX_UMAP = cix.MAP_MAX_UMAP  # read at import: the hand-store tests set it to 0 for their session


@pytest.fixture
def umap_range(monkeypatch):
    monkeypatch.setattr(cix, "MAP_MAX_UMAP", MAP_MAX_UMAP)
    # a spawned worker re-runs the parent's __main__; AppTest leaves app.py there, which only runs in Streamlit
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


def test_worker_map_equals_in_process_map(umap_range):
    vectors = np.random.default_rng(7).normal(size=(60, 12)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    umap_worker.start(cix.umap_params(len(vectors)))  # the worker compiles while this process does below
    try:
        here = umap_worker._fit(vectors, cix.umap_params(len(vectors)))  # in this process
        assert umap_worker.running()
        done = umap_worker._pool.submit(int, 1).result(timeout=120)  # the worker is alive (not a fallback)
        in_worker, method = cix.map_coordinates(vectors)  # through the (warm) worker
    finally:
        umap_worker.stop()
    assert done == 1 and not umap_worker.running() and method == "UMAP"
    assert in_worker.shape == (60, 2) and np.isfinite(in_worker).all()
    np.testing.assert_array_equal(in_worker, here)


def test_umap_only_inside_its_size_range(umap_range):
    assert not cix.uses_umap(cix.MAP_MIN_UMAP - 1) and cix.uses_umap(cix.MAP_MIN_UMAP)
    assert cix.uses_umap(MAP_MAX_UMAP) and not cix.uses_umap(MAP_MAX_UMAP + 1)
