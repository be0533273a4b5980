"""Early fusion: one LightGBM on all features plus presence flags. A comparison strategy for
``python -m core evaluate --compare-fusion``, not the served model."""
from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from core.models.features import MODALITIES, feature_names, presence_column
from core.models.fusion import DROPOUT_COPIES, DROPOUT_P, raw_predict, sigmoid, train_booster
from core.models.fusion_fit import split_calibration


@dataclass
class EarlyFusionModel:
    """One LightGBM on all features plus presence flags (NaN = missing), Platt-calibrated."""

    booster: lgb.Booster
    columns: list[str]
    platt_a: float = 1.0
    platt_b: float = 0.0
    modalities: tuple[str, ...] = MODALITIES
    name: str = "early fusion"

    def _matrix(self, features: pl.DataFrame, drop: frozenset[str]) -> np.ndarray:
        f = features
        for m in drop:
            f = f.with_columns([pl.lit(float("nan")).alias(n) for n in feature_names(m)]
                               + [pl.lit(False).alias(presence_column(m))])
        return f.select([pl.col(c).cast(pl.Float64) for c in self.columns]).to_numpy()

    def predict_proba(self, features: pl.DataFrame, drop: frozenset[str] = frozenset()) -> np.ndarray:
        raw = raw_predict(self.booster, self._matrix(features, drop))
        return sigmoid(self.platt_a * raw + self.platt_b)


def fit_early_fusion(features: pl.DataFrame, y: np.ndarray, *, seed: int = 0, cal_fraction: float = 0.2,
                     dropout: bool = True) -> EarlyFusionModel:
    """Early-fusion baseline: concatenated features, modality-dropout copies, Platt on a held-out split."""
    y = np.asarray(y, dtype=int)
    fit_idx, cal_idx = split_calibration(y, cal_fraction, seed)
    cols = feature_names() + [presence_column(m) for m in MODALITIES]
    model = EarlyFusionModel(booster=None, columns=cols)  # type: ignore[arg-type]
    fit_x = features[fit_idx.tolist()]
    xs, ys = [model._matrix(fit_x, frozenset())], [y[fit_idx]]
    if dropout:
        rng = np.random.default_rng(seed)
        for _ in range(DROPOUT_COPIES):
            for m in MODALITIES:
                sel = rng.random(fit_x.height) < DROPOUT_P / len(MODALITIES) * 2
                if sel.any():
                    xs.append(model._matrix(fit_x.filter(pl.Series(sel)), frozenset({m})))
                    ys.append(y[fit_idx][sel])
    model.booster = train_booster(np.vstack(xs), np.concatenate(ys), seed)
    if len(cal_idx) >= 10 and len(set(y[cal_idx].tolist())) == 2:
        raw = raw_predict(model.booster, model._matrix(features[cal_idx.tolist()], frozenset()))
        platt = LogisticRegression(C=1e4, solver="newton-cholesky", max_iter=200)
        platt.fit(raw.reshape(-1, 1), y[cal_idx])
        model.platt_a, model.platt_b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    return model
