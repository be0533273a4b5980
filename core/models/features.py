"""Model features per patient, grouped by modality, computed from evidence dated on or before the index date.

Every feature belongs to exactly one modality and is computed only from sources of that
modality, so that "imaging only" or "without genomics" mean what they say. A modality
with no evidence gives NaN for all its features and ``present_<modality> = False``.
Within a present modality, a value that was never measured stays NaN (a gene not on the
panel is *not tested*, never 0); a value that was looked for and not found is 0.

Note events about family members or hypothetical statements are ignored; negated
symptoms count as absent; negated biomarker mentions ("no EGFR mutation") as negative.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

import duckdb
import polars as pl

from core.models import extract
from core.models.feature_registry import (FEATURE_BY_NAME, FEATURES, FIT_PROJECTION, GENES, MODALITIES,
                                          N_EMBEDDING_PCS, OOD_COLUMN, Feature, as_matrix, feature_display,
                                          feature_names, presence_column)
from core.models.projection import EmbeddingProjection
from core.models.target import index_dates
from core.models.vocab import biomarker_key, result_positive
from core.store.queries import frame

logger = logging.getLogger(__name__)

__all__ = ["FEATURES", "FEATURE_BY_NAME", "FIT_PROJECTION", "GENES", "MODALITIES", "N_EMBEDDING_PCS", "OOD_COLUMN",
           "Feature", "as_matrix", "biomarker_key", "feature_display", "feature_names", "patient_features",
           "presence_column", "result_positive"]


def patient_features(con: duckdb.DuckDBPyConnection, patient_ids: Iterable[str] | None = None, *,
                     as_of: pl.DataFrame | datetime | None = None,
                     projection: EmbeddingProjection | None | str = FIT_PROJECTION) -> pl.DataFrame:
    """Feature frame, one row per patient.

    Args:
        con: evidence-store connection (read-only is fine).
        patient_ids: patients to compute; None means every patient in the store.
        as_of: cut-off for evidence: a frame (patient_id, as_of), one datetime for all, or
            None for each patient's index date (``core.models.target.index_dates``).
        projection: embedding PCA of a trained model (None: that model had none, so no
            embedding features); the default ``FIT_PROJECTION`` fits one on the store's
            historical patients (unsupervised, no labels).

    Returns:
        columns patient_id, as_of, every ``FEATURES`` name (Float64, NaN when unknown) and
        ``present_<modality>`` (Boolean) for each of ``MODALITIES``, and ``imaging_ood_percentile``
        (0-100, null without embeddings; not a model input).
    """
    idx = _index_frame(con, patient_ids, as_of)
    out = idx
    if idx.height == 0:
        return _empty()
    view = f"_fx_idx_{uuid.uuid4().hex[:8]}"
    con.register(view, idx.to_arrow())
    try:
        if isinstance(projection, str):
            projection = EmbeddingProjection.fit_from_store(con, n_components=N_EMBEDDING_PCS)
        parts = [extract.imaging(con, view, projection), extract.notes(con, view),
                 extract.genomics(con, view), extract.clinical(con, view)]
    finally:
        con.unregister(view)
    for part in parts:
        out = out.join(part, on="patient_id", how="left")
    cols = []
    for f in FEATURES:
        cols.append((pl.col(f.name) if f.name in out.columns else pl.lit(None)).cast(pl.Float64)
                    .fill_null(float("nan")).alias(f.name))
    for m in MODALITIES:
        c = presence_column(m)
        cols.append((pl.col(c) if c in out.columns else pl.lit(False)).fill_null(False).cast(pl.Boolean).alias(c))
    ood = (pl.col(OOD_COLUMN) if OOD_COLUMN in out.columns else pl.lit(None)).cast(pl.Float64).alias(OOD_COLUMN)
    out = out.select("patient_id", "as_of", *cols, ood)
    # A missing modality: all its features NaN (never a half-filled modality).
    for m in MODALITIES:
        names = feature_names(m)
        out = out.with_columns([pl.when(pl.col(presence_column(m))).then(pl.col(n)).otherwise(float("nan")).alias(n)
                                for n in names])
    return out.sort("patient_id")


def _empty() -> pl.DataFrame:
    schema = {"patient_id": pl.Utf8, "as_of": pl.Datetime("us")}
    schema |= {f.name: pl.Float64 for f in FEATURES}
    schema |= {presence_column(m): pl.Boolean for m in MODALITIES}
    schema |= {OOD_COLUMN: pl.Float64}
    return pl.DataFrame(schema=schema)


def _index_frame(con: duckdb.DuckDBPyConnection, patient_ids: Iterable[str] | None,
                 as_of: pl.DataFrame | datetime | None) -> pl.DataFrame:
    ids = None if patient_ids is None else list(dict.fromkeys(patient_ids))
    if isinstance(as_of, pl.DataFrame):
        idx = as_of.select("patient_id", pl.col("as_of").cast(pl.Datetime("us")))
    elif isinstance(as_of, datetime):
        base = frame(con, "SELECT patient_id FROM patients ORDER BY patient_id")
        idx = base.with_columns(pl.lit(as_of).cast(pl.Datetime("us")).alias("as_of"))
    else:
        idx = index_dates(con, ids).select("patient_id", pl.col("index_date").cast(pl.Datetime("us")).alias("as_of"))
    if ids is not None:
        idx = pl.DataFrame({"patient_id": ids}, schema={"patient_id": pl.Utf8}).join(idx, on="patient_id", how="left")
    # Without any date (patient not in the store) use "now": all evidence counts.
    return idx.with_columns(pl.col("as_of").fill_null(datetime.now()))
