"""Image-encoder embeddings per patient: PCA projection and out-of-distribution distance.

A patient's imaging vector is the mean of the series embeddings of its latest imaging
study on or before the index date. The projection (PCA, fit without labels) turns it
into a few model features; the same fit gives a Mahalanobis distance in the PCA space
plus the reconstruction residual, whose percentiles among the fitting patients say how
unusual a new patient's images are.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from core.store.queries import frame

logger = logging.getLogger(__name__)

ENCODER_MODEL_ID = "image-encoder"


def encoder_versions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Encoder versions with embeddings in the store, most rows first."""
    df = frame(con, "SELECT model_version, count(*) AS n FROM image_embeddings WHERE model_id = ? "
                    "GROUP BY model_version ORDER BY n DESC, model_version DESC", [ENCODER_MODEL_ID])
    return df["model_version"].to_list()


def patient_embeddings(con: duckdb.DuckDBPyConnection, view: str, *,
                       model_version: str | None) -> tuple[list[str], np.ndarray]:
    """Mean embedding of each patient's latest study on or before ``as_of``.

    Args:
        view: registered relation with columns (patient_id, as_of).
        model_version: encoder version to use (None: the most common one in the store).

    Returns:
        (patient ids, float64 matrix n x d); empty when the store has no embeddings.
    """
    if model_version is None:
        versions = encoder_versions(con)
        if not versions:
            return [], np.zeros((0, 0))
        model_version = versions[0]
    df = frame(con, f"""
        WITH e AS (
            SELECT e.patient_id, e.series_uid, e.observed_at, e.vector,
                   max(e.observed_at) OVER (PARTITION BY e.patient_id) AS latest
            FROM image_embeddings e JOIN {view} i USING (patient_id)
            WHERE e.model_id = ? AND e.model_version = ?
              AND (e.observed_at IS NULL OR e.observed_at <= i.as_of))
        SELECT patient_id, vector FROM e
        WHERE observed_at IS NOT DISTINCT FROM latest OR latest IS NULL
        ORDER BY patient_id, series_uid""", [ENCODER_MODEL_ID, model_version])
    if df.height == 0:
        return [], np.zeros((0, 0))
    ids: list[str] = []
    means: list[np.ndarray] = []
    for (pid,), g in df.group_by("patient_id", maintain_order=True):
        mat = np.asarray(g["vector"].to_list(), dtype=np.float64)
        ids.append(pid)
        means.append(mat.mean(axis=0))
    return ids, np.vstack(means)


@dataclass
class EmbeddingProjection:
    """PCA of patient embeddings with Mahalanobis / residual reference distributions."""

    encoder_version: str | None
    mean: np.ndarray
    components: np.ndarray          # k x d
    variances: np.ndarray           # k eigenvalues
    ref_mahalanobis: np.ndarray = field(default_factory=lambda: np.zeros(0))  # sorted, fitting patients
    ref_residual: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    @classmethod
    def fit(cls, vectors: np.ndarray, n_components: int, encoder_version: str | None) -> EmbeddingProjection:
        """PCA by SVD on centred vectors; keeps at most n-1 components."""
        x = np.asarray(vectors, dtype=np.float64)
        mean = x.mean(axis=0)
        xc = x - mean
        k = max(0, min(n_components, x.shape[0] - 1, x.shape[1]))
        _, s, vt = np.linalg.svd(xc, full_matrices=False)
        comps = vt[:k]
        var = (s[:k] ** 2) / max(x.shape[0] - 1, 1)
        proj = cls(encoder_version, mean, comps, np.maximum(var, 1e-12))
        maha, resid = proj.distances(x)
        proj.ref_mahalanobis, proj.ref_residual = np.sort(maha), np.sort(resid)
        return proj

    @classmethod
    def fit_from_store(cls, con: duckdb.DuckDBPyConnection, n_components: int) -> EmbeddingProjection | None:
        """Fit on the historical patients' index-date embeddings; None if the store has too few."""
        from core.models.target import index_dates

        versions = encoder_versions(con)
        if not versions:
            return None
        idx = index_dates(con).filter(pl.col("cohort") == "historical").select(
            "patient_id", pl.col("index_date").alias("as_of"))
        if idx.height == 0:
            idx = index_dates(con).select("patient_id", pl.col("index_date").alias("as_of"))
        view = f"_proj_idx_{uuid.uuid4().hex[:8]}"
        con.register(view, idx.to_arrow())
        try:
            ids, vecs = patient_embeddings(con, view, model_version=versions[0])
        finally:
            con.unregister(view)
        if len(ids) < 3:
            return None
        return cls.fit(vecs, n_components, versions[0])

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        return (np.asarray(vectors, dtype=np.float64) - self.mean) @ self.components.T

    def distances(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Mahalanobis distance in PCA space, norm of the residual outside it) per row."""
        xc = np.asarray(vectors, dtype=np.float64) - self.mean
        z = xc @ self.components.T
        maha = np.sqrt(((z ** 2) / self.variances).sum(axis=1))
        resid = np.linalg.norm(xc - z @ self.components, axis=1)
        return maha, resid

    def ood_percentile(self, vectors: np.ndarray) -> np.ndarray:
        """Per row, the larger of the two distance percentiles among the fitting patients (0-100)."""
        maha, resid = self.distances(vectors)
        p1 = _percentile_of(self.ref_mahalanobis, maha)
        p2 = _percentile_of(self.ref_residual, resid)
        return np.maximum(p1, p2)

    def to_json(self) -> dict:
        return {"encoder_version": self.encoder_version, "mean": self.mean.tolist(),
                "components": self.components.tolist(), "variances": self.variances.tolist(),
                "ref_mahalanobis": self.ref_mahalanobis.tolist(), "ref_residual": self.ref_residual.tolist()}

    @classmethod
    def from_json(cls, d: dict | None) -> EmbeddingProjection | None:
        if not d:
            return None
        return cls(d["encoder_version"], np.asarray(d["mean"]), np.asarray(d["components"]).reshape(-1, len(d["mean"])),
                   np.asarray(d["variances"]), np.asarray(d["ref_mahalanobis"]), np.asarray(d["ref_residual"]))


def _percentile_of(ref: np.ndarray, values: np.ndarray) -> np.ndarray:
    if ref.size == 0:
        return np.zeros(len(values))
    return 100.0 * np.searchsorted(ref, values, side="right") / ref.size
