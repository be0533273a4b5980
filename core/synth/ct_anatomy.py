"""Synthetic CT anatomy: per-patient body habitus and the HU image of one axial slice.

Image convention: row 0 is anterior, column 0 is the patient's right (radiological view).
Everything is in pixels of a 128x128 slice unless a name says ``_mm``.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter

IMAGE_SIZE = 128


class BodyPart(StrEnum):
    """DICOM BodyPartExamined values written by the generator."""

    CHEST = "CHEST"
    ABDOMEN = "ABDOMEN"
    BREAST = "BREAST"


_BODY_PART_ALIASES = {
    "chest": BodyPart.CHEST, "thorax": BodyPart.CHEST, "lung": BodyPart.CHEST,
    "abdomen": BodyPart.ABDOMEN, "abd": BodyPart.ABDOMEN, "liver": BodyPart.ABDOMEN,
    "colorectal": BodyPart.ABDOMEN, "abdomen_pelvis": BodyPart.ABDOMEN,
    "breast": BodyPart.BREAST,
}


def body_part_of(text: str) -> BodyPart:
    """Map 'chest' / 'lung' / 'ABDOMEN' / 'colorectal' / 'breast' ... to a ``BodyPart``."""
    key = str(text).strip().lower()
    if key in _BODY_PART_ALIASES:
        return _BODY_PART_ALIASES[key]
    raise ValueError(f"unknown body part {text!r}: use one of {sorted(_BODY_PART_ALIASES)}")


def rng_for(*parts: object) -> np.random.Generator:
    """A generator seeded by the hash of ``parts`` (stable across runs and platforms)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


GRID_R, GRID_C = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32)


@lru_cache(maxsize=512)  # the slices of one study share most shapes
def ellipse(r0: float, c0: float, ar: float, ac: float) -> np.ndarray:
    """Read-only boolean image of an axis-aligned ellipse (centre row/col, semi-axes in pixels)."""
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    r_lo, r_hi = max(int(r0 - ar) - 1, 0), min(int(r0 + ar) + 2, IMAGE_SIZE)
    c_lo, c_hi = max(int(c0 - ac) - 1, 0), min(int(c0 + ac) + 2, IMAGE_SIZE)
    if r_lo < r_hi and c_lo < c_hi:  # only the bounding box: most shapes are small
        rr, cc = GRID_R[r_lo:r_hi, c_lo:c_hi], GRID_C[r_lo:r_hi, c_lo:c_hi]
        out[r_lo:r_hi, c_lo:c_hi] = ((rr - r0) / ar) ** 2 + ((cc - c0) / ac) ** 2 <= 1.0
    out.flags.writeable = False
    return out


# ---- anatomy ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Anatomy:
    """Per-patient body habitus (pixels unless named otherwise)."""

    part: BodyPart
    spacing_mm: float
    body_r: float          # body centre row
    body_ar: float         # body semi-axes (rows, cols)
    body_ac: float
    fat_px: float
    organ_r: float         # lungs / liver / breast centre row
    organ_dc: float        # lungs / breasts: distance of each from the midline; liver: centre col
    organ_ar: float
    organ_ac: float
    table_z_mm: float      # slice location of the first slice

    def organ_ellipses(self) -> list[tuple[float, float, float, float]]:
        """(row, col, semi-rows, semi-cols) of the organ a lesion sits in."""
        mid = IMAGE_SIZE / 2
        if self.part is BodyPart.ABDOMEN:
            return [(self.organ_r, self.organ_dc, self.organ_ar, self.organ_ac)]
        return [(self.organ_r, mid - self.organ_dc, self.organ_ar, self.organ_ac),
                (self.organ_r, mid + self.organ_dc, self.organ_ar, self.organ_ac)]


def anatomy_for(mrn: str, part: BodyPart) -> Anatomy:
    g = rng_for("anatomy", mrn, part)
    habitus = g.uniform(0.9, 1.1)
    fov_mm = g.uniform(320.0, 380.0) * habitus
    if part is BodyPart.ABDOMEN:
        return Anatomy(part, fov_mm / IMAGE_SIZE, body_r=64 + g.uniform(-2, 2), body_ar=40 * habitus,
                        body_ac=54 * habitus, fat_px=g.uniform(4, 9), organ_r=56 + g.uniform(-3, 3),
                        organ_dc=40 + g.uniform(-3, 2), organ_ar=26 + g.uniform(-2, 3), organ_ac=22 + g.uniform(-2, 3),
                        table_z_mm=round(g.uniform(-420.0, -380.0), 1))
    body_r = 70.0 if part is BodyPart.BREAST else 64.0
    if part is BodyPart.BREAST:
        organ = dict(organ_r=body_r - 34 * habitus + g.uniform(-1, 1), organ_dc=25 + g.uniform(-2, 2),
                     organ_ar=13 + g.uniform(-1, 3), organ_ac=16 + g.uniform(-1, 2))
    else:
        organ = dict(organ_r=body_r - 2 + g.uniform(-2, 2), organ_dc=26 * habitus + g.uniform(-1, 1),
                     organ_ar=26 * habitus + g.uniform(-2, 2), organ_ac=16 * habitus + g.uniform(-1, 1))
    return Anatomy(part, fov_mm / IMAGE_SIZE, body_r=body_r + g.uniform(-2, 2), body_ar=34 * habitus,
                    body_ac=54 * habitus, fat_px=g.uniform(3, 7), table_z_mm=round(g.uniform(-180.0, -120.0), 1),
                    **organ)


def paint_anatomy(a: Anatomy, z: float, g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """HU image of the body at slice offset ``z`` (-1..1 across the series) and the organ mask."""
    mid = IMAGE_SIZE / 2
    hu = np.full((IMAGE_SIZE, IMAGE_SIZE), -1000.0, dtype=np.float32)
    table = int(a.body_r + a.body_ar) + 4
    hu[table: table + 3, 8:-8] = 150.0  # the scanner table
    body = ellipse(a.body_r, mid, a.body_ar, a.body_ac)
    if a.part is BodyPart.BREAST:
        for r0, c0, ar, ac in a.organ_ellipses():
            body = body | ellipse(r0 + 2, c0, ar + 4, ac + 3)
    hu[body] = -100.0  # subcutaneous fat
    inner = ellipse(a.body_r, mid, a.body_ar - a.fat_px, a.body_ac - a.fat_px)
    hu[inner] = 45.0   # muscle / soft tissue
    if a.part is BodyPart.ABDOMEN:
        organ = _paint_abdomen(hu, a, z, g)
    else:
        organ = _paint_chest(hu, a, z, g)
    # spine: vertebral body (cancellous bone, cortical rim), canal, spinous process
    vr, vrad = a.body_r + a.body_ar * 0.62, 7.0
    hu[ellipse(vr, mid, vrad, vrad)] = 700.0
    hu[ellipse(vr, mid, vrad - 1.3, vrad - 1.3)] = 230.0
    hu[ellipse(vr + vrad + 3.5, mid, 3.2, 3.0)] = 15.0
    hu[ellipse(vr + vrad + 8.5, mid, 2.5, 1.6)] = 600.0
    return hu, organ


def _paint_chest(hu: np.ndarray, a: Anatomy, z: float, g: np.random.Generator) -> np.ndarray:
    mid = IMAGE_SIZE / 2
    # ribs along the inside of the chest wall (not at the sternum or the spine)
    for t in np.linspace(-math.pi, math.pi, 20, endpoint=False):
        if min(abs(t + math.pi / 2), abs(t - math.pi / 2)) < 0.45:
            continue
        r = a.body_r + (a.body_ar - a.fat_px - 2) * math.sin(t)
        c = mid + (a.body_ac - a.fat_px - 2) * math.cos(t)
        hu[ellipse(r, c, 1.4, 1.8)] = 650.0
    lungs = np.zeros_like(hu, dtype=bool)
    scale = 1.0 - 0.06 * z  # lungs widen towards the bases
    if a.part is BodyPart.BREAST:
        lr, lar, lac, ldc = a.body_r - 2, 24.0, 16.0, 25.0
        for r0, c0, ar, ac in a.organ_ellipses():  # fibroglandular tissue inside breast fat
            hu[ellipse(r0 + 2, c0, ar * 0.55, ac * 0.6)] = 25.0
    else:
        lr, lar, lac, ldc = a.organ_r, a.organ_ar, a.organ_ac, a.organ_dc
    for side in (-1, 1):
        lungs = lungs | ellipse(lr, mid + side * ldc, lar * scale, lac * scale)
    # gravity-dependent density: posterior lung is denser
    hu[lungs] = (-880.0 + 50.0 * (GRID_R[lungs] - (lr - lar)) / (2 * lar)).astype(np.float32)
    # mediastinum: heart, ascending aorta, descending aorta
    hu[ellipse(lr + 2, mid + 4, lar * 0.55, 11.0)] = 40.0
    hu[ellipse(lr - lar * 0.55, mid - 2, 4.5, 4.5)] = 160.0
    hu[ellipse(lr + lar * 0.55, mid + 7, 4.0, 4.0)] = 160.0
    lungs = lungs & (hu < -500)  # the heart and aorta overlap the inner lung edges
    # vessels radiating from each hilum: dots and short segments, blurred into tubes
    pts = np.zeros_like(hu)
    steps = np.arange(8, dtype=np.float32) * 0.7
    for side in (-1, 1):
        n = int(g.integers(10, 16))
        ang = g.uniform(-math.pi / 2, math.pi / 2, n)[:, None]
        length = g.uniform(0.0, 5.0, n)[:, None]
        d = g.uniform(2.0, 14.0, n)[:, None] + steps[None, :]
        keep = (steps[None, :] <= length).ravel()
        r = np.rint(lr + d * np.sin(ang)).astype(np.int64).ravel()[keep]
        c = np.rint(mid + side * (ldc - lac * 0.6 + d * np.cos(ang))).astype(np.int64).ravel()[keep]
        amp = (1500.0 * np.maximum(0.4, 1.0 - d / 25.0)).ravel()[keep]
        ok = (r >= 0) & (r < IMAGE_SIZE) & (c >= 0) & (c < IMAGE_SIZE)
        np.add.at(pts, (r[ok], c[ok]), amp[ok])
    field = np.minimum(gaussian_filter(pts, 0.7), 870.0)
    hu[lungs] += field[lungs]
    return lungs


def _paint_abdomen(hu: np.ndarray, a: Anatomy, z: float, g: np.random.Generator) -> np.ndarray:
    mid = IMAGE_SIZE / 2
    liver = ellipse(a.organ_r, a.organ_dc, a.organ_ar * (1 - 0.05 * z), a.organ_ac)
    hu[liver] = 105.0  # portal venous phase
    hu[ellipse(a.organ_r + 6, a.organ_dc + 4, 3.0, 2.5)] = 160.0  # portal vein branch
    # stomach with an air-fluid level
    sr, sc = a.organ_r - 4, mid + 22
    stomach = ellipse(sr, sc, 12.0, 11.0)
    hu[stomach] = 20.0
    hu[stomach & (GRID_R < sr - 3)] = -1000.0
    for side in (-1, 1):  # kidneys: enhancing cortex, medulla
        kr, kc = a.body_r + a.body_ar * 0.45, mid + side * 22
        hu[ellipse(kr, kc, 8.5, 6.0)] = 170.0
        hu[ellipse(kr, kc + side * 1.5, 4.0, 2.5)] = 60.0
    hu[ellipse(a.body_r + a.body_ar * 0.35, mid + 5, 4.5, 4.5)] = 170.0  # aorta
    hu[ellipse(a.body_r + a.body_ar * 0.33, mid - 6, 4.5, 5.0)] = 120.0  # IVC
    for _ in range(int(g.integers(4, 8))):  # bowel loops, some with gas
        br, bc = g.uniform(a.body_r - 10, a.body_r + 16), g.uniform(mid - 2, mid + 30)
        rad = g.uniform(2.5, 5.0)
        loop = ellipse(br, bc, rad, rad) & ~liver & ~stomach
        hu[loop] = -1000.0 if g.random() < 0.4 else 25.0
    return liver
