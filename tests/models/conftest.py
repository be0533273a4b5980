"""Fixtures for model tests: one small hand-made store and one model trained on it, per session."""
from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_store import SyntheticTruth, build_store

from core.store import db


@pytest.fixture(scope="session")
def syn(tmp_path_factory) -> tuple[Path, SyntheticTruth]:
    """(store root, planted truth) of a 320-patient synthetic store."""
    root = tmp_path_factory.mktemp("models") / "store"
    truth = build_store(root, n=320, seed=3)
    return root, truth


@pytest.fixture(scope="session")
def syn_con(syn):
    con = db.connect_readonly(syn[0])
    yield con
    con.close()


@pytest.fixture(scope="session")
def cohort(syn_con):
    from core.models.train import labelled_cohort

    return labelled_cohort(syn_con)


@pytest.fixture(scope="session")
def split(cohort):
    """A fixed 70/30 train / held-out split of the labelled cohort."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    y = cohort.y
    tr, te = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=0)
    return sorted(tr.tolist()), sorted(te.tolist())


@pytest.fixture(scope="session")
def model(cohort, split):
    """Late-fusion model fit on the training part of the split."""
    from core.models.fusion_fit import fit_late_fusion

    tr, _ = split
    return fit_late_fusion(cohort.features[tr], cohort.y[tr], seed=0, n_members=6, projection=cohort.projection)
