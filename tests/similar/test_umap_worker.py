"""The cohort map drawn in the warmed UMAP worker is the map drawn in-process, point for point."""
from __future__ import annotations

import numpy as np

from core.similar import case_index as cix
from core.similar import umap_worker


def test_worker_map_equals_in_process_map():
    vectors = np.random.default_rng(7).normal(size=(60, 12)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    umap_worker.start(cix.umap_params(len(vectors)))  # the worker compiles while this process does below
    try:
        here = umap_worker._fit(vectors, cix.umap_params(len(vectors)))  # in this process
        assert umap_worker.running()
        in_worker, method = cix.map_coordinates(vectors)  # through the (warm) worker
    finally:
        umap_worker.stop()
    assert not umap_worker.running() and method == "UMAP"
    assert in_worker.shape == (60, 2) and np.isfinite(in_worker).all()
    np.testing.assert_array_equal(in_worker, here)


def test_umap_only_inside_its_size_range():
    assert not cix.uses_umap(cix.MAP_MIN_UMAP - 1) and cix.uses_umap(cix.MAP_MIN_UMAP)
    assert cix.uses_umap(cix.MAP_MAX_UMAP) and not cix.uses_umap(cix.MAP_MAX_UMAP + 1)
