"""Model registry: one row per trained model version in ``model_registry``; artifacts under ``models_dir``.

Predictions name the model id and version they came from, so retraining adds a version
and never rewrites earlier predictions.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from core.config import path_setting
from core.models.artifact import load_artifact, read_json_artifact
from core.models.fusion import LateFusionModel
from core.models.metrics import clean_json
from core.store.queries import frame

if TYPE_CHECKING:  # torch is imported only when an attention model is loaded
    from core.models.torch_fusion import AttentionFusionModel

logger = logging.getLogger(__name__)

MODEL_ID = "fusion-pd12m"
KIND = "late-fusion"
ATTENTION_KEY = "attention_model"   # registry metrics key of the attention comparison model (not served)


@dataclass(frozen=True)
class RegistryEntry:
    model_id: str
    version: str
    kind: str
    training_data_hash: str
    artifact_path: str
    artifact_sha256: str
    metrics: dict
    created_at: datetime

    def row(self) -> dict:
        return {"model_id": self.model_id, "version": self.version, "kind": self.kind,
                "training_data_hash": self.training_data_hash, "artifact_path": self.artifact_path,
                "artifact_sha256": self.artifact_sha256,
                "metrics_json": json.dumps(clean_json(self.metrics), default=str),
                "created_at": self.created_at}


def training_data_hash(features: pl.DataFrame, labels: pl.Series | list[int]) -> str:
    """sha256 of the sorted training rows (ids, cut-off dates, features rounded to 1e-6, labels)."""
    df = features.with_columns(pl.Series("label", list(labels))).sort("patient_id")
    num = [c for c, t in df.schema.items() if t.is_float()]
    df = df.with_columns([pl.col(c).round(6) for c in num])
    h = hashlib.sha256()
    for row in df.iter_rows():
        h.update(repr(row).encode())
    return h.hexdigest()


def new_version(data_hash: str, now: datetime | None = None) -> str:
    now = now or datetime.now()
    return f"{now:%Y%m%d.%H%M%S}-{data_hash[:8]}"


def artifact_file(model_id: str, version: str) -> str:
    """Artifact path relative to the ``models_dir`` setting."""
    return f"fusion/{model_id}-{version}.json"


def comparison_artifact_file(model_id: str, version: str, strategy: str) -> str:
    """Path (relative to ``models_dir``) of a comparison model trained with a served version, beside its artifact."""
    return f"fusion/{model_id}-{version}.{strategy}.json"


def resolve_artifact(artifact_path: str) -> Path:
    p = Path(artifact_path)
    return p if p.is_absolute() else path_setting("models_dir") / p


def register(con: duckdb.DuckDBPyConnection, entry: RegistryEntry) -> None:
    """Insert one registry row (a version is never overwritten)."""
    from core.ingest.base import insert_rows

    exists = con.execute("SELECT 1 FROM model_registry WHERE model_id = ? AND version = ?",
                         [entry.model_id, entry.version]).fetchone()
    if exists:
        raise ValueError(f"model {entry.model_id} version {entry.version} is already registered")
    insert_rows(con, "model_registry", [entry.row()])


def entries(con: duckdb.DuckDBPyConnection, model_id: str = MODEL_ID) -> pl.DataFrame:
    """Every registered version of ``model_id``, newest first."""
    return frame(con, "SELECT * FROM model_registry WHERE model_id = ? ORDER BY created_at DESC, version DESC",
                 [model_id])


def _entry(row: dict) -> RegistryEntry:
    return RegistryEntry(row["model_id"], row["version"], row["kind"], row["training_data_hash"],
                         row["artifact_path"], row["artifact_sha256"], json.loads(row["metrics_json"] or "{}"),
                         row["created_at"])


def get_entry(con: duckdb.DuckDBPyConnection, version: str | None = None, model_id: str = MODEL_ID) -> RegistryEntry | None:
    """The given version, or the newest one; None when nothing is registered."""
    df = entries(con, model_id)
    if version is not None:
        df = df.filter(pl.col("version") == version)
    return _entry(df.row(0, named=True)) if df.height else None


@lru_cache(maxsize=4)
def _load(path: str, sha256: str) -> LateFusionModel:
    return load_artifact(Path(path), sha256)


def load_model(con: duckdb.DuckDBPyConnection, version: str | None = None) -> tuple[LateFusionModel, RegistryEntry]:
    """The registered model (newest unless ``version``) and its registry entry.

    Raises:
        LookupError: no model registered (run ``python -m core train``).
        FileNotFoundError / ValueError: artifact missing or not matching its hash.
    """
    entry = get_entry(con, version)
    if entry is None:
        raise LookupError(f"no {MODEL_ID} model in the store" + (f" with version {version}" if version else "")
                          + ": run `python -m core train`")
    return _load(str(resolve_artifact(entry.artifact_path)), entry.artifact_sha256), entry


@lru_cache(maxsize=4)
def _load_torch(path: str, sha256: str) -> AttentionFusionModel:
    from core.models.torch_fusion import model_from_dict

    return model_from_dict(read_json_artifact(Path(path), sha256))


def load_attention_model(entry: RegistryEntry) -> AttentionFusionModel:
    """The attention-fusion comparison model trained with the served version ``entry`` (shown, never served).

    Raises:
        LookupError: that version was trained without one (the reason, when recorded, is in the message).
        FileNotFoundError / ValueError: artifact missing or not matching its hash.
    """
    info = entry.metrics.get(ATTENTION_KEY) or {}
    if not info.get("artifact_path"):
        why = info.get("error") or "trained before attention models were saved"
        raise LookupError(f"model version {entry.version} has no attention comparison model ({why}): "
                          "run `python -m core train`")
    return _load_torch(str(resolve_artifact(info["artifact_path"])), info["artifact_sha256"])
