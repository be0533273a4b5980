"""Grad-CAM heatmaps of the encoder's lesion head on a CT slice.

Grad-CAM (Selvaraju et al., ICCV 2017, arXiv:1610.02391) weights the feature maps of
the last conv block by the spatial mean of the gradient of the lesion-presence logit.
Because presence is a log-sum-exp pool of a 1x1 score map over that block, the map
is, up to a constant, where the encoder "sees" a lesion. Computed with
``monai.visualize.GradCAM``, but normalised high = 1: MONAI's default normaliser maps
the maximum to 0 (see ``default_normalizer``), which would invert any peak search.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.imaging.encoder import CAM_LAYER, LesionEncoder, PresenceHead, batch_tensor, load_encoder

logger = logging.getLogger(__name__)


def _unit_range(x: torch.Tensor) -> torch.Tensor:
    """Per-image min-max scaling to [0, 1] (a flat map becomes all zeros)."""
    flat = x.flatten(1)
    lo = flat.min(dim=1).values.view(-1, *[1] * (x.dim() - 1))
    hi = flat.max(dim=1).values.view(-1, *[1] * (x.dim() - 1))
    return torch.where(hi > lo, (x - lo) / (hi - lo).clamp_min(1e-12), torch.zeros_like(x))


def _bicubic(size: tuple[int, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    # bicubic rather than bilinear: a bilinear map peaks exactly on a cell centre (8 px grid),
    # bicubic lets the peak fall between cells where the lesion is.
    def up(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp_min(0)
    return up


@lru_cache(maxsize=2)
def default_model(path: str | None = None) -> LesionEncoder:
    """The encoder from ``path`` (default: ``default_weights_path()``), loaded once per process."""
    model, _ = load_encoder(Path(path) if path else None)
    return model


def gradcam(image: Path | str | np.ndarray, *, model: LesionEncoder | None = None,
            weights: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM of the lesion-presence head for one slice.

    Args:
        image: a DICOM file path, or an HU array (H, W).
        model: encoder to explain (default: the committed weights, loaded once).
        weights: weights file when ``model`` is None (default ``data/models/encoder-v1.pt``).

    Returns:
        (hu, heatmap): the HU slice (H, W) float32 and a heatmap of the same shape,
        float32 in [0, 1], 1 where the lesion evidence is strongest.

    Raises:
        ValueError: unreadable DICOM or not a 2-D slice.
    """
    from monai.visualize import GradCAM

    if isinstance(image, (str, Path)):
        from core.imaging.pixels import load_slice

        hu = load_slice(image)
    else:
        hu = np.asarray(image, dtype=np.float32)
    if hu.ndim != 2:
        raise ValueError(f"expected a 2-D HU slice, got shape {hu.shape}")
    model = model if model is not None else default_model(str(weights) if weights else None)
    x = batch_tensor([hu], model.config)
    cam = GradCAM(PresenceHead(model), target_layers=f"encoder.{CAM_LAYER}",
                  upsampler=_bicubic, postprocessing=_unit_range)
    with torch.enable_grad():
        heat_t = cam(x)
    if tuple(heat_t.shape[2:]) != hu.shape:  # the encoder resamples to its input size; map back
        heat_t = _unit_range(_bicubic(hu.shape)(heat_t))
    heat = heat_t[0, 0].detach().numpy().astype(np.float32)
    model.eval()
    return hu, heat


def heatmap_peak(heatmap: np.ndarray) -> tuple[int, int]:
    """(row, col) of the heatmap maximum."""
    r, c = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    return int(r), int(c)
