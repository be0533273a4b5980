"""One image embedding per imaging series, written to ``image_embeddings`` (``python -m core embed``).

For each series the encoder picks its lesion slice - the slice a radiologist annotated
(``lesion_measurements.sop_instance_uid``), else the slice where the detector is most
confident - and describes a crop centred on the annotated centre, else on the
detector's peak. Each row carries the model id and version, the chosen slice and the
provenance contract (locator = series UID, source = the chosen slice's file). The
encoder is registered in ``model_registry`` so embeddings point to a known version.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from core.config import path_setting
from core.imaging.encoder import MODEL_ID, EncoderMetadata, LesionEncoder, default_weights_path, encode, load_encoder
from core.imaging.pixels import load_slice
from core.ingest.base import insert_rows, stable_id
from core.store.queries import frame
from core.store.schema import Modality

logger = logging.getLogger(__name__)

EXTRACTOR = "core.imaging.embed"
EXTRACTOR_VERSION = "1"
REGISTRY_KIND = "image-encoder-cnn"


@dataclass
class EmbedSummary:
    """What one embedding run did."""

    model_version: str
    n_series: int = 0
    n_written: int = 0
    n_annotated: int = 0          # crop centred on a radiologist's annotation
    n_failed: int = 0             # series without a readable slice (see ingest_errors)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"embedded {self.n_written}/{self.n_series} series with {MODEL_ID} {self.model_version} "
                f"({self.n_annotated} at annotated lesions, {self.n_failed} failed) in {self.seconds:.1f} s")


def register_encoder(con: duckdb.DuckDBPyConnection, meta: EncoderMetadata, weights: Path) -> None:
    """Add the encoder version to ``model_registry`` (kept as is when already there)."""
    models_dir = path_setting("models_dir").resolve()
    w = weights.resolve()
    artifact = str(w.relative_to(models_dir)) if w.is_relative_to(models_dir) else str(w)
    created = datetime.fromisoformat(meta.created_at).replace(tzinfo=None) if meta.created_at else None
    insert_rows(con, "model_registry", [{
        "model_id": meta.model_id, "version": meta.version, "kind": REGISTRY_KIND,
        "training_data_hash": meta.training_data_hash, "artifact_path": artifact,
        "artifact_sha256": meta.artifact_sha256,
        "metrics_json": json.dumps({**meta.metrics, "command": meta.command, "seed": meta.seed}, sort_keys=True),
        "created_at": created,
    }])


def series_instances(con: duckdb.DuckDBPyConnection, series_uids: Iterable[str] | None = None) -> pl.DataFrame:
    """Every instance with a file, with its series' annotated lesion (largest measurement) if any."""
    where, params = "", []
    if series_uids is not None:
        uids = list(series_uids)
        where, params = "AND i.series_uid IN (SELECT unnest(?))", [uids]
    return frame(con, f"""
        WITH m AS (
            SELECT sop_instance_uid, center_row, center_col,
                   row_number() OVER (PARTITION BY sop_instance_uid ORDER BY long_axis_mm DESC NULLS LAST) AS k
            FROM lesion_measurements
            WHERE sop_instance_uid IS NOT NULL AND center_row IS NOT NULL AND center_col IS NOT NULL)
        SELECT i.series_uid, i.sop_instance_uid, i.instance_number, i.file_path, i.patient_id, i.observed_at,
               i.source_uri, i.source_sha256, m.center_row, m.center_col
        FROM imaging_instances i LEFT JOIN m ON m.sop_instance_uid = i.sop_instance_uid AND m.k = 1
        WHERE i.file_path IS NOT NULL {where}
        ORDER BY i.series_uid, i.instance_number, i.sop_instance_uid""", params)


@dataclass
class _Series:
    uid: str
    rows: list[dict]
    hu: list[np.ndarray]


def _load_series(df: pl.DataFrame, on_error: Callable[[dict, str], None]) -> list[_Series]:
    out = []
    for (uid,), g in df.group_by("series_uid", maintain_order=True):
        rows, hu = [], []
        for r in g.iter_rows(named=True):
            try:
                hu.append(load_slice(r["file_path"]))
                rows.append(r)
            except (ValueError, OSError) as e:
                on_error(r, str(e))
        out.append(_Series(uid, rows, hu))
    return out


def embed_series(con: duckdb.DuckDBPyConnection, *, model: LesionEncoder | None = None,
                 meta: EncoderMetadata | None = None, weights: Path | None = None,
                 series_uids: Iterable[str] | None = None, batch_size: int = 64) -> EmbedSummary:
    """Compute and store one embedding per imaging series (all series, or ``series_uids``).

    Args:
        con: a writable evidence-store connection (inside ``core.store.db.evidence_writer()``).
        model, meta: a loaded encoder and its metadata; default: ``load_encoder(weights)``.
        weights: the weights file (default ``default_weights_path()``), recorded in ``model_registry``.
        series_uids: restrict to these series.

    Returns:
        ``EmbedSummary``. Earlier rows of the same model version for these series are replaced;
        other versions stay. Unreadable slices become ``ingest_errors`` rows (kind 'embed').
    """
    t0 = time.perf_counter()
    weights = weights or default_weights_path()
    if model is None or meta is None:
        model, meta = load_encoder(weights)
    register_encoder(con, meta, weights)
    run_id = f"embed-{uuid.uuid4().hex[:12]}"
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    summary = EmbedSummary(meta.version)
    errors: list[dict] = []

    def on_error(r: dict, reason: str) -> None:
        errors.append({"error_id": stable_id(r["source_uri"], r["source_sha256"], "embed", reason),
                       "ingest_run_id": run_id, "source_uri": r["source_uri"], "source_sha256": r["source_sha256"],
                       "kind": "embed", "locator": r["sop_instance_uid"], "severity": "error",
                       "error_type": "UnreadablePixels", "message": reason, "created_at": now})

    series = _load_series(series_instances(con, series_uids), on_error)
    summary.n_series = len(series)
    rows = []
    for chunk_start in range(0, len(series), max(1, batch_size // 5)):
        chunk = [s for s in series[chunk_start:chunk_start + max(1, batch_size // 5)] if s.hu]
        if not chunk:
            continue
        flat = [h for s in chunk for h in s.hu]
        det = encode(model, flat, batch_size=batch_size)
        chosen, centres, pos = [], [], 0
        for s in chunk:
            n = len(s.hu)
            annotated = [k for k, r in enumerate(s.rows) if r["center_row"] is not None]
            k = annotated[0] if annotated else int(np.argmax(det["presence"][pos:pos + n]))
            chosen.append((s, k, pos + k))
            centres.append((s.rows[k]["center_row"], s.rows[k]["center_col"]) if annotated else None)
            pos += n
        # the crop centre is the annotation when there is one; re-encode those slices there
        ann_idx = [i for i, c in enumerate(centres) if c is not None]
        vecs = {i: det["embedding"][flat_i] for i, (_, _, flat_i) in enumerate(chosen)}
        if ann_idx:
            re = encode(model, [chosen[i][0].hu[chosen[i][1]] for i in ann_idx],
                        centres=[centres[i] for i in ann_idx], batch_size=batch_size)
            for j, i in enumerate(ann_idx):
                vecs[i] = re["embedding"][j]
        summary.n_annotated += len(ann_idx)
        for i, (s, k, _) in enumerate(chosen):
            r = s.rows[k]
            rows.append({
                "embedding_id": stable_id(s.uid, meta.model_id, meta.version), "series_uid": s.uid,
                "sop_instance_uid": r["sop_instance_uid"], "model_id": meta.model_id,
                "model_version": meta.version, "vector": [float(v) for v in vecs[i]],
                "patient_id": r["patient_id"], "modality": str(Modality.IMAGING), "observed_at": r["observed_at"],
                "source_uri": r["source_uri"], "source_sha256": r["source_sha256"], "locator": s.uid,
                "extractor": EXTRACTOR, "extractor_version": EXTRACTOR_VERSION, "ingested_at": now,
                "ingest_run_id": run_id,
            })
    if rows:
        con.execute("DELETE FROM image_embeddings WHERE model_id = ? AND model_version = ? "
                    "AND series_uid IN (SELECT unnest(?))", [meta.model_id, meta.version, [r["series_uid"] for r in rows]])
        insert_rows(con, "image_embeddings", rows)
    if errors:
        insert_rows(con, "ingest_errors", errors)
    summary.n_written = len(rows)
    summary.n_failed = sum(1 for s in series if not s.hu)
    summary.errors = [f"{e['source_uri']} [{e['locator']}]: {e['message']}" for e in errors]
    summary.seconds = time.perf_counter() - t0
    con.execute("INSERT OR IGNORE INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, now, datetime.now(timezone.utc).replace(tzinfo=None), "embed", summary.n_written, 0,
                 summary.n_failed])
    logger.info("%s", summary.line())
    return summary
