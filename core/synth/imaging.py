"""CT-like DICOM studies for the synthetic cohort, and the PACS lesion-measurement export.

Each study is one axial CT series of ``N_SLICES`` 128x128 int16 slices (CT Image
Storage, explicit VR little endian, file meta) with fake PHI in the header. Slices
look like CT in Hounsfield units (RescaleSlope 1, RescaleIntercept -1024): body
with fat and soft tissue, lungs with vessels, liver, kidneys, bowel, breasts,
spine, ribs, table, correlated noise (``ct_anatomy``), and a lesion whose size,
margin and texture follow a ``LesionSpec`` (``ct_lesion``).

What is random and from what:

* anatomy, the lesion's site and its outline come from ``(mrn, body part)``, so the
  follow-up studies of one patient show the same body and the lesion in the same
  place; only its size, margin and texture follow each study's ``LesionSpec``;
* noise, vessels, lesion texture, study time and accession number come from ``seed``;
* UIDs come from ``(mrn, study_date, seed)`` via ``pydicom.uid.generate_uid(entropy_srcs=...)``.

``size_mm`` is the equivalent diameter on the central slice (area = pi * (size_mm/2)^2);
the lesion is sphere-like, so a 10 mm lesion shows on one 5 mm slice and a 40 mm one
on all five.
"""
from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from core.ingest.annotations import ANNOTATION_COLUMNS
from core.synth.ct_anatomy import IMAGE_SIZE, Anatomy, BodyPart, anatomy_for, body_part_of, paint_anatomy, rng_for
from core.synth.ct_dicom import (RESCALE_INTERCEPT, SLICE_THICKNESS_MM, HeaderPatient, HeaderSeries, SeriesEncoder,
                                 ct_header, uid_for)
from core.synth.ct_lesion import (MARGINS, LesionGeometry, LesionSpec, lesion_geometry, lesion_window, paint_lesion,
                                  z_scale)

N_SLICES = 5
HU_MIN, HU_MAX = -1024, 3071
NOISE_SD_HU = 26.0     # white noise before the reconstruction kernel; about 10 HU after it
KERNEL_SIGMA_PX = 0.7  # gaussian "reconstruction kernel": correlated noise, soft edges


@dataclass(frozen=True)
class StudyWritten:
    """What ``write_ct_study`` wrote: UIDs, files and the lesion truth (for measurements and Grad-CAM).

    ``slice_index`` indexes ``files`` / ``sop_instance_uids`` (the lesion's central slice);
    ``lesion_center_rc`` is its (row, col) pixel there. Fields after ``sop_instance_uids``
    are extras with defaults: spacing in mm, slice locations, and the RECIST-style long /
    short axes of the lesion's solid part on its central slice.
    """

    study_uid: str
    series_uid: str
    files: list[Path]
    lesion_center_rc: tuple[int, int] | None
    slice_index: int | None
    sop_instance_uids: list[str]
    accession_number: str = ""
    body_part: str = ""
    pixel_spacing_mm: float = 0.0
    slice_locations_mm: tuple[float, ...] = ()
    long_axis_mm: float | None = None
    short_axis_mm: float | None = None


@dataclass(frozen=True)
class LesionAnnotation:
    """One row of a PACS lesion-measurement export (see ``write_lesion_annotations``)."""

    mrn: str
    study_uid: str
    sop_instance_uid: str
    lesion_id: str
    long_axis_mm: float
    short_axis_mm: float
    center_row: float
    center_col: float
    margin: str
    measured_at: datetime | str


def render_slices_hu(a: Anatomy, geo: LesionGeometry | None, lesion: LesionSpec | None,
                     g: np.random.Generator) -> list[np.ndarray]:
    """``N_SLICES`` float32 HU images; the lesion centred on the middle slice."""
    mid = N_SLICES // 2
    out = []
    for i in range(N_SLICES):
        hu, _ = paint_anatomy(a, (i - mid) / max(mid, 1), g)
        if geo is not None and lesion is not None:
            paint_lesion(hu, geo, lesion, a.part, a.spacing_mm, (i - mid) * SLICE_THICKNESS_MM, g)
        hu += g.standard_normal(hu.shape, dtype=np.float32) * NOISE_SD_HU
        out.append(gaussian_filter(hu, KERNEL_SIGMA_PX))
    return out


def _stored(hu: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(hu - RESCALE_INTERCEPT), HU_MIN - RESCALE_INTERCEPT,
                   HU_MAX - RESCALE_INTERCEPT).astype("<i2")


def lesion_mask(*, mrn: str, body_part: str, lesion: LesionSpec, slice_offset: int = 0) -> np.ndarray:
    """Boolean 128x128 truth mask of the lesion ``write_ct_study`` draws for this patient.

    Args:
        mrn, body_part, lesion: as passed to ``write_ct_study`` (the outline does not depend on ``seed``).
        slice_offset: slices away from the lesion's central slice (``StudyWritten.slice_index``).
    """
    a = anatomy_for(mrn, body_part_of(body_part))
    geo = lesion_geometry(mrn, a, lesion)
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    win = lesion_window(geo, a.spacing_mm, z_scale(geo, slice_offset * SLICE_THICKNESS_MM))
    if win is not None:
        (rs, cs), mask, _ = win
        out[rs, cs] = mask
    return out


def write_ct_study(out_dir: Path, *, mrn: str, patient_name: str, birth_date: date, sex: str, study_date: date,
                   lesion: LesionSpec | None, body_part: str, seed: int, with_pixels: bool = True) -> StudyWritten:
    """Write one CT series (``N_SLICES`` ``.dcm`` files) into ``out_dir``; return its UIDs and lesion truth.

    Args:
        out_dir: folder for the files (created); file names carry no PHI.
        mrn, patient_name, birth_date, sex: fake PHI for the header; PatientID = mrn with
            IssuerOfPatientID = ``MRN_SYSTEM``. Names as 'DOE, JANE', 'Jane Doe' or 'DOE^JANE';
            sex as 'female' / 'male' / 'F' / 'M'.
        study_date: StudyDate / SeriesDate / AcquisitionDate / ContentDate.
        lesion: the lesion to draw, or None.
        body_part: 'chest' | 'abdomen' | 'breast' (aliases 'lung', 'colorectal', 'liver', ...).
        seed: drives noise, vessels, texture, study time, accession number and UIDs.
        with_pixels: False writes nothing (CT storage needs pixel data) and returns the same UIDs
            and lesion truth with ``files=[]``, for 100k-patient benchmarks.

    Returns:
        ``StudyWritten``; ``slice_index`` is the lesion's central slice (index into ``files``).

    Raises:
        ValueError: unknown ``body_part``.
    """
    part = body_part_of(body_part)
    a = anatomy_for(mrn, part)
    sops = [uid_for(mrn, study_date, seed, f"instance-{i}") for i in range(N_SLICES)]
    g = rng_for("header", mrn, seed)
    series = HeaderSeries(
        study_date=study_date,
        study_time=f"{int(g.integers(7, 18)):02d}{int(g.integers(0, 60)):02d}{int(g.integers(0, 60)):02d}",
        accession=f"A{int(g.integers(10**8, 10**9))}", study_uid=uid_for(mrn, study_date, seed, "study"),
        series_uid=uid_for(mrn, study_date, seed, "series"),
        frame_of_reference_uid=uid_for(mrn, study_date, seed, "frame-of-reference"))
    locations = tuple(round(a.table_z_mm + i * SLICE_THICKNESS_MM, 2) for i in range(N_SLICES))
    geo = lesion_geometry(mrn, a, lesion) if lesion is not None else None
    long_ax, short_ax = geo.axes_mm() if geo is not None else (None, None)
    truth = dict(study_uid=series.study_uid, series_uid=series.series_uid,
                 lesion_center_rc=None if geo is None else (int(round(geo.center_rc[0])), int(round(geo.center_rc[1]))),
                 slice_index=None if geo is None else N_SLICES // 2, sop_instance_uids=sops,
                 accession_number=series.accession, body_part=str(part), pixel_spacing_mm=a.spacing_mm,
                 slice_locations_mm=locations, long_axis_mm=long_ax, short_axis_mm=short_ax)
    if not with_pixels:
        return StudyWritten(files=[], **truth)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder = SeriesEncoder(ct_header(HeaderPatient(mrn, patient_name, birth_date, sex), series, a))
    stem = hashlib.sha1(series.series_uid.encode()).hexdigest()[:12]
    origin = f"{-a.spacing_mm * IMAGE_SIZE / 2:.3f}"
    files = []
    for i, hu in enumerate(render_slices_hu(a, geo, lesion, rng_for("pixels", mrn, seed))):
        data = encoder.encode(
            sop_instance_uid=sops[i], instance_number=i + 1,
            content_time=f"{series.study_time[:4]}{(int(series.study_time[4:]) + i) % 60:02d}",
            image_position=(origin, origin, f"{locations[i]:.2f}"), slice_location=f"{locations[i]:.2f}",
            pixel_data=_stored(hu).tobytes())
        path = out_dir / f"ct_{stem}_{i + 1:03d}.dcm"
        path.write_bytes(data)
        files.append(path)
    return StudyWritten(files=files, **truth)


def annotation_for(study: StudyWritten, *, mrn: str, lesion_id: str, margin: str,
                   measured_at: datetime) -> LesionAnnotation | None:
    """The radiologist's measurement of a written study's lesion (None when it has no lesion)."""
    if study.slice_index is None or study.lesion_center_rc is None or study.long_axis_mm is None:
        return None
    return LesionAnnotation(mrn=mrn, study_uid=study.study_uid,
                            sop_instance_uid=study.sop_instance_uids[study.slice_index], lesion_id=lesion_id,
                            long_axis_mm=round(study.long_axis_mm, 1),
                            short_axis_mm=round(study.short_axis_mm or 0.0, 1),
                            center_row=float(study.lesion_center_rc[0]), center_col=float(study.lesion_center_rc[1]),
                            margin=margin, measured_at=measured_at)


def write_lesion_annotations(path: Path, rows: Iterable[LesionAnnotation | Mapping[str, object]]) -> Path:
    """Write a PACS-style lesion-measurement CSV with columns ``ANNOTATION_COLUMNS``; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ANNOTATION_COLUMNS), extrasaction="raise")
        w.writeheader()
        for row in rows:
            d = asdict(row) if isinstance(row, LesionAnnotation) else dict(row)
            at = d.get("measured_at")
            if isinstance(at, datetime):
                d["measured_at"] = at.isoformat(timespec="seconds")
            elif isinstance(at, date):
                d["measured_at"] = at.isoformat()
            w.writerow(d)
    return path


__all__ = [
    "ANNOTATION_COLUMNS", "BodyPart", "IMAGE_SIZE", "LesionAnnotation", "LesionSpec", "MARGINS", "N_SLICES",
    "SLICE_THICKNESS_MM", "StudyWritten", "annotation_for", "body_part_of", "lesion_mask", "render_slices_hu",
    "write_ct_study", "write_lesion_annotations",
]
