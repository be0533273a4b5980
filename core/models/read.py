"""Read API of model outputs for the dashboard (no Streamlit, no model code in pages).

Stored outputs exist for the board cases (``python -m core score``); ``explain_on_demand``
computes the same frames for any other patient with the newest registered model.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import polars as pl

from core.models.discrepancy import COLUMNS as DISCREPANCY_COLUMNS
from core.models.discrepancy import DETECTOR
from core.models.registry import MODEL_ID, get_entry
from core.store.queries import frame

EXPLAINED_SPACE = "calibrated log-odds"
CAVEAT = ("SHAP values and ablations explain what this model does with the data on file, not the disease: "
          "they are associations learned from past patients, in log-odds of the model's risk, not causes.")


def latest_prediction(con: duckdb.DuckDBPyConnection, patient_id: str) -> dict | None:
    """The patient's most recent stored prediction (any model version), or None.

    Keys: prediction_id, patient_id, model_id, model_version, training_data_hash, target, risk,
    risk_low, risk_high, threshold, modalities_used, modalities_missing, as_of, scored_at, base_value.
    """
    df = frame(con, """
        SELECT p.*, (SELECT any_value(a.base_value) FROM attributions a WHERE a.prediction_id = p.prediction_id)
                    AS base_value
        FROM predictions p WHERE p.patient_id = ? ORDER BY p.scored_at DESC, p.model_version DESC LIMIT 1""",
               [patient_id])
    return df.row(0, named=True) if df.height else None


def prediction_history(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    """Every stored prediction of the patient, newest first (earlier model versions included)."""
    return frame(con, """SELECT prediction_id, model_id, model_version, risk, risk_low, risk_high, as_of, scored_at,
                                modalities_used, modalities_missing
                         FROM predictions WHERE patient_id = ? ORDER BY scored_at DESC, model_version DESC""",
                 [patient_id])


def attributions(con: duckdb.DuckDBPyConnection, prediction_id: str) -> pl.DataFrame:
    """Per-feature SHAP values (calibrated log-odds), largest magnitude first.

    Columns: feature, modality, feature_value, shap_value, base_value, explainer.
    """
    return frame(con, """SELECT feature, modality, feature_value, shap_value, base_value, explainer
                         FROM attributions WHERE prediction_id = ? ORDER BY abs(shap_value) DESC, feature""",
                 [prediction_id])


def modality_contributions(con: duckdb.DuckDBPyConnection, prediction_id: str) -> pl.DataFrame:
    """SHAP summed per modality. Columns: modality, shap_value, n_features, base_value."""
    return frame(con, """SELECT modality, sum(shap_value) AS shap_value, count(*) AS n_features,
                                any_value(base_value) AS base_value
                         FROM attributions WHERE prediction_id = ? GROUP BY modality
                         ORDER BY abs(sum(shap_value)) DESC""", [prediction_id])


def ablations(con: duckdb.DuckDBPyConnection, prediction_id: str) -> pl.DataFrame:
    """Risk with all modalities ('all'), without each ('without') and with each alone ('only').

    Columns: scenario, modality, risk, delta (risk minus the full prediction).
    """
    return frame(con, """SELECT scenario, modality, risk, delta FROM ablations WHERE prediction_id = ?
                         ORDER BY CASE scenario WHEN 'all' THEN 0 WHEN 'without' THEN 1 ELSE 2 END, modality""",
                 [prediction_id])


def review_triggers(con: duckdb.DuckDBPyConnection, patient_id: str, prediction_id: str | None = None) -> pl.DataFrame:
    """Triggers of one prediction (default: the latest). Columns: trigger, reason, severity, created_at, ..."""
    if prediction_id is None:
        latest = latest_prediction(con, patient_id)
        if latest is None:
            return frame(con, "SELECT * FROM review_triggers WHERE false")
        prediction_id = latest["prediction_id"]
    return frame(con, """SELECT trigger_id, patient_id, prediction_id, trigger, reason, severity, created_at
                         FROM review_triggers WHERE patient_id = ? AND prediction_id = ?
                         ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, trigger""",
                 [patient_id, prediction_id])


def discrepancies(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    """The patient's discrepancies with both evidence pointers unpacked.

    Columns: discrepancy_id, kind, description, detected_at, detector, evidence_a, evidence_b and
    a_table, a_source_sha256, a_locator, b_table, b_source_sha256, b_locator (feed
    ``core.store.queries.evidence_row`` to open either source).
    """
    df = frame(con, """SELECT discrepancy_id, kind, description, detected_at, detector, evidence_a, evidence_b
                       FROM discrepancies WHERE patient_id = ? ORDER BY kind, discrepancy_id""", [patient_id])
    return unpack_evidence(df)


def unpack_evidence(df: pl.DataFrame) -> pl.DataFrame:
    """Add a_/b_ table, source_sha256 and locator columns parsed from the evidence JSON."""
    cols = {}
    for side in ("a", "b"):
        parsed = [json.loads(s) if s else {} for s in df[f"evidence_{side}"].to_list()] if df.height else []
        for key in ("table", "source_sha256", "locator"):
            cols[f"{side}_{key}"] = pl.Series([p.get(key) for p in parsed], dtype=pl.Utf8)
    return df.with_columns(**cols) if df.height else df.with_columns(
        [pl.lit(None, dtype=pl.Utf8).alias(k) for k in cols])


def _registry_metrics(con: duckdb.DuckDBPyConnection, version: str | None) -> dict:
    entry = get_entry(con, version, MODEL_ID)
    return entry.metrics if entry else {}


def global_importance(con: duckdb.DuckDBPyConnection, version: str | None = None) -> pl.DataFrame:
    """Mean |SHAP| per feature over the training cohort of the newest (or given) model version.

    Columns: feature, modality, mean_abs_shap, description.
    """
    rows = _registry_metrics(con, version).get("global_importance", [])
    schema = {"feature": pl.Utf8, "modality": pl.Utf8, "mean_abs_shap": pl.Float64, "description": pl.Utf8}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def cohort_ablation(con: duckdb.DuckDBPyConnection, version: str | None = None) -> pl.DataFrame:
    """Ablation averaged over the training cohort. Columns: scenario, modality, n, mean_delta, mean_abs_delta."""
    rows = _registry_metrics(con, version).get("cohort_ablation", [])
    schema = {"scenario": pl.Utf8, "modality": pl.Utf8, "n": pl.Int64, "mean_delta": pl.Float64,
              "mean_abs_delta": pl.Float64}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def model_card(con: duckdb.DuckDBPyConnection, version: str | None = None) -> dict | None:
    """Registry entry of the newest (or given) model as a dict (metrics included), or None."""
    entry = get_entry(con, version, MODEL_ID)
    if entry is None:
        return None
    return {"model_id": entry.model_id, "version": entry.version, "kind": entry.kind,
            "training_data_hash": entry.training_data_hash, "created_at": entry.created_at, "metrics": entry.metrics}


@dataclass(frozen=True)
class OnDemand:
    """Model outputs computed now for one patient (same columns as the stored tables)."""

    prediction: dict
    attributions: pl.DataFrame
    modality_contributions: pl.DataFrame
    ablations: pl.DataFrame
    review_triggers: pl.DataFrame
    discrepancies: pl.DataFrame


def explain_on_demand(con: duckdb.DuckDBPyConnection, patient_id: str, version: str | None = None) -> OnDemand:
    """Score and explain one patient now with the newest (or given) registered model; writes nothing.

    Raises:
        LookupError: no model registered.
    """
    from core.models.registry import load_model
    from core.models.score import model_outputs

    model, entry = load_model(con, version)
    stored = None
    if con.execute("SELECT 1 FROM discrepancies WHERE detector = ? LIMIT 1", [DETECTOR]).fetchone():
        # `score` runs the detector over the whole store: reuse its rows (the same ids the board reviews)
        stored = frame(con, f"SELECT {', '.join(DISCREPANCY_COLUMNS)} FROM discrepancies "
                            "WHERE patient_id = ? AND detector = ?", [patient_id, DETECTOR])
    out = model_outputs(con, model, entry, [patient_id], discrepancies=stored)
    pred = out.predictions.row(0, named=True) | {"base_value": out.explanations[0].base_value}
    attr = out.attributions.drop("prediction_id").sort(pl.col("shap_value").abs(), descending=True)
    mods = (out.attributions.group_by("modality")
            .agg(pl.col("shap_value").sum(), pl.len().alias("n_features"), pl.col("base_value").first())
            .sort(pl.col("shap_value").abs(), descending=True))
    return OnDemand(pred, attr, mods, out.ablations.drop("prediction_id"), out.review_triggers,
                    unpack_evidence(out.discrepancies.drop("patient_id")))
