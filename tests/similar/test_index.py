"""faiss index construction, search and recall (pure arrays, no store)."""
from __future__ import annotations

import faiss
import numpy as np
import pytest

from core.similar.index import (IndexMethod, IndexParams, add_refinement, auto_params, build_index, normalise,
                                recall_at_k, search, set_search_params, tune_search)


def clustered(n: int, d: int, seed: int, n_clusters: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d))
    return (centres[rng.integers(0, n_clusters, n)] + 0.35 * rng.normal(size=(n, d))).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(base 6000 x 41, tuning queries, evaluation queries, exact top-10 rows of the evaluation queries)."""
    x = clustered(6000, 41, seed=1)
    q = clustered(200, 41, seed=2)
    flat, _ = build_index(x, IndexParams(IndexMethod.FLAT))
    _, exact = search(flat, q[100:], 10)
    return x, q[:100], q[100:], exact


def test_flat_search_is_exact_cosine_best_first(data):
    x, _, q, exact = data
    xn, qn = normalise(x), normalise(q)
    brute = np.argsort(-(qn @ xn.T), axis=1)[:, :10]
    assert recall_at_k(exact, brute, 10) > 0.999
    flat, _ = build_index(x, IndexParams(IndexMethod.FLAT))
    scores, _ = search(flat, q, 10)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    assert np.all(scores <= 1.0 + 1e-5) and np.all(scores >= -1.0 - 1e-5)


@pytest.fixture(scope="module")
def small_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Like ``data`` but 3000 x 20: product quantisers train in seconds."""
    x = clustered(3000, 20, seed=4, n_clusters=30)
    q = clustered(200, 20, seed=5, n_clusters=30)
    flat, _ = build_index(x, IndexParams(IndexMethod.FLAT))
    _, exact = search(flat, q[100:], 10)
    return x, q[:100], q[100:], exact


@pytest.mark.parametrize("params", [IndexParams(IndexMethod.IVF), IndexParams(IndexMethod.HNSW, hnsw_m=16),
                                    IndexParams(IndexMethod.IVFPQ, refine=True, pq_bits=6)],
                         ids=lambda p: str(p.method))
def test_approximate_index_reaches_recall_after_tuning(data, small_data, params):
    x, q_tune, q_eval, exact_eval = small_data if params.method == IndexMethod.IVFPQ else data
    flat, _ = build_index(x)
    _, exact_tune = search(flat, q_tune, 10)
    index, params = build_index(x, params)
    tuned = tune_search(index, params, q_tune, exact_tune, 10, target=0.96)
    _, approx = search(index, q_eval, 10)
    assert tuned.recall >= 0.96, tuned.sweep
    assert recall_at_k(approx, exact_eval, 10) >= 0.93
    # untuned, minimal settings are worse: the tuning did something
    if params.method != IndexMethod.HNSW:
        set_search_params(index, IndexParams(params.method, nlist=params.nlist, nprobe=1, pq_m=params.pq_m,
                                             refine=params.refine, refine_factor=1))
        _, rough = search(index, q_eval, 10)
        assert recall_at_k(rough, exact_eval, 10) < recall_at_k(approx, exact_eval, 10)


def test_ivfpq_pads_odd_dimensions_and_refinement_recovers_recall(small_data):
    x, q_tune, q_eval, exact_eval = small_data  # d = 20: padded to 24 for 8-dim sub-quantisers
    flat, _ = build_index(x)
    _, exact_tune = search(flat, q_tune, 10)
    pq, params = build_index(x, IndexParams(IndexMethod.IVFPQ, refine=False, pq_bits=6))  # 6 bits: fast to train
    assert pq.d == 24 and params.pq_m == 3
    raw = tune_search(pq, params, q_tune, exact_tune, 10, target=0.96)
    refined, rparams = add_refinement(pq, x, raw.params)
    tuned = tune_search(refined, rparams, q_tune, exact_tune, 10, target=0.96)
    _, approx = search(refined, q_eval, 10)
    assert tuned.recall > raw.recall
    assert recall_at_k(approx, exact_eval, 10) >= 0.93


def test_index_survives_write_and_read(tmp_path, data):
    x, _, q, _ = data
    index, params = build_index(x, IndexParams(IndexMethod.IVF, nprobe=8))
    path = tmp_path / "ivf.faiss"
    faiss.write_index(index, str(path))
    loaded = faiss.read_index(str(path))
    set_search_params(loaded, params)
    a = search(index, q, 10)[1]
    b = search(loaded, q, 10)[1]
    assert np.array_equal(a, b)


def test_small_cohorts_use_exact_search_and_k_is_clamped():
    assert auto_params(5000, 80).method == IndexMethod.FLAT
    assert auto_params(2_000_000, 80).method == IndexMethod.HNSW
    x = clustered(7, 8, seed=3)
    index, _ = build_index(x)
    scores, rows = search(index, x[0], 50)
    assert rows.shape == (1, 7) and rows[0, 0] == 0 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 3, 4))])
def test_normalise_rejects_non_matrices(bad):
    with pytest.raises(ValueError, match="2-D matrix"):
        normalise(bad)


def test_invalid_params_are_refused_at_construction():
    with pytest.raises(ValueError, match="pq_bits"):
        IndexParams(IndexMethod.IVFPQ, pq_bits=7)
    with pytest.raises(ValueError, match="nprobe"):
        IndexParams(IndexMethod.IVF, nprobe=0)
