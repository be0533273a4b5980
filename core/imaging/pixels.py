"""Slice pixels in Hounsfield units and display windows (used by the dashboard and the image encoder)."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut

logger = logging.getLogger(__name__)

# name -> (center, width) in HU, the usual radiology display presets
PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (40.0, 400.0),
    "abdomen": (40.0, 350.0),
    "bone": (400.0, 1800.0),
}


def load_slice(path: Path | str) -> np.ndarray:
    """One grayscale slice as float32 in modality units (HU for CT): RescaleSlope / Intercept or LUT applied.

    Multi-frame files give their first frame.

    Raises:
        ValueError: the file has no pixel data, is a colour image, or its pixels cannot be decoded
            (e.g. a compressed transfer syntax without the decoder plugin installed).
    """
    path = Path(path)
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as e:  # pydicom raises several types for unreadable files
        raise ValueError(f"{path.name}: not a readable DICOM file ({type(e).__name__})") from e
    if "PixelData" not in ds:
        raise ValueError(f"{path.name}: no PixelData (7FE0,0010)")
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        raise ValueError(f"{path.name}: colour image (SamplesPerPixel {ds.SamplesPerPixel}), not a CT/MR slice")
    try:
        arr = ds.pixel_array
    except Exception as e:
        raise ValueError(f"{path.name}: cannot decode pixel data ({type(e).__name__}); "
                         f"transfer syntax {ds.file_meta.get('TransferSyntaxUID', 'unknown')}") from e
    if arr.ndim == 3:
        arr = arr[0]
    return np.asarray(apply_modality_lut(arr, ds), dtype=np.float32)


def window(hu: np.ndarray, center: float, width: float) -> np.ndarray:
    """Linear display window: ``center - width/2`` -> 0, ``center + width/2`` -> 255, clipped; uint8.

    Raises:
        ValueError: ``width`` is not positive.
    """
    if not width > 0:
        raise ValueError(f"window width must be > 0, got {width}")
    lo = center - width / 2.0
    scaled = (np.asarray(hu, dtype=np.float32) - lo) * (255.0 / width)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def preset(name: str) -> tuple[float, float]:
    """(center, width) of a named preset ('lung', 'mediastinum', 'abdomen', 'bone')."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown window preset {name!r}: use one of {sorted(PRESETS)}") from None
