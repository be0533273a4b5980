"""The project's image encoder: a lesion detector and a lesion descriptor, two small 2-D CNNs.

* ``LesionDetector`` reads the whole windowed slice (128x128) and scores every 8x8-pixel
  cell for "lesion here"; the slice's lesion-presence logit is a log-sum-exp pool of
  that score map. Grad-CAM explains this presence logit (``core.imaging.gradcam``).
* ``LesionDescriptor`` reads a 48x48 crop centred on the lesion (the radiologist's
  annotated centre when there is one, else the detector's peak), resampled in polar
  coordinates, and yields the embedding stored in ``image_embeddings``; its heads
  predict margin class, size and texture heterogeneity, which is what the embedding
  is trained to carry.

Both are trained by ``python -m core train-encoder`` (``core.imaging.train_encoder``) on
generator images; weights live in ``data/models/encoder-v1.pt`` with a metadata JSON.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.config import PROJECT_ROOT, path_setting
from core.imaging.pixels import preset, window

logger = logging.getLogger(__name__)

MODEL_ID = "image-encoder"
MODEL_VERSION = "v1"
MARGIN_CLASSES: tuple[str, ...] = ("smooth", "lobulated", "spiculated")
INPUT_SIZE = 128
CROP_SIZE = 48
CELL_PX = 8          # detector score-map cell, in input pixels
# (centre, width) HU of the input channels: the lung window shows a lesion against air, the
# mediastinal window its texture, a narrow soft-tissue window liver and breast lesions (~70 HU contrast)
WINDOWS: tuple[tuple[float, float], ...] = (preset("lung"), preset("mediastinum"), (60.0, 160.0))
LSE_SHARPNESS = 4.0  # log-sum-exp pooling of the score map: between mean (0) and max (inf)
CAM_LAYER = "detector.features.12"  # output of the detector's last conv block (S/8 x S/8)


@dataclass(frozen=True)
class EncoderConfig:
    """Architecture hyper-parameters, saved with the weights."""

    embed_dim: int = 32
    detector_width: int = 12
    descriptor_width: int = 16
    input_size: int = INPUT_SIZE
    crop_size: int = CROP_SIZE
    polar_radii: int = 24
    polar_angles: int = 64
    windows: tuple[tuple[float, float], ...] = WINDOWS
    margin_classes: tuple[str, ...] = MARGIN_CLASSES

    def __post_init__(self) -> None:
        if not 8 <= self.embed_dim <= 128:
            raise ValueError(f"embed_dim must be in [8, 128], got {self.embed_dim}")
        if self.input_size % CELL_PX or self.crop_size % 8:
            raise ValueError(f"input_size must be a multiple of {CELL_PX} and crop_size of 8")
        if self.polar_radii % 4 or self.polar_angles % 4:
            raise ValueError("polar_radii and polar_angles must be multiples of 4 (two 2x poolings)")
        if any(w <= 0 for _, w in self.windows):
            raise ValueError(f"window widths must be positive, got {self.windows}")

    @property
    def grid(self) -> int:
        return self.input_size // CELL_PX


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    # not in-place ReLU: Grad-CAM hooks these outputs
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class LesionDetector(nn.Module):
    """Whole slice (B, C, S, S) -> ``presence`` logit (B,) and ``score_map`` (B, S/8, S/8)."""

    def __init__(self, n_in: int, width: int) -> None:
        super().__init__()
        w = width
        # a strided stem keeps full-resolution detail at a quarter of the cost of a full-size first stage
        self.features = nn.Sequential(
            nn.Conv2d(n_in, w, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),  # 0-2  S/2
            nn.MaxPool2d(2),                                                                        # 3    S/4
            *_block(w, 2 * w),                                                                      # 4-6
            nn.MaxPool2d(2),                                                                        # 7    S/8
            *_block(2 * w, 4 * w),                                                                  # 8-10
            nn.Conv2d(4 * w, 4 * w, 3, padding=1), nn.ReLU(),                                       # 11-12
        )
        self.score = nn.Conv2d(4 * w, 1, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        score = self.score(self.features(x))[:, 0]                       # (B, s, s)
        flat = score.flatten(1)
        k = LSE_SHARPNESS
        presence = (torch.logsumexp(flat * k, dim=1) - math.log(flat.shape[1])) / k
        return {"presence": presence, "score_map": score}


def polar_sample(crops: torch.Tensor, n_radii: int, n_angles: int, phase: torch.Tensor | None = None) -> torch.Tensor:
    """(B, C, K, K) crops -> (B, C, n_radii, n_angles): bilinear samples on rings around the crop centre.

    Ring k has radius (k + 0.5) * (K / 2) / n_radii pixels; angle j is ``2 pi j / n_angles`` (+ ``phase``
    per crop, radians), measured from the +column axis towards +row.
    """
    b, _, k, _ = crops.shape
    r = (torch.arange(n_radii, dtype=crops.dtype) + 0.5) * (k / 2 / n_radii)
    theta = torch.arange(n_angles, dtype=crops.dtype) * (2 * math.pi / n_angles)
    theta = theta[None, :] + (phase[:, None] if phase is not None else torch.zeros(b, 1, dtype=crops.dtype))
    centre = k // 2 + 0.5  # continuous coordinate of the centre pixel (crop_at puts the lesion there)
    col = centre + r[None, :, None] * torch.cos(theta)[:, None, :]
    row = centre + r[None, :, None] * torch.sin(theta)[:, None, :]
    grid = torch.stack([2 * col / k - 1, 2 * row / k - 1], dim=-1)  # grid_sample's (x, y) in [-1, 1]
    return F.grid_sample(crops, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class PolarConv(nn.Module):
    """3x3 conv + BN + ReLU on a (radius, angle) image: circular padding along angle, zeros along radius."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(F.pad(x, (1, 1, 0, 0), mode="circular"), (0, 0, 1, 1))
        return F.relu(self.bn(self.conv(x)))


class LesionDescriptor(nn.Module):
    """Lesion-centred crop (B, C, K, K) -> ``embedding`` (B, D) and the heads it is trained through.

    The crop is read in polar coordinates around its centre (radius x angle), so a margin's
    spicules or lobules become a pattern along the angle axis, size the radius where the
    lesion ends, a necrotic centre the innermost rings; a rotation of the lesion is a
    circular shift along angle, which circular padding and global pooling absorb.
    Heads: ``margin`` (B, 3) logits, ``size`` (B,) cross-section diameter in units of 10 mm
    (0 = no lesion), ``heterogeneity`` (B,) on the generator's 0..1 scale.
    """

    def __init__(self, n_in: int, width: int, embed_dim: int, n_margins: int, n_radii: int = 24,
                 n_angles: int = 64) -> None:
        super().__init__()
        w = width
        self.n_radii, self.n_angles = n_radii, n_angles
        self.features = nn.Sequential(
            PolarConv(n_in, w), nn.MaxPool2d(2),
            PolarConv(w, 2 * w), nn.MaxPool2d(2),
            PolarConv(2 * w, 4 * w), PolarConv(4 * w, 4 * w),
        )
        self.project = nn.Linear(8 * w, embed_dim)
        self.margin = nn.Linear(embed_dim, n_margins)
        self.size = nn.Linear(embed_dim, 1)
        self.heterogeneity = nn.Linear(embed_dim, 1)

    def forward(self, crop: torch.Tensor, phase: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        f = self.features(polar_sample(crop, self.n_radii, self.n_angles, phase))
        emb = self.project(torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1))
        h = F.gelu(emb)
        return {"embedding": emb, "margin": self.margin(h), "size": self.size(h)[:, 0],
                "heterogeneity": self.heterogeneity(h)[:, 0]}


class LesionEncoder(nn.Module):
    """Detector + descriptor. ``forward(x, centres=None)``: centres (B, 2) in input pixels (row, col);
    None locates the lesion with the detector. Returns the detector's and the descriptor's outputs
    plus ``centre`` (B, 2) used for the crop."""

    def __init__(self, config: EncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or EncoderConfig()
        c = self.config
        self.detector = LesionDetector(len(c.windows), c.detector_width)
        self.descriptor = LesionDescriptor(len(c.windows), c.descriptor_width, c.embed_dim, len(c.margin_classes),
                                           c.polar_radii, c.polar_angles)

    def forward(self, x: torch.Tensor, centres: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        det = self.detector(x)
        if centres is None:
            centres = score_map_peak(det["score_map"].detach(), x.shape[-1])
        desc = self.descriptor(crop_at(x, centres, self.config.crop_size))
        return {**det, **desc, "centre": centres}


def score_map_peak(score_map: torch.Tensor, size: int) -> torch.Tensor:
    """(B, s, s) score maps -> (B, 2) float (row, col) of the bicubically upsampled peak, in input pixels."""
    up = F.interpolate(score_map[:, None], size=(size, size), mode="bicubic", align_corners=False)[:, 0]
    idx = up.flatten(1).argmax(dim=1)
    return torch.stack([idx // size, idx % size], dim=1).float()


def crop_at(x: torch.Tensor, centres: torch.Tensor, k: int) -> torch.Tensor:
    """(B, C, S, S) images -> (B, C, k, k) crops centred on ``centres`` (row, col); zero outside the image."""
    half = k // 2
    padded = F.pad(x, (half, half, half, half))
    rc = centres.round().long().clamp(0, x.shape[-1] - 1)
    return torch.stack([padded[i, :, r:r + k, c:c + k] for i, (r, c) in enumerate(rc.tolist())])


class PresenceHead(nn.Module):
    """Wraps an encoder so that it returns the lesion-presence logit (B, 1): what Grad-CAM explains."""

    def __init__(self, encoder: LesionEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.detector(x)["presence"][:, None]


# ---- preprocessing ---------------------------------------------------------------------

def windowed_channels(hu: np.ndarray, windows: tuple[tuple[float, float], ...] = WINDOWS,
                      size: int = INPUT_SIZE) -> np.ndarray:
    """HU slice (H, W) -> float32 (len(windows), size, size): each (centre, width) window scaled to [0, 1].

    Uses the viewer's display windowing (``core.imaging.pixels.window``), resampled
    bilinearly when the slice is not ``size`` x ``size``.

    Raises:
        ValueError: ``hu`` is not a 2-D array.
    """
    hu = np.asarray(hu, dtype=np.float32)
    if hu.ndim != 2:
        raise ValueError(f"expected a 2-D HU slice, got shape {hu.shape}")
    chans = np.stack([window(hu, c, w) for c, w in windows]).astype(np.float32) / 255.0
    if chans.shape[1:] != (size, size):
        t = F.interpolate(torch.from_numpy(chans)[None], size=(size, size), mode="bilinear", align_corners=False)
        chans = t[0].numpy()
    return chans


def batch_tensor(slices: list[np.ndarray] | np.ndarray, config: EncoderConfig) -> torch.Tensor:
    """HU slices -> (B, C, S, S) float tensor ready for the encoder."""
    return torch.from_numpy(np.stack([windowed_channels(s, config.windows, config.input_size) for s in slices]))


def to_input_pixels(rc: tuple[float, float], shape: tuple[int, int], size: int = INPUT_SIZE) -> tuple[float, float]:
    """(row, col) in a slice of ``shape`` -> the encoder's input grid."""
    return rc[0] * size / shape[0], rc[1] * size / shape[1]


# ---- weights on disk ---------------------------------------------------------------------

@dataclass
class EncoderMetadata:
    """What the metadata JSON beside the weights records."""

    model_id: str
    version: str
    training_data_hash: str
    command: str
    seed: int
    metrics: dict[str, float] = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    n_train: int = 0
    n_val: int = 0
    train_seconds: float = 0.0
    torch_version: str = torch.__version__
    artifact_sha256: str = ""
    created_at: str = ""


COMMITTED_MODELS_DIR = PROJECT_ROOT / "data" / "models"


def default_weights_path(version: str = MODEL_VERSION) -> Path:
    """``encoder-<version>.pt`` in the ``models_dir`` setting, else the weights committed with the code."""
    own = path_setting("models_dir") / f"encoder-{version}.pt"
    committed = COMMITTED_MODELS_DIR / f"encoder-{version}.pt"
    return own if own.exists() or not committed.exists() else committed


def metadata_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def save_encoder(model: LesionEncoder, meta: EncoderMetadata, path: Path) -> None:
    """Write the weights (.pt: config + float32 state dict) and the metadata JSON beside them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = asdict(model.config)
    torch.save({"config": cfg, "state_dict": model.state_dict()}, path)
    meta.config = cfg
    meta.artifact_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    metadata_path(path).write_text(json.dumps(asdict(meta), indent=2, sort_keys=True) + "\n")


def load_encoder(path: Path | None = None) -> tuple[LesionEncoder, EncoderMetadata]:
    """Load weights + metadata; the model is returned in eval mode.

    Raises:
        FileNotFoundError: no weights at ``path``; the message says how to train them.
    """
    path = path or default_weights_path()
    if not path.exists():
        raise FileNotFoundError(f"no encoder weights at {path}: run `python -m core train-encoder --seed 7`")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    cfg = dict(blob["config"])
    cfg["windows"] = tuple(tuple(float(v) for v in w) for w in cfg["windows"])
    cfg["margin_classes"] = tuple(cfg["margin_classes"])
    model = LesionEncoder(EncoderConfig(**cfg))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    mp = metadata_path(path)
    if mp.exists():
        meta = EncoderMetadata(**json.loads(mp.read_text()))
    else:
        logger.warning("encoder weights %s have no metadata JSON beside them", path.name)
        meta = EncoderMetadata(MODEL_ID, path.stem.removeprefix("encoder-"), "", "", 0)
    return model, meta


@torch.inference_mode()
def encode(model: LesionEncoder, slices: list[np.ndarray], centres: list[tuple[float, float] | None] | None = None,
           batch_size: int = 64) -> dict[str, np.ndarray]:
    """Run the encoder over HU slices.

    Args:
        slices: HU arrays (H, W).
        centres: per slice, the lesion centre (row, col) in that slice's pixels, or None to
            let the detector locate it.

    Returns:
        numpy arrays: ``embedding`` (N, D), ``presence`` probability (N,), ``margin`` probabilities
        (N, 3), ``size`` (N,) in units of 10 mm, ``heterogeneity`` (N,), ``centre`` (N, 2) in
        input pixels, ``score_map`` (N, s, s).
    """
    model.eval()
    outs: dict[str, list[np.ndarray]] = {}
    size = model.config.input_size
    for i in range(0, len(slices), batch_size):
        chunk = slices[i:i + batch_size]
        x = batch_tensor(chunk, model.config)
        det = model.detector(x)
        cents = score_map_peak(det["score_map"], size)
        if centres is not None:
            for j, c in enumerate(centres[i:i + batch_size]):
                if c is not None:
                    cents[j] = torch.tensor(to_input_pixels(c, np.shape(chunk[j]), size))
        o = {**det, **model.descriptor(crop_at(x, cents, model.config.crop_size)), "centre": cents}
        o["presence"] = torch.sigmoid(o["presence"])
        o["margin"] = torch.softmax(o["margin"], dim=1)
        for k, v in o.items():
            outs.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}
