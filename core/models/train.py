"""Training the served model from the store and registering it.

``python -m core train`` runs ``train_and_register`` inside a new store version; the
artifact goes to ``<models_dir>/fusion/`` and the registry row into the store.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import polars as pl

from core.models import target
from core.models.artifact import save_artifact
from core.models.explain import cohort_ablation, explain, global_importance
from core.models.features import FIT_PROJECTION, N_EMBEDDING_PCS, patient_features
from core.models.fusion import LateFusionModel
from core.models.fusion_fit import fit_late_fusion
from core.models.projection import EmbeddingProjection
from core.models.registry import (ATTENTION_KEY, KIND, MODEL_ID, RegistryEntry, artifact_file,
                                  comparison_artifact_file, entries, new_version, register, resolve_artifact,
                                  training_data_hash)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelledCohort:
    """Historical patients with a 12-month label, their features and (for survival views) time to event."""

    features: pl.DataFrame   # patient_features rows
    labels: pl.DataFrame     # patient_id, label, time_days, event, index_date, index_rule
    projection: EmbeddingProjection | None

    @property
    def y(self) -> np.ndarray:
        return self.labels["label"].to_numpy().astype(int)


def labelled_cohort(con: duckdb.DuckDBPyConnection,
                    projection: EmbeddingProjection | None | str = FIT_PROJECTION) -> LabelledCohort:
    """Features (as of each index date) and labels of the historical patients with a known 12-month outcome.

    Args:
        projection: a trained model's embedding projection, None for none, or ``FIT_PROJECTION``
            to fit one on the store's historical patients.
    """
    if isinstance(projection, str):
        projection = EmbeddingProjection.fit_from_store(con, N_EMBEDDING_PCS)
    labels = target.outcome_labels(con).filter((pl.col("cohort") == "historical") & pl.col("label").is_not_null())
    feats = patient_features(con, labels["patient_id"].to_list(), projection=projection)
    labels = feats.select("patient_id").join(labels, on="patient_id", how="left")
    return LabelledCohort(feats, labels.select("patient_id", "label", "time_days", "event", "index_date", "index_rule"),
                          projection)


@dataclass(frozen=True)
class TrainResult:
    model: LateFusionModel
    entry: RegistryEntry


def train_and_register(con: duckdb.DuckDBPyConnection, *, seed: int = 0, n_members: int = 8, cv_folds: int = 5,
                       now: datetime | None = None, attention: bool = True) -> TrainResult:
    """Fit on the labelled historical cohort, save the artifact, add a registry row (``con`` writable).

    Args:
        cv_folds: folds of the cross-validated estimate stored in the registry metrics (0 skips it).
        attention: also fit the attention-fusion comparison model on the same cohort and save it
            beside the artifact (its per-patient modality weights are shown on the Explain page).

    Raises:
        ValueError: too few labelled patients.
    """
    now = now or datetime.now()
    cohort = labelled_cohort(con)
    y = cohort.y
    logger.info("training on %d labelled historical patients (%d events)", len(y), int(y.sum()))
    model = fit_late_fusion(cohort.features, y, seed=seed, n_members=n_members, projection=cohort.projection)
    expl = explain(model, cohort.features)
    metrics: dict = {
        "target": target.TARGET, "horizon_days": target.HORIZON_DAYS, "n_train": len(y), "n_events": int(y.sum()),
        "prevalence": float(y.mean()), "seed": seed, "modalities": list(model.modalities),
        "fusion": {"coef_raw": model.coef_raw, "coef_present": model.coef_present, "intercept": model.intercept,
                   "platt_a": model.platt_a, "platt_b": model.platt_b, "presence_rate": model.presence_rate},
        "threshold": model.threshold,
        "explained_space": "calibrated log-odds",
        "global_importance": global_importance(expl).head(40).to_dicts(),
        "cohort_ablation": cohort_ablation(expl).to_dicts(),
    }
    if cv_folds:
        from core.models.evaluate import cross_validate, headline

        try:
            cv = cross_validate(cohort, folds=cv_folds, seed=seed, strategies=("late",), n_members=0, singles=False,
                                masked=False)
            metrics["cross_validated"] = headline(cv)
        except ValueError as e:  # a fold too small to fit: the model is still usable, say so
            logger.warning("no cross-validated estimate: %s", e)
            metrics["cross_validated"] = {"error": str(e)}
    data_hash = training_data_hash(cohort.features.drop("as_of"), y.tolist())
    version = new_version(data_hash, now)
    taken = set(entries(con)["version"].to_list())
    base, k = version, 2
    while version in taken:  # two trainings in the same second on the same data
        version, k = f"{base}.{k}", k + 1
    rel = artifact_file(MODEL_ID, version)
    sha = save_artifact(model, resolve_artifact(rel), extra={"model_id": MODEL_ID, "version": version,
                                                             "training_data_hash": data_hash,
                                                             "command": "python -m core train"})
    if attention:
        metrics[ATTENTION_KEY] = _save_attention_model(cohort, seed, version, data_hash)
    entry = RegistryEntry(MODEL_ID, version, KIND, data_hash, rel, sha, metrics, now)
    register(con, entry)
    logger.info("registered %s version %s", MODEL_ID, version)
    return TrainResult(model, entry)


def _save_attention_model(cohort: LabelledCohort, seed: int, version: str, data_hash: str) -> dict:
    """Fit the attention-fusion comparison model (never served) and save it beside the served artifact.

    Returns the registry-metrics record: artifact path and sha256, or the reason there is none
    (a cohort too small is logged, never fatal: the served model is still registered).
    """
    from core.models.artifact import write_json_artifact

    try:
        from core.models.torch_fusion import fit_torch_fusion, model_to_dict

        model = fit_torch_fusion(cohort.features, cohort.y, attention=True, seed=seed)
    except (ImportError, ValueError) as e:
        logger.warning("attention comparison model not trained: %s", e)
        return {"error": str(e)}
    rel = comparison_artifact_file(MODEL_ID, version, "attention")
    meta = {"model_id": MODEL_ID, "version": version, "training_data_hash": data_hash, "seed": seed,
            "role": "comparison (attention fusion), not served", "command": "python -m core train"}
    sha = write_json_artifact(model_to_dict(model) | {"meta": meta}, resolve_artifact(rel))
    return {"artifact_path": rel, "artifact_sha256": sha, "strategy": "attention", "served": False}
