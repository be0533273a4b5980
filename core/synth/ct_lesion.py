"""Synthetic lesions: a validated spec, a per-patient outline, and painting one slice's cross-section.

``size_mm`` is the equivalent diameter: the outline is scaled so its area equals
pi * (size_mm / 2)^2 whatever the margin. Margins: smooth (near circle), lobulated
(sum of harmonics 2..5), spiculated (a core with 9-14 narrow radial spikes). The
solid part (without spikes) gives the RECIST-style long and short axes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from core.synth.ct_anatomy import GRID_C, GRID_R, IMAGE_SIZE, Anatomy, BodyPart, rng_for

MARGINS = ("smooth", "lobulated", "spiculated")
LESION_HU = {BodyPart.CHEST: 35.0, BodyPart.ABDOMEN: 35.0, BodyPart.BREAST: 70.0}
_N_ANGLES = 256


@dataclass(frozen=True)
class LesionSpec:
    """A lesion to draw.

    Args:
        size_mm: equivalent diameter on the central slice, mm (area = pi * (size_mm/2)^2), 2..150.
        margin: 'smooth' | 'lobulated' | 'spiculated'.
        heterogeneity: 0 (uniform) .. 1 (textured, necrotic centre).
        location: (row, col) as fractions of the image, or None for a site inside the organ
            (lung for chest, liver for abdomen, breast for breast), fixed per patient.
    """

    size_mm: float
    margin: str
    heterogeneity: float
    location: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not 2.0 <= float(self.size_mm) <= 150.0:
            raise ValueError(f"size_mm must be within 2..150 mm, got {self.size_mm}")
        if self.margin not in MARGINS:
            raise ValueError(f"margin must be one of {MARGINS}, got {self.margin!r}")
        if not 0.0 <= float(self.heterogeneity) <= 1.0:
            raise ValueError(f"heterogeneity must be within 0..1, got {self.heterogeneity}")
        if self.location is not None and (len(self.location) != 2
                                          or not all(0.0 <= float(v) <= 1.0 for v in self.location)):
            raise ValueError(f"location must be (row, col) fractions within 0..1, got {self.location}")




@dataclass(frozen=True)
class LesionGeometry:
    center_rc: tuple[float, float]
    profile: np.ndarray      # radius per angle bin in units of the equivalent radius (area-normalised)
    core: np.ndarray         # profile without spicules (what a radiologist measures)
    radius_mm: float         # equivalent radius = size_mm / 2

    def axes_mm(self) -> tuple[float, float]:
        """RECIST-style long axis and the perpendicular short axis of the solid part, mm."""
        diam = (self.core + np.roll(self.core, _N_ANGLES // 2)) * self.radius_mm
        i = int(np.argmax(diam[: _N_ANGLES // 2]))
        return float(diam[i]), float(diam[(i + _N_ANGLES // 4) % _N_ANGLES])


def _lesion_profile(margin: str, g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    theta = np.linspace(0.0, 2 * math.pi, _N_ANGLES, endpoint=False)
    if margin == "smooth":
        core = 1.0 + 0.05 * np.cos(2 * (theta - g.uniform(0, math.pi)))
        prof = core
    elif margin == "lobulated":
        core = np.ones_like(theta)
        for k in (2, 3, 4, 5):
            core += g.uniform(0.07, 0.13) * np.cos(k * theta + g.uniform(0, 2 * math.pi))
        prof = core
    else:
        core = np.full_like(theta, 0.9)
        prof = core.copy()
        for ang in g.uniform(0, 2 * math.pi, int(g.integers(8, 13))):
            d = (theta - ang + math.pi) % (2 * math.pi) - math.pi  # wrapped angular distance
            prof = prof + g.uniform(0.5, 1.0) * np.exp(-0.5 * (d / 0.09) ** 2)
    area = 0.5 * float(np.sum(prof ** 2)) * (2 * math.pi / _N_ANGLES)
    s = math.sqrt(math.pi / area)  # normalise so the area equals that of the equivalent circle
    return (prof * s).astype(np.float32), (core * s).astype(np.float32)


def lesion_geometry(mrn: str, a: Anatomy, lesion: LesionSpec) -> LesionGeometry:
    """Where the lesion sits and its outline: fixed per patient (site, shape) and scaled by ``size_mm``."""
    if lesion.location is not None:
        center = (float(lesion.location[0]) * IMAGE_SIZE, float(lesion.location[1]) * IMAGE_SIZE)
    else:
        g = rng_for("lesion-site", mrn, a.part)
        organs = a.organ_ellipses()
        r0, c0, ar, ac = organs[int(g.integers(0, len(organs)))]
        u, ang = math.sqrt(g.uniform()) * 0.55, g.uniform(0, 2 * math.pi)
        center = (r0 + u * ar * math.sin(ang), c0 + u * ac * math.cos(ang))
    center = (min(max(center[0], 0.0), IMAGE_SIZE - 1.0), min(max(center[1], 0.0), IMAGE_SIZE - 1.0))
    prof, core = _lesion_profile(lesion.margin, rng_for("lesion-shape", mrn, a.part, lesion.margin))
    return LesionGeometry(center, prof, core, lesion.size_mm / 2.0)


def lesion_window(geo: LesionGeometry, spacing: float, scale: float
                  ) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
    """Local window, mask and normalised radius (rho / equivalent radius) of the lesion at one slice."""
    if scale <= 0:
        return None
    reach = float(geo.profile.max()) * geo.radius_mm * scale / spacing + 2
    cr, cc = geo.center_rc
    r0, r1 = max(int(cr - reach), 0), min(int(cr + reach) + 2, IMAGE_SIZE)
    c0, c1 = max(int(cc - reach), 0), min(int(cc + reach) + 2, IMAGE_SIZE)
    dy = (GRID_R[r0:r1, c0:c1] - round(cr)) * spacing
    dx = (GRID_C[r0:r1, c0:c1] - round(cc)) * spacing
    rho = np.hypot(dy, dx) / (geo.radius_mm * scale)
    idx = ((np.arctan2(dy, dx) % (2 * math.pi)) / (2 * math.pi) * _N_ANGLES).astype(np.int64) % _N_ANGLES
    mask = rho <= geo.profile[idx]
    return (slice(r0, r1), slice(c0, c1)), mask, rho


def z_scale(geo: LesionGeometry, dz_mm: float) -> float:
    """Cross-section radius factor of a sphere-like lesion at ``dz_mm`` from its centre."""
    q = 1.0 - (dz_mm / geo.radius_mm) ** 2
    return math.sqrt(q) if q > 0 else 0.0


def paint_lesion(hu: np.ndarray, geo: LesionGeometry, lesion: LesionSpec, part: BodyPart, spacing: float,
                 dz_mm: float, g: np.random.Generator) -> None:
    """Draw the lesion's cross-section ``dz_mm`` from its centre into ``hu`` (in place).

    Texture: a smooth random field with SD ``45 * heterogeneity`` HU, plus a necrotic,
    hypodense centre (down to -45 HU * heterogeneity) when heterogeneity > 0.3.
    """
    win = lesion_window(geo, spacing, z_scale(geo, dz_mm))
    if win is None:
        return
    (rs, cs), mask, rho = win
    h = float(lesion.heterogeneity)
    texture = gaussian_filter(g.standard_normal(mask.shape).astype(np.float32), 1.2)
    texture /= float(texture.std()) + 1e-6
    necrosis = 45.0 * np.clip(1.0 - rho / 0.55, 0.0, 1.0) * (h > 0.3)
    value = LESION_HU[part] + h * 45.0 * texture - h * necrosis
    region = hu[rs, cs]
    region[mask] = value[mask]
