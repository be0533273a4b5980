"""Fitting the late-fusion model: per-modality trees, out-of-fold scores, fusion layer with
modality dropout, term spreads, Platt scaling (see ``core.models.fusion`` for the model)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

from core.models.features import MODALITIES, as_matrix, feature_names, presence_column
from core.models.fusion import (DEFAULT_THRESHOLD, DROPOUT_COPIES, DROPOUT_P, MIN_PRESENT_ROWS, LateFusionModel,
                                ModalityPart, cancer_types, raw_predict, train_booster)
from core.models.projection import EmbeddingProjection

logger = logging.getLogger(__name__)


def split_calibration(y: np.ndarray, cal_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, held-out calibration rows), stratified; no calibration rows when a class is tiny."""
    idx = np.arange(len(y))
    if cal_fraction <= 0 or min(np.bincount(y.astype(int), minlength=2)) < 4:
        return idx, idx[:0]
    fit_idx, cal_idx = train_test_split(idx, test_size=cal_fraction, stratify=y, random_state=seed)
    return np.sort(fit_idx), np.sort(cal_idx)


def _oof_raw(x: np.ndarray, y: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    folds = min(n_folds, int(min(np.bincount(y.astype(int), minlength=2))))
    oof = np.full(len(y), np.nan)
    if folds < 2:
        return np.zeros(len(y))
    for k, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y)):
        b = train_booster(x[tr], y[tr], seed + 101 * (k + 1))
        oof[te] = raw_predict(b, x[te])
    return oof


def _dropout_design(raw: np.ndarray, present: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fusion-layer design [raw*present, present] with modality-dropout copies appended."""
    rng = np.random.default_rng(seed)
    blocks_r, blocks_p, ys = [raw], [present], [y]
    for _ in range(DROPOUT_COPIES):
        keep = present & (rng.random(present.shape) >= DROPOUT_P)
        empty = keep.sum(axis=1) == 0
        # keep one present modality at random where everything was dropped
        for i in np.where(empty & present.any(axis=1))[0]:
            keep[i, rng.choice(np.where(present[i])[0])] = True
        blocks_r.append(raw)
        blocks_p.append(keep)
        ys.append(y)
    return _design(np.vstack(blocks_r), np.vstack(blocks_p)), np.concatenate(ys)


def _design(raw: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Fusion-layer inputs: each modality's raw score where present (0 where absent), then the presence flags."""
    return np.hstack([np.where(present, np.nan_to_num(raw), 0.0), present.astype(float)])


def fit_late_fusion(features: pl.DataFrame, y: np.ndarray, *, seed: int = 0, modalities: tuple[str, ...] = MODALITIES,
                    n_members: int = 8, n_folds: int = 5, cal_fraction: float = 0.0,
                    projection: EmbeddingProjection | None = None,
                    threshold: float = DEFAULT_THRESHOLD) -> LateFusionModel:
    """Fit the late-fusion model on labelled rows.

    Args:
        features: ``patient_features`` frame of the training patients.
        y: 0/1 labels aligned with ``features``.
        modalities: restrict to these (single-modality baselines use one).
        n_members: bootstrap members per modality for the model-uncertainty part of the interval.
        cal_fraction: share of rows held out to fit Platt scaling; 0 (default) fits it on cross-fitted
            fusion scores of all rows instead (tree scores out-of-fold, layer refit without each fold):
            held-out scores without giving up a fifth of a small cohort.

    Raises:
        ValueError: fewer than 20 labelled rows or a single class, or no modality with enough rows.
    """
    y = np.asarray(y, dtype=int)
    if len(y) < 20 or len(set(y.tolist())) < 2:
        raise ValueError(f"need at least 20 labelled patients with both outcomes, got {len(y)}")
    fit_idx, cal_idx = split_calibration(y, cal_fraction, seed)
    parts, oof = _fit_parts(features[fit_idx.tolist()], y[fit_idx], modalities, seed, n_members, n_folds)
    stage = _Stage(features, y, fit_idx, cal_idx, parts, oof, seed)
    model = _fit_layer(stage, tuple(parts), projection, threshold)
    model.cache["stage"] = stage
    return model


def restrict_late_fusion(model: LateFusionModel, modalities: tuple[str, ...]) -> LateFusionModel:
    """The model a fit on ``modalities`` alone would give on the same data and split: the same
    per-modality trees (each is trained on its own modality only) with the fusion layer and Platt
    scaling refit. Used for the single-modality baselines; needs a model fit in this process."""
    stage: _Stage | None = model.cache.get("stage")
    if stage is None:
        raise ValueError("restrict_late_fusion needs a model fit in this process (training data kept in cache)")
    mods = tuple(m for m in modalities if m in stage.parts)
    if not mods:
        raise ValueError(f"no trained part for {modalities}")
    return _fit_layer(stage, mods, model.projection, model.threshold)


@dataclass
class _Stage:
    """Per-modality fits and their out-of-fold raw scores, kept to refit the fusion layer."""

    features: pl.DataFrame
    y: np.ndarray
    fit_idx: np.ndarray
    cal_idx: np.ndarray
    parts: dict[str, ModalityPart]
    oof: dict[str, np.ndarray]   # modality -> raw OOF score per fit row (NaN where absent)
    seed: int


def _fit_parts(fit_x: pl.DataFrame, y_fit: np.ndarray, modalities: tuple[str, ...], seed: int, n_members: int,
               n_folds: int) -> tuple[dict[str, ModalityPart], dict[str, np.ndarray]]:
    """Tree model per modality, trained on the patients who have it and on its own features only."""
    parts: dict[str, ModalityPart] = {}
    oof: dict[str, np.ndarray] = {}
    for m in modalities:
        pres = fit_x[presence_column(m)].to_numpy().astype(bool)
        ym = y_fit[pres]
        if pres.sum() < MIN_PRESENT_ROWS or min(np.bincount(ym, minlength=2)) < 5:
            logger.info("modality %s: %d training rows with it, too few for a model", m, int(pres.sum()))
            continue
        names = feature_names(m)
        x = as_matrix(fit_x.filter(pl.Series(pres)), names)
        mseed = seed * 1000 + 17 * (MODALITIES.index(m) + 1)  # same trees whatever subset is fit
        raw_oof = np.full(len(y_fit), np.nan)
        raw_oof[pres] = _oof_raw(x, ym, n_folds, mseed)
        oof[m] = raw_oof
        booster = train_booster(x, ym, mseed)
        rng = np.random.default_rng(mseed)
        members = []
        for k in range(n_members):
            b = rng.integers(0, len(ym), len(ym))
            members.append(train_booster(x[b], ym[b], mseed + 7 * (k + 1)))
        parts[m] = ModalityPart(m, names, booster, members)
    if not parts:
        raise ValueError("no modality had enough training rows")
    return parts, oof


def _fit_layer(stage: _Stage, modalities: tuple[str, ...], projection: EmbeddingProjection | None,
               threshold: float) -> LateFusionModel:
    """Fusion layer (with modality dropout), term spreads and Platt scaling for ``modalities``."""
    mods = tuple(m for m in MODALITIES if m in modalities)
    fit_x, y_fit = stage.features[stage.fit_idx.tolist()], stage.y[stage.fit_idx]
    parts = {m: replace(stage.parts[m]) for m in mods}  # own term_sd / epi_mean per layer
    raw = np.column_stack([stage.oof[m] for m in mods])
    present = ~np.isnan(raw)
    lr = _layer(raw, present, y_fit, stage.seed)
    coef = lr.coef_[0]
    model = LateFusionModel(
        parts=parts, coef_raw={m: float(coef[j]) for j, m in enumerate(mods)},
        coef_present={m: float(coef[len(mods) + j]) for j, m in enumerate(mods)},
        intercept=float(lr.intercept_[0]), presence_rate={m: float(present[:, j].mean()) for j, m in enumerate(mods)},
        threshold=threshold, projection=projection)
    # spread of each modality's term among training patients who had it (out-of-fold)
    cts = np.array(cancer_types(fit_x))
    for j, m in enumerate(mods):
        term = model.coef_raw[m] * raw[:, j]
        ok = present[:, j]
        sd = {"*": float(np.std(term[ok], ddof=1))}
        for ct in sorted(set(cts.tolist())):
            sel = ok & (cts == ct)
            if sel.sum() >= 25:
                sd[ct] = float(np.std(term[sel], ddof=1))
        parts[m].term_sd = sd
        x_m = as_matrix(fit_x.filter(pl.Series(ok)), parts[m].features)
        parts[m].epi_mean = float(parts[m].member_var(x_m, model.coef_raw[m]).mean())
    cal_idx = stage.cal_idx
    if len(cal_idx) >= 10 and len(set(stage.y[cal_idx].tolist())) == 2:
        r, p = model.raw_terms(stage.features[cal_idx.tolist()])
        fused, y_cal = model.fused_from_terms(r, p), stage.y[cal_idx]
    else:  # cross-fitted: every fit row's fused score from a layer fit without it
        fused, y_cal = _crossfit_fused(raw, present, y_fit, stage.seed), y_fit
    if len(set(y_cal.tolist())) == 2:
        platt = LogisticRegression(C=1e4, solver="newton-cholesky", max_iter=200)
        platt.fit(fused.reshape(-1, 1), y_cal)
        model.platt_a, model.platt_b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    return model


def _layer(raw: np.ndarray, present: np.ndarray, y: np.ndarray, seed: int) -> LogisticRegression:
    design, yd = _dropout_design(raw, present, y, seed)
    return LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200).fit(design, yd)


def _crossfit_fused(raw: np.ndarray, present: np.ndarray, y: np.ndarray, seed: int, n_folds: int = 5) -> np.ndarray:
    """Out-of-fold fusion log-odds: the layer refit on the other folds scores each fold's rows (their
    tree scores are already out-of-fold), so Platt scaling is fit on held-out scores without a split."""
    fused = np.zeros(len(y))
    folds = min(n_folds, int(min(np.bincount(y, minlength=2))))
    for k, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed + 7).split(raw, y)):
        lr = _layer(raw[tr], present[tr], y[tr], seed + k)
        fused[te] = lr.decision_function(_design(raw[te], present[te]))
    return fused
