"""Explanations of the served late-fusion model: SHAP by feature and modality, and modality ablation.

What is explained is exactly what is served: the calibrated log-odds ``logit(x)`` whose
sigmoid is the risk shown to the board. For each present modality m, TreeSHAP
(path-dependent, exact for trees; the algorithm of ``shap.TreeExplainer``) gives phi_mj with
raw_m(x) = E_m + sum_j phi_mj in that tree model's log-odds. The fusion and Platt layers
are affine, so

    logit(x) = base + sum_m sum_j alpha * a_m * phi_mj + sum_m availability_m

with
    base           = alpha * (b + sum_m pi_m * (a_m * E_m + c_m)) + beta
    availability_m = alpha * (a_m * E_m + c_m) * (present_m - pi_m)

where pi_m is the share of training patients who had modality m. ``availability_m`` is the
linear-SHAP value of the fusion layer's presence input: what having (or missing) the
modality moves, before its content is looked at. base + every row = logit(x) exactly.

Ablation re-evaluates the same fusion with a modality hidden ("without") or with only one
modality ("only"): the model's native missing-modality path, so no retraining is needed.
"""
from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from core.models.features import FEATURE_BY_NAME, feature_display
from core.models.fusion import LateFusionModel, ModelInput, sigmoid

EXPLAINER = "TreeSHAP (path-dependent, as in shap.TreeExplainer) per modality, scaled through fusion + Platt"
SPACE = "calibrated log-odds"


def tree_shap(booster: lgb.Booster, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Exact path-dependent TreeSHAP of a LightGBM model: (n x p values, expected value), raw log-odds.

    This is LightGBM's own TreeSHAP (``pred_contrib``), the routine ``shap.TreeExplainer`` runs for
    LightGBM models; called directly so it stays single-threaded (OpenMP start-up would cost more
    than the computation for one patient). ``tests/models`` checks it equals ``shap.TreeExplainer``.
    """
    contrib = booster.predict(x, pred_contrib=True, num_threads=1)
    return contrib[:, :-1], float(contrib[0, -1]) if len(contrib) else expected_value(booster)


def expected_value(booster: lgb.Booster) -> float:
    """The tree model's expected raw output over its training data (TreeSHAP's base value)."""
    width = booster.num_feature()
    return float(booster.predict(np.full((1, width), np.nan), pred_contrib=True, num_threads=1)[0, -1])


def _expected_values(model: LateFusionModel) -> dict[str, float]:
    if "expected" not in model.cache:
        model.cache["expected"] = {m: expected_value(p.booster) for m, p in model.parts.items()}
    return model.cache["expected"]


def base_value(model: LateFusionModel) -> float:
    """The base value (calibrated log-odds) every explanation of this model starts from."""
    ev = _expected_values(model)
    inner = model.intercept + sum(model.presence_rate[m] * (model.coef_raw[m] * ev[m] + model.coef_present[m])
                                  for m in model.modalities)
    return model.platt_a * inner + model.platt_b


@dataclass(frozen=True)
class Explanation:
    """One patient's explanation (all values in calibrated log-odds unless named risk)."""

    patient_id: str
    risk: float
    logit: float
    base_value: float
    contributions: pl.DataFrame   # feature, modality, value, feature_value, shap_value
    ablation: pl.DataFrame        # scenario, modality, risk, delta
    modalities_used: list[str]
    modalities_missing: list[str]
    space: str = SPACE

    def by_modality(self) -> pl.DataFrame:
        """Sum of contributions per modality (availability included)."""
        return modality_sums(self.contributions)


def modality_sums(contributions: pl.DataFrame) -> pl.DataFrame:
    """Sum of SHAP values per modality, ordered by absolute size."""
    return (contributions.group_by("modality").agg(pl.col("shap_value").sum())
            .sort(pl.col("shap_value").abs(), descending=True))


def explain(model: LateFusionModel, features: pl.DataFrame, drop: frozenset[str] = frozenset()) -> list[Explanation]:
    """SHAP by feature and modality plus modality ablation for every row of ``features``.

    Args:
        model: the served late-fusion model.
        features: ``patient_features`` rows.
        drop: modalities to treat as missing (for what-if views).

    Returns one ``Explanation`` per row; ``base_value + sum(contributions.shap_value) == logit``.
    """
    ev = _expected_values(model)
    inp = ModelInput.of(features)
    n = inp.n
    mods = model.modalities
    present = np.zeros((n, len(mods)), dtype=bool)
    raw = np.full((n, len(mods)), np.nan)
    per_row: list[list[tuple[str, str, float, str, float]]] = [[] for _ in range(n)]
    for j, m in enumerate(mods):
        part = model.parts[m]
        if m not in drop:
            present[:, j] = inp.present[m]
        expected = ev[m]
        scale = model.platt_a * model.coef_raw[m]
        avail_w = model.platt_a * (model.coef_raw[m] * expected + model.coef_present[m])
        rows = np.where(present[:, j])[0]
        if rows.size:
            x = inp.matrix(part.features, rows)
            sv, _ = tree_shap(part.booster, x)
            raw[rows, j] = expected + sv.sum(axis=1)  # TreeSHAP is exact: this is the tree model's output
            sv = sv * scale
            for r_i, r in enumerate(rows):
                for f_i, name in enumerate(part.features):
                    val = float(x[r_i, f_i])
                    per_row[r].append((name, m, val, feature_display(name, val), float(sv[r_i, f_i])))
        for r in range(n):
            per_row[r].append((f"{m}_available", m, float(present[r, j]),
                               "available" if present[r, j] else "missing",
                               float(avail_w * (float(present[r, j]) - model.presence_rate[m]))))
    logit = model.calibrate(model.fused_from_terms(raw, present))
    base = base_value(model)
    ids = features["patient_id"].to_list() if isinstance(features, pl.DataFrame) else [""] * n
    out = []
    for r in range(n):
        contrib = pl.DataFrame(per_row[r], schema=_CONTRIB_SCHEMA, orient="row")
        out.append(Explanation(
            patient_id=ids[r], risk=float(sigmoid(logit[r])), logit=float(logit[r]), base_value=float(base),
            contributions=contrib, ablation=_ablation_row(model, raw[r], present[r]),
            modalities_used=[m for j, m in enumerate(mods) if present[r, j]],
            modalities_missing=[m for j, m in enumerate(mods) if not present[r, j]]))
    return out


_CONTRIB_SCHEMA = {"feature": pl.Utf8, "modality": pl.Utf8, "value": pl.Float64, "feature_value": pl.Utf8,
                   "shap_value": pl.Float64}
_ABLATION_SCHEMA = {"scenario": pl.Utf8, "modality": pl.Utf8, "risk": pl.Float64, "delta": pl.Float64}


def _ablation_row(model: LateFusionModel, raw: np.ndarray, present: np.ndarray) -> pl.DataFrame:
    """Risk with all available modalities, without each one, and with each one alone."""
    def risk(mask: np.ndarray) -> float:
        return float(sigmoid(model.calibrate(model.fused_from_terms(raw[None, :], mask[None, :])))[0])

    full = risk(present)
    rows = [("all", "all", full, 0.0)]
    for j, m in enumerate(model.modalities):
        if not present[j]:
            continue
        without = present.copy()
        without[j] = False
        only = np.zeros_like(present)
        only[j] = True
        r_wo, r_only = risk(without), risk(only)
        rows.append(("without", m, r_wo, r_wo - full))
        rows.append(("only", m, r_only, r_only - full))
    return pl.DataFrame(rows, schema=_ABLATION_SCHEMA, orient="row")


def global_importance(explanations: list[Explanation]) -> pl.DataFrame:
    """Mean |SHAP| per feature over a cohort (calibrated log-odds), with its modality and description."""
    if not explanations:
        return pl.DataFrame(schema={"feature": pl.Utf8, "modality": pl.Utf8, "mean_abs_shap": pl.Float64,
                                    "description": pl.Utf8})
    allc = pl.concat([e.contributions.select("feature", "modality", "shap_value") for e in explanations])
    n = len(explanations)
    g = (allc.group_by("feature", "modality").agg((pl.col("shap_value").abs().sum() / n).alias("mean_abs_shap"))
         .sort("mean_abs_shap", descending=True))
    return g.with_columns(pl.col("feature").map_elements(
        lambda f: FEATURE_BY_NAME[f].description if f in FEATURE_BY_NAME else "modality available or missing",
        return_dtype=pl.Utf8).alias("description"))


def cohort_ablation(explanations: list[Explanation]) -> pl.DataFrame:
    """Ablation averaged over patients who had each modality: mean delta and mean |delta|."""
    if not explanations:
        return pl.DataFrame(schema={"scenario": pl.Utf8, "modality": pl.Utf8, "n": pl.UInt32,
                                    "mean_delta": pl.Float64, "mean_abs_delta": pl.Float64})
    allab = pl.concat([e.ablation for e in explanations]).filter(pl.col("scenario") != "all")
    return (allab.group_by("scenario", "modality")
            .agg(pl.len().alias("n"), pl.col("delta").mean().alias("mean_delta"),
                 pl.col("delta").abs().mean().alias("mean_abs_delta"))
            .sort("scenario", "modality"))
