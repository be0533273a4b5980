"""Fresh synthetic CT studies with known lesions (never seen in training: own MRNs and seed)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from core.imaging.pixels import load_slice
from core.synth.imaging import LesionSpec, StudyWritten, write_ct_study

MARGINS = ("smooth", "lobulated", "spiculated")
PARTS = ("chest", "abdomen", "breast")


@dataclass(frozen=True)
class LesionCase:
    study: StudyWritten
    mrn: str
    body_part: str
    lesion: LesionSpec
    hu: np.ndarray               # the lesion's central slice, HU
    centre_rc: tuple[int, int]
    radius_px: float             # equivalent radius on the central slice

    @property
    def path(self) -> Path:
        return self.study.files[self.study.slice_index]


def lesion_cases(out_dir: Path, n: int, seed: int = 2025) -> list[LesionCase]:
    """``n`` one-lesion studies; margins and body parts cycle, sizes as in the demo cohort (log-normal
    around 30 mm, 12-80 mm), heterogeneity uniform."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        lesion = LesionSpec(size_mm=float(np.clip(rng.lognormal(math.log(30.0), 0.35), 12.0, 80.0)),
                            margin=MARGINS[i % 3], heterogeneity=float(rng.uniform(0.0, 1.0)))
        part = PARTS[(i // 3) % 3]
        mrn = f"PG{seed}{i:04d}"
        sw = write_ct_study(out_dir / f"case{i:03d}", mrn=mrn, patient_name="TEST^CASE", birth_date=date(1955, 5, 5),
                            sex="F", study_date=date(2025, 1, 6), lesion=lesion, body_part=part, seed=seed)
        radius_px = lesion.size_mm / 2 / sw.pixel_spacing_mm
        cases.append(LesionCase(sw, mrn, part, lesion, load_slice(sw.files[sw.slice_index]),
                                sw.lesion_center_rc, radius_px))
    return cases
