"""Intermediate and attention fusion in a small torch network: comparison strategies for
``python -m core evaluate --compare-fusion`` (and the attention view on the Explain page),
not the served model.

Network (one encoder per modality, shared head)::

    x_m      = [standardise(impute_median(features_m)), present_m]      # NaN -> training median
    h_m      = tanh(W2_m relu(W1_m x_m))                                # d = 16 per modality
    w_m      = intermediate: 1 / #present         (masked mean)
               attention:    softmax over present m of <q, K h_m> / sqrt(d)   (missing m: w_m = 0)
    logit(x) = head([sum_m w_m h_m, present_1..M])
    risk(x)  = sigmoid(alpha * logit(x) + beta)                         # Platt on a held-out split

Training: full-batch AdamW with *modality dropout* (each epoch every present modality is hidden
with probability 0.3, keeping at least one), so "without m" is a situation the net has seen.
Deterministic by seed (torch RNG forked, one thread). Attention weights say where the net
looked, not why: they are not attributions (softmax weights over representations, not effects
on the output).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import polars as pl
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from core.models.features import MODALITIES, feature_names, presence_column
from core.models.fusion import sigmoid
from core.models.fusion_fit import split_calibration

D_REPR = 16
HIDDEN = 16
EPOCHS = 150
LEARNING_RATE = 0.003
WEIGHT_DECAY = 0.05
MODALITY_DROPOUT = 0.3
N_THREADS = 1          # tiny tensors: threads only add start-up cost and nondeterminism
CLIP_Z = 5.0


@contextmanager
def _torch_threads(n: int = N_THREADS) -> Iterator[None]:
    """Run with ``n`` intra-op threads, then restore (other torch code in the process keeps its setting)."""
    prev = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


@dataclass(frozen=True)
class InputScaling:
    """Per modality: training medians (imputation) and mean / sd of the imputed values, among patients who have it."""

    columns: dict[str, list[str]]
    median: dict[str, list[float]]
    mean: dict[str, list[float]]
    sd: dict[str, list[float]]

    @classmethod
    def fit(cls, features: pl.DataFrame) -> InputScaling:
        med, mean, sd, cols = {}, {}, {}, {}
        for m in MODALITIES:
            cols[m] = feature_names(m)
            x = features.filter(pl.col(presence_column(m))).select(cols[m]).to_numpy().astype(np.float64)
            if x.shape[0] == 0:
                x = np.zeros((1, len(cols[m])))
            seen = ~np.isnan(x)
            md = np.array([np.median(x[seen[:, j], j]) if seen[:, j].any() else 0.0 for j in range(x.shape[1])])
            xi = np.where(np.isnan(x), md, x)
            s = xi.std(axis=0)
            med[m], mean[m], sd[m] = md.tolist(), xi.mean(axis=0).tolist(), np.where(s > 1e-9, s, 1.0).tolist()
        return cls(cols, med, mean, sd)

    def inputs(self, features: pl.DataFrame,
               drop: frozenset[str] = frozenset()) -> tuple[list[torch.Tensor], torch.Tensor]:
        """(per-modality input tensors n x (k_m + 1), presence mask n x M); dropped modalities look missing."""
        xs, mask = [], []
        for m in MODALITIES:
            present = features[presence_column(m)].to_numpy().astype(bool) & (m not in drop)
            x = features.select([pl.col(c).cast(pl.Float64) for c in self.columns[m]]).to_numpy()
            x = np.where(np.isnan(x), np.asarray(self.median[m]), x)
            z = np.clip((x - np.asarray(self.mean[m])) / np.asarray(self.sd[m]), -CLIP_Z, CLIP_Z)
            z[~present] = 0.0
            xs.append(torch.tensor(np.column_stack([z, present.astype(np.float64)]), dtype=torch.float32))
            mask.append(present)
        return xs, torch.tensor(np.column_stack(mask), dtype=torch.bool)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the present entries of each row; missing entries get exactly 0 (a row with none: all 0)."""
    w = torch.softmax(scores.masked_fill(~mask, -1e9), dim=1) * mask
    return w / w.sum(dim=1, keepdim=True).clamp_min(1e-12)


class FusionNet(nn.Module):
    """Per-modality encoders, masked-mean or attention pooling, and a small head (see module docstring)."""

    def __init__(self, in_dims: list[int], attention: bool, d: int = D_REPR, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.d, self.attention = d, attention
        self.encoders = nn.ModuleList(nn.Sequential(nn.Linear(k, hidden), nn.ReLU(), nn.Linear(hidden, d), nn.Tanh())
                                      for k in in_dims)
        if attention:
            self.key = nn.Linear(d, d, bias=False)
            self.query = nn.Parameter(0.1 * torch.randn(d))
        self.head = nn.Sequential(nn.Linear(d + len(in_dims), hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, xs: list[torch.Tensor], mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logit per row, modality weights n x M summing to 1 over present modalities)."""
        h = torch.stack([enc(x) for enc, x in zip(self.encoders, xs, strict=True)], dim=1)   # n x M x d
        scores = (self.key(h) @ self.query) / math.sqrt(self.d) if self.attention else torch.zeros(mask.shape)
        w = masked_softmax(scores, mask)
        pooled = (w.unsqueeze(-1) * h).sum(dim=1)
        return self.head(torch.cat([pooled, mask.float()], dim=1)).squeeze(1), w


@dataclass
class IntermediateFusionModel:
    """Learned per-modality representations joined by a masked mean; Platt-calibrated."""

    net: FusionNet
    scaling: InputScaling
    platt_a: float = 1.0
    platt_b: float = 0.0
    modalities: tuple[str, ...] = MODALITIES
    name: str = "intermediate fusion"

    def _forward(self, features: pl.DataFrame, drop: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        xs, mask = self.scaling.inputs(features, drop)
        with _torch_threads(), torch.no_grad():
            self.net.eval()
            logit, w = self.net(xs, mask)
        return logit.double().numpy(), w.double().numpy()

    def predict_proba(self, features: pl.DataFrame, drop: frozenset[str] = frozenset()) -> np.ndarray:
        """Calibrated risk per row; ``drop`` hides those modalities as if they were missing."""
        if features.height == 0:
            return np.zeros(0)
        return sigmoid(self.platt_a * self._forward(features, drop)[0] + self.platt_b)


@dataclass
class AttentionFusionModel(IntermediateFusionModel):
    """Learned per-modality representations weighted by attention over the present modalities."""

    name: str = "attention fusion"

    def attention_weights(self, features: pl.DataFrame, drop: frozenset[str] = frozenset()) -> pl.DataFrame:
        """Per patient: patient_id and one weight column per modality (0 when missing; present ones sum to 1)."""
        w = self._forward(features, drop)[1] if features.height else np.zeros((0, len(MODALITIES)))
        ids = pl.DataFrame({"patient_id": features["patient_id"].to_list()}, schema={"patient_id": pl.Utf8})
        return ids.with_columns([pl.Series(m, w[:, j], dtype=pl.Float64) for j, m in enumerate(MODALITIES)])


def _train(net: FusionNet, xs: list[torch.Tensor], mask: torch.Tensor, y: torch.Tensor, gen: torch.Generator,
           epochs: int) -> None:
    opt = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    loss_fn = nn.BCEWithLogitsLoss()
    net.train()
    for _ in range(epochs):
        keep = mask & (torch.rand(mask.shape, generator=gen) >= MODALITY_DROPOUT)
        empty = ~keep.any(dim=1) & mask.any(dim=1)
        if empty.any():  # keep one present modality at random where everything was dropped
            pick = torch.multinomial(mask[empty].float(), 1, generator=gen).squeeze(1)
            keep[empty] = nn.functional.one_hot(pick, mask.shape[1]).bool()
        opt.zero_grad()
        loss = loss_fn(net(xs, keep)[0], y)
        loss.backward()
        opt.step()


def fit_torch_fusion(features: pl.DataFrame, y: np.ndarray, *, attention: bool, seed: int = 0,
                     cal_fraction: float = 0.2, epochs: int = EPOCHS) -> IntermediateFusionModel:
    """Fit the intermediate (``attention=False``) or attention fusion net, then Platt on a held-out split.

    Args:
        features: ``patient_features`` rows of the training patients.
        y: 0/1 labels aligned with ``features``.
        seed: seeds initialisation, modality dropout and the calibration split (same seed, same model).

    Returns:
        an ``AttentionFusionModel`` when ``attention`` else an ``IntermediateFusionModel``.

    Raises:
        ValueError: fewer than 20 labelled rows or a single class.
    """
    y = np.asarray(y, dtype=int)
    if len(y) < 20 or len(set(y.tolist())) < 2:
        raise ValueError(f"need at least 20 labelled patients with both outcomes, got {len(y)}")
    fit_idx, cal_idx = split_calibration(y, cal_fraction, seed)
    fit_x = features[fit_idx.tolist()]
    scaling = InputScaling.fit(fit_x)
    xs, mask = scaling.inputs(fit_x)
    with _torch_threads(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = FusionNet([x.shape[1] for x in xs], attention)
        y_fit = torch.tensor(y[fit_idx], dtype=torch.float32)
        _train(net, xs, mask, y_fit, torch.Generator().manual_seed(seed), epochs)
    cls = AttentionFusionModel if attention else IntermediateFusionModel
    model = cls(net=net, scaling=scaling)
    if len(cal_idx) >= 10 and len(set(y[cal_idx].tolist())) == 2:
        raw = model._forward(features[cal_idx.tolist()], frozenset())[0]
        platt = LogisticRegression(C=1e4, solver="newton-cholesky", max_iter=200).fit(raw.reshape(-1, 1), y[cal_idx])
        model.platt_a, model.platt_b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    return model


# ---- artifact (JSON, no pickle: loading runs no code) ------------------------------------------------

FORMAT = "tumor-board-torch-fusion/1"


def model_to_dict(model: IntermediateFusionModel) -> dict:
    """The model as JSON-able data: architecture, weights (float32 values as lists), scaling, Platt."""
    net = model.net
    return {"format": FORMAT, "attention": net.attention, "d": net.d,
            "hidden": net.encoders[0][0].out_features, "in_dims": [e[0].in_features for e in net.encoders],
            "state": {k: v.tolist() for k, v in net.state_dict().items()},
            "scaling": {"columns": model.scaling.columns, "median": model.scaling.median, "mean": model.scaling.mean,
                        "sd": model.scaling.sd},
            "platt_a": model.platt_a, "platt_b": model.platt_b}


def model_from_dict(d: dict) -> IntermediateFusionModel:
    """Inverse of ``model_to_dict``.

    Raises:
        ValueError: not a torch-fusion artifact, or features changed since it was trained.
    """
    if d.get("format") != FORMAT:
        raise ValueError(f"not a torch-fusion artifact (format {d.get('format')!r}, expected {FORMAT!r})")
    scaling = InputScaling(**d["scaling"])
    if any(scaling.columns.get(m) != feature_names(m) for m in MODALITIES):
        raise ValueError("torch-fusion artifact was trained on other features: run `python -m core train`")
    net = FusionNet(d["in_dims"], d["attention"], d["d"], d["hidden"])
    net.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in d["state"].items()})
    cls = AttentionFusionModel if d["attention"] else IntermediateFusionModel
    return cls(net=net, scaling=scaling, platt_a=d["platt_a"], platt_b=d["platt_b"])
