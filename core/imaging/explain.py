"""What the dashboard shows for "why did the image model say that?": one slice, its Grad-CAM, the annotation."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import numpy as np

from core.imaging.encoder import LesionEncoder, encode
from core.imaging.gradcam import default_model, gradcam, heatmap_peak
from core.imaging.pixels import load_slice
from core.store.queries import frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SliceExplanation:
    """A series' lesion slice with the encoder's Grad-CAM heatmap (see ``core.imaging.figures.overlay_figure``)."""

    series_uid: str
    sop_instance_uid: str
    source_uri: str
    hu: np.ndarray                               # (H, W) float32 HU
    heatmap: np.ndarray                          # (H, W) float32 in [0, 1]
    peak_rc: tuple[int, int]
    lesion_centre_rc: tuple[float, float] | None  # the radiologist's annotation on this slice, if any
    lesion_probability: float                    # detector's presence probability for this slice
    chosen_by: str                               # 'stored embedding' | 'annotation' | 'detector'


def explain_series(con: duckdb.DuckDBPyConnection, series_uid: str, *, model: LesionEncoder | None = None
                   ) -> SliceExplanation:
    """Grad-CAM on the slice the stored embedding used (else the annotated slice, else the detector's pick).

    Raises:
        LookupError: the series has no instance with a file in the store.
        ValueError: the chosen slice's pixels cannot be read.
    """
    model = model if model is not None else default_model()
    df = frame(con, """
        SELECT i.sop_instance_uid, i.file_path, i.source_uri, m.center_row, m.center_col,
               e.sop_instance_uid IS NOT NULL AS embedded
        FROM imaging_instances i
        LEFT JOIN (SELECT sop_instance_uid, any_value(center_row ORDER BY long_axis_mm DESC) AS center_row,
                          any_value(center_col ORDER BY long_axis_mm DESC) AS center_col
                   FROM lesion_measurements WHERE sop_instance_uid IS NOT NULL GROUP BY sop_instance_uid) m
               USING (sop_instance_uid)
        LEFT JOIN (SELECT DISTINCT sop_instance_uid FROM image_embeddings WHERE series_uid = ?) e
               USING (sop_instance_uid)
        WHERE i.series_uid = ? AND i.file_path IS NOT NULL
        ORDER BY i.instance_number, i.sop_instance_uid""", [series_uid, series_uid])
    if df.height == 0:
        raise LookupError(f"series {series_uid} has no image files in the store")
    rows = df.to_dicts()
    pick = next((r for r in rows if r["embedded"]), None)
    chosen_by = "stored embedding"
    if pick is None:
        pick = next((r for r in rows if r["center_row"] is not None), None)
        chosen_by = "annotation"
    if pick is None:
        probs = encode(model, [load_slice(r["file_path"]) for r in rows])["presence"]
        pick, chosen_by = rows[int(np.argmax(probs))], "detector"
    hu, heat = gradcam(pick["file_path"], model=model)
    prob = float(encode(model, [hu])["presence"][0])
    centre = None if pick["center_row"] is None else (float(pick["center_row"]), float(pick["center_col"]))
    return SliceExplanation(series_uid, pick["sop_instance_uid"], pick["source_uri"], hu, heat, heatmap_peak(heat),
                            centre, prob, chosen_by)
