"""Late fusion that handles missing modalities natively: the served model and its inference.

Model (one gradient-boosted tree model per modality, one logistic fusion layer on top):

    raw_m(x)   = LightGBM log-odds from modality m's features (trained on patients who have m)
    fused(x)   = b + sum over present m of (a_m * raw_m(x) + c_m)      # absent modality adds nothing
    logit(x)   = alpha * fused(x) + beta                                  # Platt, on held-out fused scores
    risk(x)    = sigmoid(logit(x))

The fusion layer (a_m, c_m, b) is fit on out-of-fold raw_m with *modality dropout*:
copies of the training rows with random present modalities hidden, so the layer learns
what a prediction without m should be. Platt scaling is fit on cross-fitted fused scores
(tree scores out-of-fold, the layer refit without each fold; fitting: ``core.models.fusion_fit``).
(An earlier version trained the non-clinical trees on top of the clinical model's log-odds;
on the demo cohort that lost to clinical alone, 0.847 vs 0.855, and was removed.) Platt scaling
is affine in log-odds, so SHAP values of the trees, scaled by alpha * a_m, stay exactly
additive in the served calibrated log-odds (see ``core.models.explain``); isotonic would not.

Uncertainty (90 % interval, in calibrated log-odds, mapped through the sigmoid):
    var = sum over present m of Var_k(a_m raw_m^k(x))        # model uncertainty (bootstrap members)
        + sum over missing m of [Var(a_m raw_m) among training patients who had m
                                 + mean model uncertainty of that term]   # what m could have said
so, for a typical patient, the interval widens (in log-odds) when a modality is missing.
(Not for every patient: a patient whose data the model finds very unusual can have a
present-modality uncertainty above the population spread; evaluate reports how often.)
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import lightgbm as lgb
import numpy as np
import polars as pl

from core.models.features import MODALITIES, as_matrix, feature_names, presence_column
from core.models.projection import EmbeddingProjection

logger = logging.getLogger(__name__)

LGB_PARAMS: dict[str, object] = {
    # small, regularised trees: a few hundred patients per modality (depth 2 keeps pairwise interactions)
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 4, "max_depth": 2, "min_data_in_leaf": 15,
    "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 3.0,
    "verbose": -1, "num_threads": 1, "deterministic": True, "force_row_wise": True,
}
N_ROUNDS = 80
MIN_PRESENT_ROWS = 20       # below this a modality gets no tree model
DROPOUT_P = 0.3
DROPOUT_COPIES = 3
INTERVAL_Z = 1.6449         # two-sided 90 %
DEFAULT_THRESHOLD = 0.5


class FusionStrategy(Protocol):
    """What every fusion strategy offers (late fusion serves; others are compared in evaluate)."""

    name: str
    modalities: tuple[str, ...]

    def predict_proba(self, features: pl.DataFrame, drop: frozenset[str] = frozenset()) -> np.ndarray:
        """Calibrated risk per row; ``drop`` hides those modalities as if they were missing."""
        ...


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def cancer_types(features: pl.DataFrame) -> list[str]:
    """Cancer type per row from the clinical one-hot features ('other' when unknown)."""
    out = []
    for lung, breast, crc in features.select("clin_lung", "clin_breast", "clin_colorectal").iter_rows():
        out.append("lung" if lung == 1 else "breast" if breast == 1 else "colorectal" if crc == 1 else "other")
    return out


def raw_predict(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """Raw log-odds, single-threaded: OpenMP start-up costs ~20 ms per call on a busy 2-core host,
    more than the whole prediction for a few rows."""
    return booster.predict(x, raw_score=True, num_threads=1)


def train_booster(x: np.ndarray, y: np.ndarray, seed: int) -> lgb.Booster:
    """LightGBM on (x, y)."""
    params = dict(LGB_PARAMS, seed=seed, bagging_seed=seed, feature_fraction_seed=seed, data_random_seed=seed)
    ds = lgb.Dataset(x, label=y, params={"verbose": -1}, free_raw_data=True)
    return lgb.train(params, ds, num_boost_round=N_ROUNDS)


_COLUMN = {name: i for i, name in enumerate(feature_names())}


@dataclass(frozen=True)
class ModelInput:
    """The numeric view of a ``patient_features`` frame, converted once (polars calls are the
    slow part when one patient is explained)."""

    x: np.ndarray                     # n x len(FEATURES), registry order, NaN kept
    present: dict[str, np.ndarray]    # modality -> bool per row
    cancer_type: list[str]

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @classmethod
    def of(cls, features: pl.DataFrame | ModelInput) -> ModelInput:
        if isinstance(features, ModelInput):
            return features
        cols = [presence_column(m) for m in MODALITIES]
        pres = features.select(cols).to_numpy().astype(bool) if features.height else np.zeros((0, len(cols)), bool)
        return cls(x=as_matrix(features, feature_names()), present={m: pres[:, j] for j, m in enumerate(MODALITIES)},
                   cancer_type=cancer_types(features))

    def matrix(self, names: list[str], rows: np.ndarray | None = None) -> np.ndarray:
        x = self.x[:, [_COLUMN[n] for n in names]]
        return x if rows is None else x[rows]


@dataclass
class ModalityPart:
    """The tree model of one modality plus its bootstrap members and term spread."""

    modality: str
    features: list[str]
    booster: lgb.Booster
    members: list[lgb.Booster] = field(default_factory=list)
    term_sd: dict[str, float] = field(default_factory=dict)  # cancer type or '*' -> sd of a_m * raw_m
    epi_mean: float = 0.0   # mean over training patients of the member variance of a_m * raw_m

    def raw(self, x: np.ndarray) -> np.ndarray:
        return raw_predict(self.booster, x)

    def member_var(self, x: np.ndarray, coef: float) -> np.ndarray:
        """Variance over bootstrap members of coef * raw_m for each row of ``x`` (0 without members)."""
        if len(self.members) < 2:
            return np.zeros(x.shape[0])
        preds = np.vstack([coef * raw_predict(b, x) for b in self.members])
        return preds.var(axis=0, ddof=1)

    def sd_for(self, cancer_type: str) -> float:
        return self.term_sd.get(cancer_type, self.term_sd.get("*", 0.0))


@dataclass
class Prediction:
    """Per-row outputs of the late-fusion model (arrays aligned with the input rows)."""

    risk: np.ndarray
    risk_low: np.ndarray
    risk_high: np.ndarray
    logit: np.ndarray           # calibrated log-odds
    logit_sd: np.ndarray
    raw: np.ndarray             # n x M raw log-odds per modality (NaN where absent / dropped)
    present: np.ndarray         # n x M bool, after drop
    modalities: tuple[str, ...]

    def used(self, i: int) -> list[str]:
        return [m for j, m in enumerate(self.modalities) if self.present[i, j]]

    def missing(self, i: int) -> list[str]:
        return [m for j, m in enumerate(self.modalities) if not self.present[i, j]]


@dataclass
class LateFusionModel:
    """Per-modality LightGBM + logistic fusion layer + Platt scaling (see module docstring)."""

    parts: dict[str, ModalityPart]
    coef_raw: dict[str, float]
    coef_present: dict[str, float]
    intercept: float
    platt_a: float = 1.0
    platt_b: float = 0.0
    presence_rate: dict[str, float] = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD
    projection: EmbeddingProjection | None = None
    name: str = "late fusion"
    cache: dict = field(default_factory=dict, repr=False, compare=False)  # explainers etc., never serialised

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if m in self.parts)

    # ---- inference ------------------------------------------------------------------------
    def raw_terms(self, features: pl.DataFrame | ModelInput,
                  drop: frozenset[str] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
        """(raw log-odds n x M with NaN where absent, presence n x M) for the model's modalities."""
        inp = ModelInput.of(features)
        mods = self.modalities
        raw = np.full((inp.n, len(mods)), np.nan)
        present = np.zeros((inp.n, len(mods)), dtype=bool)
        for j, m in enumerate(mods):
            if m in drop:
                continue
            pres = inp.present[m]
            present[:, j] = pres
            if pres.any():
                raw[pres, j] = self.parts[m].raw(inp.matrix(self.parts[m].features, pres))
        return raw, present

    def fused_from_terms(self, raw: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Uncalibrated fusion log-odds from raw terms (absent modalities contribute nothing)."""
        out = np.full(raw.shape[0], self.intercept)
        for j, m in enumerate(self.modalities):
            term = self.coef_raw[m] * np.nan_to_num(raw[:, j]) + self.coef_present[m]
            out += np.where(present[:, j], term, 0.0)
        return out

    def calibrate(self, fused: np.ndarray) -> np.ndarray:
        return self.platt_a * fused + self.platt_b

    def predict(self, features: pl.DataFrame | ModelInput, drop: frozenset[str] = frozenset()) -> Prediction:
        """Risk, 90 % interval and the terms behind them for every row of ``features``."""
        inp = ModelInput.of(features)
        raw, present = self.raw_terms(inp, drop)
        logit = self.calibrate(self.fused_from_terms(raw, present))
        var = self._epistemic_var(inp, present) + self._missing_var(inp, present)
        sd = np.abs(self.platt_a) * np.sqrt(var)
        return Prediction(risk=sigmoid(logit), risk_low=sigmoid(logit - INTERVAL_Z * sd),
                          risk_high=sigmoid(logit + INTERVAL_Z * sd), logit=logit, logit_sd=sd, raw=raw,
                          present=present, modalities=self.modalities)

    def predict_proba(self, features: pl.DataFrame | ModelInput, drop: frozenset[str] = frozenset()) -> np.ndarray:
        raw, present = self.raw_terms(features, drop)
        return sigmoid(self.calibrate(self.fused_from_terms(raw, present)))

    def _epistemic_var(self, inp: ModelInput, present: np.ndarray) -> np.ndarray:
        """Sum over present modalities of the bootstrap-member variance of a_m * raw_m (members of
        different modalities are fit on independent resamples, so their covariance is ignored)."""
        var = np.zeros(inp.n)
        for j, m in enumerate(self.modalities):
            pres = present[:, j]
            if pres.any():
                var[pres] += self.parts[m].member_var(inp.matrix(self.parts[m].features, pres), self.coef_raw[m])
        return var

    def _missing_var(self, inp: ModelInput, present: np.ndarray) -> np.ndarray:
        """For each missing modality: spread of its term among training patients who had it plus the
        average model uncertainty of that term (law of total variance)."""
        cts = inp.cancer_type
        var = np.zeros(inp.n)
        for j, m in enumerate(self.modalities):
            part = self.parts[m]
            add = np.array([part.sd_for(ct) ** 2 + part.epi_mean for ct in cts])
            var += np.where(present[:, j], 0.0, add)
        return var
