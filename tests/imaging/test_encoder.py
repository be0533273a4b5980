"""Image encoder: shapes, preprocessing, committed weights, determinism, what the embedding separates."""
from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.imaging.encoder import (COMMITTED_MODELS_DIR, EncoderConfig, LesionEncoder, crop_at, encode, load_encoder,
                                  metadata_path, windowed_channels)
from core.imaging.train_encoder import fit_encoder, training_data_hash, write_training_set
from core.imaging.training_plan import TrainingPlan
from lesion_cases import lesion_cases

WEIGHTS = COMMITTED_MODELS_DIR / "encoder-v1.pt"


@pytest.fixture(scope="module")
def committed():
    torch.set_num_threads(2)
    return load_encoder(WEIGHTS)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return lesion_cases(tmp_path_factory.mktemp("enc-cases"), 48, seed=2025)


def test_forward_shapes():
    cfg = EncoderConfig()
    model = LesionEncoder(cfg).eval()
    x = torch.rand(3, len(cfg.windows), 128, 128)
    with torch.no_grad():
        out = model(x)
    assert out["embedding"].shape == (3, cfg.embed_dim)
    assert out["presence"].shape == (3,)
    assert out["margin"].shape == (3, 3)
    assert out["size"].shape == (3,) and out["heterogeneity"].shape == (3,)
    assert out["score_map"].shape == (3, 16, 16)
    assert out["centre"].shape == (3, 2)
    assert 32 <= cfg.embed_dim <= 64


def test_windowed_channels_resamples_and_scales():
    hu = np.full((100, 90), -1000.0, dtype=np.float32)
    hu[40:60, 40:50] = 40.0
    ch = windowed_channels(hu)
    assert ch.shape == (3, 128, 128) and ch.dtype == np.float32
    assert 0.0 <= ch.min() and ch.max() <= 1.0
    assert ch[0, 0, 0] < 0.3 and ch[0, 64, 57] > 0.85  # lung window: air dark, soft tissue bright
    assert ch[1, 0, 0] == 0.0 and 0.4 < ch[1, 64, 57] < 0.6  # mediastinal window: air black, tissue mid-grey
    with pytest.raises(ValueError, match="2-D"):
        windowed_channels(np.zeros((2, 8, 8)))


@pytest.mark.parametrize("kwargs, match", [({"embed_dim": 4}, "embed_dim"), ({"input_size": 100}, "multiple"),
                                           ({"windows": ((40.0, 0.0),)}, "widths")])
def test_config_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EncoderConfig(**kwargs)


def test_crop_is_centred_and_zero_padded():
    x = torch.zeros(2, 1, 128, 128)
    x[0, 0, 30, 40] = 1.0
    x[1, 0, 2, 125] = 1.0
    crops = crop_at(x, torch.tensor([[30.0, 40.0], [2.0, 125.0]]), 48)
    assert crops.shape == (2, 1, 48, 48)
    assert crops[0, 0, 24, 24] == 1.0 and crops[1, 0, 24, 24] == 1.0
    assert crops[1, 0, :20].sum() == 0  # rows above the image are zero padding


def test_committed_weights_small_with_reproducible_metadata(committed):
    _, meta = committed
    assert WEIGHTS.stat().st_size < 5_000_000
    raw = json.loads(metadata_path(WEIGHTS).read_text())
    assert raw["artifact_sha256"] == hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", meta.training_data_hash)
    assert meta.command.startswith("python -m core train-encoder --seed 7")
    assert meta.model_id == "image-encoder" and meta.version == "v1"
    assert {"presence_auroc", "margin_accuracy", "pointing_game", "train_seconds"} <= set(meta.metrics)


def test_embeddings_deterministic_for_same_weights(committed, cases):
    model, _ = committed
    hu = [c.hu for c in cases[:6]]
    a = encode(model, hu)["embedding"]
    b = encode(model, list(reversed(hu)), batch_size=4)["embedding"][::-1]
    again, _ = load_encoder(WEIGHTS)
    c = encode(again, hu)["embedding"]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)  # batch composition does not matter
    np.testing.assert_array_equal(a, c)


def test_spiculated_and_smooth_lesions_separate_in_embedding_space(committed, cases):
    """Cross-validated logistic regression on the stored kind of embedding (crop at the annotated centre)."""
    model, _ = committed
    sel = [c for c in cases if c.lesion.margin in ("smooth", "spiculated")]
    emb = encode(model, [c.hu for c in sel], centres=[c.centre_rc for c in sel])["embedding"]
    y = np.array([c.lesion.margin == "spiculated" for c in sel])
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    p = cross_val_predict(clf, emb, y, cv=StratifiedKFold(4, shuffle=True, random_state=0), method="predict_proba")
    auroc = roc_auc_score(y, p[:, 1])
    print(f"spiculated vs smooth, held-out AUROC {auroc:.3f} on {len(sel)} lesions")
    assert auroc > 0.8


def test_embedding_tracks_lesion_size(committed, cases):
    model, _ = committed
    out = encode(model, [c.hu for c in cases], centres=[c.centre_rc for c in cases])
    size_mm = np.array([c.lesion.size_mm for c in cases])
    r = np.corrcoef(out["size"] * 10.0, size_mm)[0, 1]
    assert r > 0.7, f"size head correlation {r:.2f}"


def test_training_is_deterministic_for_a_seed(tmp_path):
    torch.set_num_threads(2)
    slices = write_training_set(tmp_path / "a", 10, seed=3)
    again = write_training_set(tmp_path / "b", 10, seed=3)
    assert training_data_hash(slices) == training_data_hash(again)
    assert training_data_hash(slices) != training_data_hash(write_training_set(tmp_path / "c", 10, seed=4))
    plan = TrainingPlan(seed=3, n_studies=10, detector_epochs=1, descriptor_epochs=1, val_every=5)
    cfg = EncoderConfig(detector_width=4, descriptor_width=4, embed_dim=8)
    m1 = fit_encoder(slices, plan, config=cfg, evaluate=False).model
    m2 = fit_encoder(again, plan, config=cfg, evaluate=False).model
    for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(v1, v2), k
