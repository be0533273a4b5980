"""Scoring patients: prediction with interval, SHAP, ablation, review triggers and discrepancies.

``model_outputs`` computes everything for a list of patients without writing (the
dashboard calls it on demand for patients that are not on a board agenda);
``write_outputs`` stores it in a writable store version. A prediction id is stable for
(patient, model version, as-of date): re-scoring with the same model replaces its rows,
retraining adds new rows and leaves the earlier predictions untouched.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from core.ingest.base import insert_rows, stable_id
from core.models import target
from core.models.discrepancy import DETECTOR, detect_discrepancies
from core.models.explain import EXPLAINER, Explanation, explain
from core.models.features import MODALITIES, OOD_COLUMN, patient_features, presence_column
from core.models.fusion import LateFusionModel, cancer_types
from core.models.registry import RegistryEntry
from core.models.triggers import review_triggers
from core.store.queries import frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelOutputs:
    """Rows for the predictions, attributions, ablations, review_triggers and discrepancies tables."""

    predictions: pl.DataFrame
    attributions: pl.DataFrame
    ablations: pl.DataFrame
    review_triggers: pl.DataFrame
    discrepancies: pl.DataFrame
    explanations: list[Explanation]


def board_case_patients(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Patients on a board agenda who are not historical (the current cases)."""
    df = frame(con, """SELECT DISTINCT bc.patient_id FROM board_cases bc JOIN patients p USING (patient_id)
                       WHERE coalesce(p.cohort, '') <> 'historical' ORDER BY 1""")
    return df["patient_id"].to_list()


def prediction_id(patient_id: str, entry: RegistryEntry, as_of: datetime) -> str:
    return stable_id("prediction", patient_id, entry.model_id, entry.version, as_of.isoformat())


def model_outputs(con: duckdb.DuckDBPyConnection, model: LateFusionModel, entry: RegistryEntry,
                  patient_ids: list[str], *, now: datetime | None = None,
                  discrepancies: pl.DataFrame | None = None) -> ModelOutputs:
    """Everything the model says about ``patient_ids`` (as of each patient's index date).

    Args:
        discrepancies: precomputed ``detect_discrepancies`` rows (computed for these patients when None).
    """
    now = now or datetime.now()
    feats = patient_features(con, patient_ids, projection=model.projection)
    if discrepancies is None:
        discrepancies = detect_discrepancies(con, patient_ids, now)
    pred = model.predict(feats)
    expls = explain(model, feats)
    cts = cancer_types(feats)
    p_rows, a_rows, ab_rows, t_rows = [], [], [], []
    presence = {m: feats[presence_column(m)].to_list() for m in MODALITIES}
    for i, pid in enumerate(feats["patient_id"].to_list()):
        as_of = feats["as_of"][i]
        pred_id = prediction_id(pid, entry, as_of)
        e = expls[i]
        # missing = no evidence of it on file (whether or not the model has a part for it)
        missing = [m for m in MODALITIES if not presence[m][i]]
        p_rows.append({"prediction_id": pred_id, "patient_id": pid, "model_id": entry.model_id,
                       "model_version": entry.version, "training_data_hash": entry.training_data_hash,
                       "target": target.TARGET, "risk": float(pred.risk[i]), "risk_low": float(pred.risk_low[i]),
                       "risk_high": float(pred.risk_high[i]), "threshold": model.threshold,
                       "modalities_used": pred.used(i), "modalities_missing": missing, "as_of": as_of,
                       "scored_at": now})
        for c in e.contributions.iter_rows(named=True):
            a_rows.append({"prediction_id": pred_id, "feature": c["feature"], "modality": c["modality"],
                           "feature_value": c["feature_value"], "shap_value": c["shap_value"],
                           "base_value": e.base_value, "explainer": EXPLAINER})
        for r in e.ablation.iter_rows(named=True):
            ab_rows.append({"prediction_id": pred_id} | r)
        own = discrepancies.filter(pl.col("patient_id") == pid)["description"].to_list()
        ood = feats[OOD_COLUMN][i]
        for k, t in enumerate(review_triggers(risk=float(pred.risk[i]), risk_low=float(pred.risk_low[i]),
                                              risk_high=float(pred.risk_high[i]), threshold=model.threshold,
                                              cancer_type=cts[i], modalities_missing=missing,
                                              discrepancies=own, ood_percentile=ood)):
            t_rows.append({"trigger_id": stable_id(pred_id, t.kind.value, k, t.reason), "patient_id": pid,
                           "prediction_id": pred_id, "trigger": t.kind.value, "reason": t.reason,
                           "severity": t.severity, "created_at": now})
    return ModelOutputs(
        predictions=pl.DataFrame(p_rows, schema=_PRED_SCHEMA),
        attributions=pl.DataFrame(a_rows, schema={"prediction_id": pl.Utf8, "feature": pl.Utf8, "modality": pl.Utf8,
                                                  "feature_value": pl.Utf8, "shap_value": pl.Float64,
                                                  "base_value": pl.Float64, "explainer": pl.Utf8}),
        ablations=pl.DataFrame(ab_rows, schema={"prediction_id": pl.Utf8, "scenario": pl.Utf8, "modality": pl.Utf8,
                                                "risk": pl.Float64, "delta": pl.Float64}),
        review_triggers=pl.DataFrame(t_rows, schema={"trigger_id": pl.Utf8, "patient_id": pl.Utf8,
                                                     "prediction_id": pl.Utf8, "trigger": pl.Utf8, "reason": pl.Utf8,
                                                     "severity": pl.Utf8, "created_at": pl.Datetime("us")}),
        discrepancies=discrepancies, explanations=expls)


_PRED_SCHEMA = {"prediction_id": pl.Utf8, "patient_id": pl.Utf8, "model_id": pl.Utf8, "model_version": pl.Utf8,
                "training_data_hash": pl.Utf8, "target": pl.Utf8, "risk": pl.Float64, "risk_low": pl.Float64,
                "risk_high": pl.Float64, "threshold": pl.Float64, "modalities_used": pl.List(pl.Utf8),
                "modalities_missing": pl.List(pl.Utf8), "as_of": pl.Datetime("us"), "scored_at": pl.Datetime("us")}


def write_outputs(con: duckdb.DuckDBPyConnection, out: ModelOutputs, *,
                  discrepancies_for: list[str] | None = None) -> None:
    """Store ``out`` (``con`` writable). Rows of the same prediction ids are replaced; other predictions stay.

    Args:
        discrepancies_for: patients whose discrepancies ``out`` holds in full (None: every
            patient). This detector's earlier rows for them are replaced; ids are stable, so
            reviews recorded in the board store stay attached.
    """
    ids = out.predictions["prediction_id"].to_list()
    con.execute("BEGIN TRANSACTION")
    try:
        if ids:
            for table in ("attributions", "ablations", "review_triggers", "predictions"):
                con.execute(f"DELETE FROM {table} WHERE prediction_id IN (SELECT unnest(?))", [ids])
        for table, df in (("predictions", out.predictions), ("attributions", out.attributions),
                          ("ablations", out.ablations), ("review_triggers", out.review_triggers)):
            if df.height:
                insert_rows(con, table, df.to_dicts())
        if discrepancies_for is None:
            con.execute("DELETE FROM discrepancies WHERE detector = ?", [DETECTOR])
        elif discrepancies_for:
            con.execute("DELETE FROM discrepancies WHERE detector = ? AND patient_id IN (SELECT unnest(?))",
                        [DETECTOR, discrepancies_for])
        if out.discrepancies.height:
            insert_rows(con, "discrepancies", out.discrepancies.to_dicts())
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def score_and_write(con: duckdb.DuckDBPyConnection, model: LateFusionModel, entry: RegistryEntry,
                    patient_ids: list[str] | None = None, now: datetime | None = None) -> ModelOutputs:
    """Score ``patient_ids`` (default: the current board cases), detect discrepancies for every
    patient in the store, and write it all (``con`` writable)."""
    now = now or datetime.now()
    ids = board_case_patients(con) if patient_ids is None else patient_ids
    disc_all = detect_discrepancies(con, None, now)
    out = model_outputs(con, model, entry, ids, now=now, discrepancies=disc_all)
    write_outputs(con, out, discrepancies_for=None)
    logger.info("scored %d patients with %s %s; %d discrepancies in the store", len(ids), entry.model_id,
                entry.version, disc_all.height)
    return out
