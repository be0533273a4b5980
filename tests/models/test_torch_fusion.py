"""Intermediate and attention fusion (torch) on the synthetic store, and the fusion comparison report."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.models import metrics as M
from core.models.features import MODALITIES, presence_column
from core.models.torch_fusion import fit_torch_fusion, masked_softmax, model_from_dict, model_to_dict


@pytest.fixture(scope="module")
def attention_model(cohort, split):
    tr, _ = split
    return fit_torch_fusion(cohort.features[tr], cohort.y[tr], attention=True, seed=0)


@pytest.fixture(scope="module")
def intermediate_model(cohort, split):
    tr, _ = split
    return fit_torch_fusion(cohort.features[tr], cohort.y[tr], attention=False, seed=0)


def test_masked_softmax_gives_missing_modalities_zero():
    import torch

    scores = torch.tensor([[5.0, 1.0, -2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    mask = torch.tensor([[False, True, True, False], [True, True, True, True], [False] * 4])
    w = masked_softmax(scores, mask)
    assert torch.allclose(w[:2].sum(dim=1), torch.ones(2)) and w[0, 0] == 0 and w[0, 3] == 0
    assert torch.equal(w[2], torch.zeros(4))  # nothing present: no weight anywhere, no NaN


@pytest.mark.parametrize("drop", [frozenset(), frozenset({"imaging"}), frozenset({"genomics", "notes"})])
def test_attention_weights_sum_to_one_over_present_modalities(attention_model, cohort, split, drop):
    _, te = split
    x = cohort.features[te]
    w = attention_model.attention_weights(x, drop=drop)
    assert w.columns == ["patient_id", *MODALITIES] and w["patient_id"].to_list() == x["patient_id"].to_list()
    present = np.column_stack([x[presence_column(m)].to_numpy().astype(bool) & (m not in drop) for m in MODALITIES])
    weights = w.select(MODALITIES).to_numpy()
    assert not present.all(), "the held-out patients should include some with a missing modality"
    assert np.all(weights[~present] == 0.0)
    assert np.allclose(weights.sum(axis=1)[present.any(axis=1)], 1.0, atol=1e-5)
    assert np.all(weights[present] > 0)


def test_predictions_are_deterministic_by_seed(cohort, split, intermediate_model):
    tr, te = split
    x = cohort.features[te]
    again = fit_torch_fusion(cohort.features[tr], cohort.y[tr], attention=False, seed=0)
    assert np.array_equal(again.predict_proba(x), intermediate_model.predict_proba(x))
    other = fit_torch_fusion(cohort.features[tr], cohort.y[tr], attention=False, seed=1, epochs=20)
    assert not np.array_equal(other.predict_proba(x), intermediate_model.predict_proba(x))


def test_intermediate_fusion_finds_a_planted_modality(cohort, split):
    """Labels planted on imaging alone (lesion size): the imaging representation must carry them."""
    tr, te = split
    x = cohort.features
    has = x[presence_column("imaging")].to_numpy().astype(bool)
    log_size = np.log(x["img_max_long_axis_mm"].to_numpy())
    z = np.nan_to_num((log_size - np.nanmean(log_size)) / np.nanstd(log_size))
    y = (np.random.default_rng(0).random(len(z)) < np.where(has, 1 / (1 + np.exp(-3 * z)), 0.5)).astype(int)
    model = fit_torch_fusion(x[tr], y[tr], attention=False, seed=0)
    p = model.predict_proba(x[te])
    assert p.shape == (len(te),) and np.all((p > 0) & (p < 1))
    h, y_te = has[te], y[te]
    with_imaging = M.auroc(y_te[h], p[h])
    without = M.auroc(y_te[h], model.predict_proba(x[te], drop=frozenset({"imaging"}))[h])
    assert with_imaging > 0.72 and with_imaging - without > 0.12, (with_imaging, without)


def test_artifact_round_trip_gives_the_same_outputs(attention_model, cohort, split):
    _, te = split
    x = cohort.features[te]
    back = model_from_dict(json.loads(json.dumps(model_to_dict(attention_model))))
    assert np.array_equal(back.predict_proba(x), attention_model.predict_proba(x))
    assert back.attention_weights(x).equals(attention_model.attention_weights(x))
    with pytest.raises(ValueError, match="not a torch-fusion artifact"):
        model_from_dict({"format": "something else"})


def test_compare_fusion_report_has_every_strategy_with_ci_and_missing_modality_rows(cohort):
    from core.models.evaluate import STRATEGIES, build_report, cross_validate, render_markdown

    assert set(STRATEGIES) == {"late", "early", "intermediate", "attention"}
    cv = cross_validate(cohort, folds=2, seed=0, strategies=tuple(STRATEGIES), n_members=0, singles=False)
    report = build_report(cv, n_boot=100)
    rows = {r["key"]: r for r in report["robustness_missing_modality"]}
    assert list(rows) == ["late", "early", "intermediate", "attention"]
    for key, r in rows.items():
        assert r["auroc_low"] <= r["all"] <= r["auroc_high"] and 0 <= r["ece"] <= 1
        assert all(0 <= r[f"without {m}"] <= 1 for m in MODALITIES)
        assert ("delta_vs_late" in r) == (key != "late")
    md = render_markdown(report)
    section = md.split("## Fusion strategies compared")[1].split("\n## ")[0]
    assert "AUROC (95% CI)" in section and all(f"without {m}" in section for m in MODALITIES)
    for label, _ in STRATEGIES.values():
        line = next(ln for ln in section.splitlines() if ln.startswith(f"| {label} |"))
        assert line.count("|") == 3 + len(MODALITIES) + 2 and "(" in line
