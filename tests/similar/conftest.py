"""Fixtures for similar-case tests: one hand-made store with designed subgroups per session."""
from __future__ import annotations

from pathlib import Path

import pytest
from similar_store import HandTruth, build_hand_store

from core.store import db


@pytest.fixture(scope="session")
def no_umap():
    """Draw cohort maps with PCA in the hand-store tests: UMAP's numba compile costs ~20 s per process."""
    import core.similar.case_index as cix

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cix, "MAP_MAX_UMAP", 0)
        yield


@pytest.fixture(scope="session")
def hand(tmp_path_factory, no_umap) -> tuple[Path, HandTruth]:
    """(store root, design truth) of a 120-patient hand-made store."""
    root = tmp_path_factory.mktemp("similar") / "store"
    truth = build_hand_store(root, n=120, seed=5)
    return root, truth


@pytest.fixture(scope="session")
def hand_con(hand):
    con = db.connect_readonly(hand[0])
    yield con
    con.close()


@pytest.fixture(scope="session")
def hand_index(hand_con):
    from core.similar.case_index import case_index

    return case_index(hand_con, "fused")
