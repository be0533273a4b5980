"""Case vectors: how a patient is represented for similar-case search.

The **fused** vector concatenates one block per modality, built from the model features
(``core.models.features.patient_features``, as of each patient's index date) plus the
patient's mean image embedding:

* each feature is log-transformed where heavy-tailed, standardised with the historical
  cohort's mean and standard deviation, and clipped to +-5;
* a value not measured inside a present modality (a gene not on the panel) is imputed
  with the mean of the patient's cancer type (not tested is not negative: it carries no
  evidence either way);
* a block whose modality is missing altogether is imputed the same way and multiplied by
  ``MISSING_BLOCK_WEIGHT``, so it says "typical for this cancer type" quietly;
* each block is scaled by ``weight / sqrt(columns)`` so that blocks count by their weight,
  not by how many columns they have; a few decisive features (cancer type, stage, targetable
  drivers, receptor status) carry ``FEATURE_WEIGHTS`` inside their block;
* the whole vector is L2-normalised, so inner product = cosine similarity.

The **imaging** vector holds only the imaging blocks (lesion features + image embedding)
and exists only for patients with imaging.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
import warnings
from dataclasses import dataclass, field
from enum import StrEnum

import duckdb
import numpy as np
import polars as pl

from core.models import features as fx
from core.models.projection import encoder_versions, patient_embeddings
from core.similar.index import normalise
from core.store.queries import frame

logger = logging.getLogger(__name__)

# Bump when the recipe below changes: persisted indexes built with another recipe are rebuilt.
REPRESENTATION_VERSION = "1"
MISSING_BLOCK_WEIGHT = 0.35
Z_CLIP = 5.0
DEFAULT_EMBED_DIM = 32  # image-encoder default; the real width comes from the store


class CaseKind(StrEnum):
    FUSED = "fused"
    IMAGING = "imaging"


@dataclass(frozen=True)
class Block:
    """One modality block of the case vector."""

    name: str
    modality: str           # presence column suffix (``present_<modality>``)
    weight: float
    columns: tuple[str, ...]


def _block_columns(modality: str) -> tuple[str, ...]:
    # The embedding PCs are replaced by the full mean embedding block.
    return tuple(n for n in fx.feature_names(modality) if not n.startswith("img_emb_pc"))


BLOCKS: tuple[Block, ...] = (
    Block("clinical", "clinical", 1.0, _block_columns("clinical")),
    Block("genomics", "genomics", 1.0, _block_columns("genomics")),
    Block("notes", "notes", 0.6, _block_columns("notes")),
    Block("imaging", "imaging", 0.7, _block_columns("imaging")),
    Block("embedding", "embedding", 0.5, ()),  # columns: emb_0 .. emb_{d-1}, known from the store
)
KIND_BLOCKS: dict[CaseKind, tuple[str, ...]] = {
    CaseKind.FUSED: ("clinical", "genomics", "notes", "imaging", "embedding"),
    CaseKind.IMAGING: ("imaging", "embedding"),
}
# Board members judge similarity by cancer type, stage and targetable driver first.
FEATURE_WEIGHTS: dict[str, float] = {
    "clin_lung": 2.0, "clin_breast": 2.0, "clin_colorectal": 2.0, "clin_small_cell": 1.5, "clin_squamous": 1.2,
    "clin_stage": 1.5, "clin_er_positive": 1.5, "clin_her2_positive": 1.5, "note_er_positive": 1.2,
    "note_her2_positive": 1.2, "gen_EGFR": 1.5, "gen_ALK": 1.5, "gen_KRAS": 1.3, "gen_BRAF": 1.5, "gen_ERBB2": 1.3,
    "gen_msi_high": 1.5, "clin_pdl1_tps": 1.2, "note_pdl1_tps": 1.2,
}
LOG_FEATURES = frozenset({"gen_tmb", "gen_n_variants", "note_pack_years", "img_max_long_axis_mm",
                          "img_sum_long_axis_mm", "img_n_lesions", "clin_lab_ldh", "clin_lab_cea", "clin_lab_ca15_3",
                          "note_weight_loss_pct"})
CANCER_TYPES = ("lung", "breast", "colorectal")


def nominal_dimension(kind: CaseKind | str = CaseKind.FUSED, embed_dim: int = DEFAULT_EMBED_DIM) -> int:
    """Width of the case vector for an encoder of ``embed_dim`` (the benchmark's ``d``)."""
    names = KIND_BLOCKS[CaseKind(kind)]
    return sum(len(b.columns) for b in BLOCKS if b.name in names and b.name != "embedding") + (
        embed_dim if "embedding" in names else 0)


def recipe_version(kind: CaseKind | str, encoder_version: str | None, extra: str = "") -> str:
    """Short hash of everything the vectors depend on besides the store: recipe, blocks, weights, encoder
    (``extra``: versions of what is stored beside the vectors, e.g. the case-table definitions)."""
    payload = json.dumps({"recipe": REPRESENTATION_VERSION, "kind": str(kind), "encoder": encoder_version, "extra": extra,
                          "blocks": [(b.name, b.weight, b.columns) for b in BLOCKS], "weights": FEATURE_WEIGHTS,
                          "missing": MISSING_BLOCK_WEIGHT, "log": sorted(LOG_FEATURES)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


@dataclass
class CaseVectors:
    """Case vectors of every patient that has one, with the features they came from.

    ``matrix`` rows are L2-normalised float32 and follow ``patient_ids``. ``features`` is
    the ``patient_features`` frame (one row per patient in ``patient_ids``) plus
    ``present_embedding``; ``columns`` names each vector dimension (``block:feature``).
    """

    kind: CaseKind
    patient_ids: list[str]
    matrix: np.ndarray
    columns: list[str]
    features: pl.DataFrame
    encoder_version: str | None
    stats: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1]) if self.matrix.ndim == 2 else 0


def case_vectors(con: duckdb.DuckDBPyConnection, kind: CaseKind | str = CaseKind.FUSED,
                 features: pl.DataFrame | None = None) -> CaseVectors:
    """Case vectors of every patient in the store (imaging kind: patients with imaging only).

    Args:
        con: evidence-store connection.
        kind: ``fused`` or ``imaging``.
        features: a precomputed ``patient_features(con)`` frame (saves recomputing it).

    Returns:
        ``CaseVectors``; standardisation statistics are fitted on the historical cohort
        (all patients when there is none) and kept in ``stats``.
    """
    kind = CaseKind(kind)
    feats = features if features is not None else fx.patient_features(con)
    cohort = frame(con, "SELECT patient_id, lower(coalesce(cancer_type, '')) AS cancer_type, "
                        "coalesce(cohort, '') AS cohort FROM patients")
    feats = feats.join(cohort, on="patient_id", how="left").with_columns(
        pl.col("cancer_type").fill_null(""), pl.col("cohort").fill_null(""))
    enc_version, emb = _embeddings(con, feats)
    emb_cols = [f"emb_{j}" for j in range(emb.shape[1] - 1)] if emb.width > 1 else []
    feats = feats.join(emb, on="patient_id", how="left") if emb_cols else feats
    feats = feats.with_columns(pl.col(emb_cols[0]).is_not_null().alias("present_embedding") if emb_cols
                               else pl.lit(False).alias("present_embedding"))
    if kind == CaseKind.IMAGING:
        feats = feats.filter(pl.col("present_imaging") | pl.col("present_embedding"))
    blocks = [b if b.name != "embedding" else Block(b.name, b.modality, b.weight, tuple(emb_cols))
              for b in BLOCKS if b.name in KIND_BLOCKS[kind]]
    blocks = [b for b in blocks if b.columns]
    if feats.height == 0 or not blocks:
        return CaseVectors(kind, [], np.zeros((0, 0), np.float32), [], feats, enc_version)
    hist = (feats["cohort"] == "historical").to_numpy()
    fit_rows = hist if hist.any() else np.ones(feats.height, dtype=bool)
    types = feats["cancer_type"].to_list()
    parts, names, stats = [], [], {"blocks": {}}
    for b in blocks:
        raw = _raw_matrix(feats, b.columns)
        z, st = _standardise(raw, fit_rows, types)
        present = feats[f"present_{b.modality}"].to_numpy().astype(bool)
        w = np.array([FEATURE_WEIGHTS.get(c, 1.0) for c in b.columns]) * b.weight / math.sqrt(len(b.columns))
        scale = np.where(present, 1.0, MISSING_BLOCK_WEIGHT)[:, None]
        parts.append(z * w[None, :] * scale)
        names += [f"{b.name}:{c}" for c in b.columns]
        stats["blocks"][b.name] = st
    matrix = normalise(np.hstack(parts))
    logger.info("case vectors (%s): %d patients x %d dims", kind, matrix.shape[0], matrix.shape[1])
    return CaseVectors(kind, feats["patient_id"].to_list(), matrix, names, feats, enc_version, stats)


def _embeddings(con: duckdb.DuckDBPyConnection, feats: pl.DataFrame) -> tuple[str | None, pl.DataFrame]:
    """(encoder version, frame patient_id + emb_0..) of the mean embedding at each patient's as-of date."""
    versions = encoder_versions(con)
    if not versions:
        return None, pl.DataFrame(schema={"patient_id": pl.Utf8})
    view = f"_sim_idx_{uuid.uuid4().hex[:8]}"
    con.register(view, feats.select("patient_id", "as_of").to_arrow())
    try:
        ids, vecs = patient_embeddings(con, view, model_version=versions[0])
    finally:
        con.unregister(view)
    if not ids:
        return versions[0], pl.DataFrame(schema={"patient_id": pl.Utf8})
    cols = {f"emb_{j}": vecs[:, j] for j in range(vecs.shape[1])}
    return versions[0], pl.DataFrame({"patient_id": ids} | cols)


def _raw_matrix(feats: pl.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    x = feats.select([pl.col(c).cast(pl.Float64).fill_null(float("nan")) for c in columns]).to_numpy().astype(np.float64)
    for j, c in enumerate(columns):
        if c in LOG_FEATURES:
            x[:, j] = np.log1p(np.clip(x[:, j], 0, None))
    return x


def _standardise(raw: np.ndarray, fit_rows: np.ndarray, types: list[str]) -> tuple[np.ndarray, dict]:
    """z-scores (fit rows' mean / sd), clipped; NaN imputed with the cancer type's mean z (else 0)."""
    fit = np.where(np.isfinite(raw[fit_rows]), raw[fit_rows], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled below
        mean = np.nanmean(fit, axis=0) if fit.size else np.zeros(raw.shape[1])
        sd = np.nanstd(fit, axis=0) if fit.size else np.ones(raw.shape[1])
    mean = np.nan_to_num(mean)
    sd = np.where(np.isfinite(sd) & (sd > 1e-9), sd, 1.0)
    z = np.clip((raw - mean) / sd, -Z_CLIP, Z_CLIP)
    type_arr = np.asarray(types, dtype=object)
    type_means: dict[str, list[float]] = {}
    out = z.copy()
    for t in sorted(set(types)):
        rows = type_arr == t
        ref = z[rows & fit_rows]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            tm = np.nanmean(np.where(np.isfinite(ref), ref, np.nan), axis=0) if ref.size else np.zeros(z.shape[1])
        tm = np.nan_to_num(tm)
        type_means[t] = tm.round(6).tolist()
        miss = rows[:, None] & ~np.isfinite(z)
        out = np.where(miss, tm[None, :], out)
    out = np.nan_to_num(out)
    return out, {"mean": mean.round(6).tolist(), "sd": sd.round(6).tolist(), "type_means": type_means}
