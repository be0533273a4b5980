"""Grad-CAM of the lesion head: the pointing game on fresh synthetic lesions, and the overlay figure."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from lesion_cases import lesion_cases

from core.imaging.encoder import COMMITTED_MODELS_DIR, load_encoder
from core.imaging.figures import overlay_figure
from core.imaging.gradcam import gradcam, heatmap_peak

MARGIN_PX = 4.0  # half a detector cell (about 1 cm): "within the lesion radius + a small margin"
N_CASES = 30


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(2)
    return load_encoder(COMMITTED_MODELS_DIR / "encoder-v1.pt")[0]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    # own seed and MRNs: none of these studies was in the training set
    return lesion_cases(tmp_path_factory.mktemp("pointing"), N_CASES, seed=4711)


def test_pointing_game(model, cases, record_property):
    """The heatmap peak falls inside the known lesion (equivalent radius + MARGIN_PX) for >= 80% of cases."""
    hits, misses = [], []
    for c in cases:
        hu, heat = gradcam(c.hu, model=model)
        r, col = heatmap_peak(heat)
        dist = math.hypot(r - c.centre_rc[0], col - c.centre_rc[1])
        ok = dist <= c.radius_px + MARGIN_PX
        hits.append(ok)
        if not ok:
            misses.append(f"{c.body_part} {c.lesion.size_mm:.0f} mm {c.lesion.margin}: peak {dist:.0f} px away")
    rate = float(np.mean(hits))
    record_property("pointing_game_hit_rate", rate)
    print(f"pointing game: {sum(hits)}/{len(hits)} = {rate:.0%}; misses: {misses}")
    assert len(hits) == N_CASES
    assert rate >= 0.8, misses


def test_heatmap_shape_range_and_path_input(model, cases):
    c = cases[0]
    hu, heat = gradcam(c.path, model=model)
    np.testing.assert_array_equal(hu, c.hu)
    assert heat.shape == hu.shape and heat.dtype == np.float32
    assert heat.min() >= 0.0 and math.isclose(float(heat.max()), 1.0, rel_tol=1e-5)
    _, from_array = gradcam(c.hu, model=model)
    np.testing.assert_allclose(heat, from_array, atol=1e-6)


def test_heatmap_follows_the_lesion_when_mirrored(model, cases):
    c = next(c for c in cases if c.body_part == "chest")
    _, heat = gradcam(c.hu, model=model)
    _, mirrored = gradcam(c.hu[:, ::-1].copy(), model=model)
    r, col = heatmap_peak(heat)
    r2, col2 = heatmap_peak(mirrored)
    assert abs(r - r2) <= 4 and abs((127 - col) - col2) <= 4


def test_gradcam_resamples_other_slice_sizes(model, cases):
    hu = cases[1].hu[::2, ::2].copy()  # a 64x64 slice
    _, heat = gradcam(hu, model=model)
    assert heat.shape == (64, 64)
    with pytest.raises(ValueError, match="2-D"):
        gradcam(np.zeros((2, 4, 4), dtype=np.float32), model=model)


def test_overlay_figure(model, cases):
    c = cases[2]
    hu, heat = gradcam(c.hu, model=model)
    fig = overlay_figure(hu, heat, "lung", lesion_centre=c.centre_rc, title="Grad-CAM")
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data][1:] == ["Grad-CAM", "model focus", "annotated lesion"]
    assert fig.layout.yaxis.autorange == "reversed"  # row 0 on top, as radiologists read
    assert len(overlay_figure(hu, heat, (40.0, 400.0)).data) == 3
    with pytest.raises(ValueError, match="shape"):
        overlay_figure(hu, heat[:10], "lung")
