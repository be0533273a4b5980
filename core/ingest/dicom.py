"""DICOM files -> ``imaging_studies`` / ``imaging_series`` / ``imaging_instances`` and header demographics.

Policy:

* Detected by 'DICM' at byte 128, or a ``.dcm`` name (files without a preamble / file meta).
* One file is one instance; its locator is the SOP Instance UID, ``observed_at`` is
  StudyDate + StudyTime (else SeriesDate, AcquisitionDate, ContentDate).
* The patient is linked by PatientID in the system named by IssuerOfPatientID; without
  an issuer the system is ``NO_ISSUER_SYSTEM`` and a warning says IDs may then collide.
* Header PHI (name, ID, birth date, accession number) lands only in PHI-classified columns;
  error and warning messages never quote header values (pydicom's own value warnings are
  counted, not passed on, because they quote the value).
* Native (uncompressed) pixel data must be Rows x Columns x Frames x SamplesPerPixel x
  BitsAllocated/8 bytes long: shorter is an error (truncated file), longer a warning.
  Encapsulated (compressed) pixel data is not size-checked.
* A SOP Instance UID already ingested from another file is an error naming both files; a
  StudyInstanceUID already held by another patient is an error too.
"""
from __future__ import annotations

import io
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from core.ingest.base import MRN_SYSTEM, IngestContext, IngestError, SourceFile, first_row
from core.store.schema import Modality

logger = logging.getLogger(__name__)

NO_ISSUER_SYSTEM = "urn:dicom:unspecified-issuer"
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage
_SEX = {"M": "male", "F": "female", "O": "other"}
_DATE_KEYWORDS = (("StudyDate", "StudyTime"), ("SeriesDate", "SeriesTime"), ("AcquisitionDate", "AcquisitionTime"),
                  ("ContentDate", "ContentTime"))


def where(keyword: str) -> str:
    """Locator text for a header element: 'PixelData (7FE0,0010)'."""
    t = Tag(keyword)
    return f"{keyword} ({t.group:04X},{t.element:04X})"


@dataclass
class _Header:
    """The values read from one header, plus PHI-free warnings about values that could not be used."""

    ds: Dataset
    src: SourceFile
    warnings: list[IngestError] = field(default_factory=list)

    def get(self, keyword: str, convert: Callable[[Any], Any] = str) -> Any:
        """Converted value of ``keyword`` or None (missing, empty or unusable -> a warning naming the element)."""
        try:
            value = self.ds.get(keyword)
            if value is None or value == "":
                return None
            return convert(value)
        except Exception as e:  # pydicom and the converters raise many types on malformed values
            self.warnings.append(IngestError(self.src.uri, where(keyword),
                                             f"unusable value ({type(e).__name__}); element ignored",
                                             severity="warning"))
            return None


def _first_float(value: Any) -> float | None:
    """First value of a (possibly multi-valued) DS/IS as a finite float."""
    if isinstance(value, (list, tuple, MultiValue)):
        if len(value) == 0:
            return None
        value = value[0]
    out = float(value)
    if not math.isfinite(out):
        raise ValueError("not finite")
    return out


def _da(value: Any) -> date:
    text = str(value).strip().replace(".", "").replace("-", "")
    if len(text) != 8 or not text.isdigit():
        raise ValueError("DA must be YYYYMMDD")
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _tm(value: Any) -> time:
    text = str(value).strip().replace(":", "")
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6):
        raise ValueError("TM must be HH[MM[SS[.FFFFFF]]]")
    hh, mm, ss = int(whole[:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
    micro = int((frac + "000000")[:6]) if frac.isdigit() else 0
    return time(hh, mm, min(ss, 59), micro)  # DICOM allows a leap second 60


@contextmanager
def _quiet_pydicom() -> Iterator[list[warnings.WarningMessage]]:
    """Capture pydicom's value warnings: they quote header values, which may be PHI."""

    class _Drop(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return False

    plog = logging.getLogger("pydicom")
    drop = _Drop()
    plog.addFilter(drop)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        plog.removeFilter(drop)


def read_dataset(src: SourceFile, data: bytes) -> Dataset:
    """Parse a DICOM file (with or without preamble / file meta).

    Raises:
        IngestError: not parseable as DICOM.
    """
    try:
        return pydicom.dcmread(io.BytesIO(data), force=True)
    except InvalidDicomError as e:
        raise IngestError(src.uri, "file", f"not a DICOM file: {str(e).splitlines()[0][:160]}") from e
    except Exception as e:  # truncated or corrupt encodings raise assorted types
        raise IngestError(src.uri, "file", f"unreadable DICOM ({type(e).__name__}): file corrupt or truncated; "
                                           "re-export it from the PACS", error_type=type(e).__name__) from e


def expected_pixel_bytes(ds: Dataset) -> int | None:
    """Bytes of native pixel data the header promises, or None when it does not say."""
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        bits = int(ds.BitsAllocated)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        return None
    n = rows * cols * samples * frames
    if str(ds.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422":
        n = rows * cols * 2 * frames  # chroma subsampled horizontally: Y Y Cb Cr per pixel pair
    return (n * bits + 7) // 8


def check_pixel_data(src: SourceFile, ds: Dataset) -> IngestError | None:
    """Error if native pixel data is shorter than the header promises; a warning if longer; else None."""
    if "PixelData" not in ds:
        sop_class = ds.get("SOPClassUID")
        if sop_class is not None and "Image Storage" in getattr(sop_class, "name", "") and "Rows" in ds:
            return IngestError(src.uri, where("PixelData"), "no PixelData although the header describes an image: "
                                                            "file truncated? re-export it from the PACS")
        return None
    elem = ds["PixelData"]
    if elem.is_undefined_length:  # encapsulated (compressed): fragment sizes say nothing about the image size
        return None
    expected = expected_pixel_bytes(ds)
    if expected is None:
        return None
    actual = len(elem.value or b"")
    if actual < expected:
        return IngestError(src.uri, where("PixelData"),
                           f"PixelData truncated: {actual} of {expected} bytes; re-export the file from the PACS",
                           error_type="TruncatedPixelData")
    if actual > expected + 1:  # one byte of padding to even length is normal
        return IngestError(src.uri, where("PixelData"),
                           f"PixelData has {actual - expected} bytes more than the {expected} the header describes; "
                           "extra bytes ignored", severity="warning")
    return None


def observed_at(h: _Header) -> datetime | None:
    """StudyDate + StudyTime, falling back to the series, acquisition and content dates."""
    for d_kw, t_kw in _DATE_KEYWORDS:
        d = h.get(d_kw, _da)
        if d is not None:
            t = h.get(t_kw, _tm) or time(0, 0)
            return datetime.combine(d, t)
    return None


class DicomIngester:
    kind = "dicom"
    extractor = "core.ingest.dicom"
    version = "1.0"
    priority = 20

    def __init__(self) -> None:
        # patients whose demographics this run already filled: a series has many files, one is enough
        self._run_id: str | None = None
        self._demographics_done: set[str] = set()

    def detect(self, path: Path, head: bytes) -> bool:
        return head[128:132] == b"DICM" or path.suffix.lower() == ".dcm"

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        with _quiet_pydicom() as caught:
            ds = read_dataset(src, src.read_bytes())
            meta_class = str(getattr(ds, "file_meta", {}).get("MediaStorageSOPClassUID", "") or "")
            if meta_class == DICOMDIR_SOP_CLASS:
                ctx.error(src, IngestError(src.uri, "file", "DICOMDIR index file: nothing to ingest; "
                                                            "the images it lists are ingested from their own files",
                                           severity="warning"))
                return
            pixel_problem = check_pixel_data(src, ds)
            if pixel_problem is not None and pixel_problem.severity == "error":
                raise pixel_problem
            h = _Header(ds, src)
            pid = self._ingest_header(ctx, src, h)
        self._demographics_done.add(pid)  # only once the file went through
        for w in h.warnings + ([pixel_problem] if pixel_problem is not None else []):
            ctx.error(src, w)
        n_value_warnings = sum(1 for w in caught if "pydicom" in (w.filename or ""))
        if n_value_warnings:
            ctx.error(src, IngestError(src.uri, "header", f"{n_value_warnings} pydicom warning(s) about header values "
                                       "(non-conforming values; text withheld because it may quote PHI)",
                                       error_type="DicomValueWarning", severity="warning"))

    def _ingest_header(self, ctx: IngestContext, src: SourceFile, h: _Header) -> str:
        """Rows for one instance (and its study / series when new); returns the patient_id."""
        sop_uid = h.get("SOPInstanceUID")
        if not sop_uid:
            raise IngestError(src.uri, where("SOPInstanceUID"), "no SOP Instance UID: not a DICOM instance "
                                                                "(or the header is corrupt)")
        study_uid, series_uid = h.get("StudyInstanceUID"), h.get("SeriesInstanceUID")
        for kw, v in (("StudyInstanceUID", study_uid), ("SeriesInstanceUID", series_uid)):
            if not v:
                raise IngestError(src.uri, where(kw), f"no {kw}: cannot place the instance in a study")
        pid = self._link(ctx, src, h)
        # one statement for the three look-ups: DuckDB's per-statement overhead dominates small files
        dup, study_pid, has_series = first_row(ctx.con, (
            "SELECT (SELECT source_uri FROM imaging_instances WHERE sop_instance_uid = ?), "
            "(SELECT patient_id FROM imaging_studies WHERE study_uid = ?), "
            "EXISTS (SELECT 1 FROM imaging_series WHERE series_uid = ?)"), [sop_uid, study_uid, series_uid])
        if dup is not None:
            raise IngestError(src.uri, where("SOPInstanceUID"),
                              f"duplicate SOP Instance UID: already ingested from {dup}; this file is not ingested",
                              error_type="DuplicateSOPInstanceUID")
        if study_pid is not None and study_pid != pid:
            raise IngestError(src.uri, where("StudyInstanceUID"),
                              "StudyInstanceUID already belongs to another patient (identifier collision)",
                              error_type="IdentifierCollision")

        modality = h.get("Modality")
        prov = ctx.provenance(src, INGESTER, patient_id=pid, modality=Modality.IMAGING, locator=sop_uid,
                              observed_at=observed_at(h))
        if study_pid is None:
            ctx.add("imaging_studies", {**prov, "study_uid": study_uid, "accession_number": h.get("AccessionNumber"),
                                        "study_description": h.get("StudyDescription"), "dicom_modality": modality})
        if not has_series:
            ctx.add("imaging_series", {**prov, "series_uid": series_uid, "study_uid": study_uid,
                                       "dicom_modality": modality, "body_part": h.get("BodyPartExamined"),
                                       "series_description": h.get("SeriesDescription")})
        ctx.add("imaging_instances", {
            **prov, "sop_instance_uid": sop_uid, "series_uid": series_uid, "study_uid": study_uid,
            "sop_class_uid": h.get("SOPClassUID"), "instance_number": h.get("InstanceNumber", int),
            "rows": h.get("Rows", int), "columns": h.get("Columns", int),
            "pixel_spacing_mm": h.get("PixelSpacing", _first_float),  # row spacing (the first value)
            "slice_thickness_mm": h.get("SliceThickness", _first_float),
            "slice_location_mm": h.get("SliceLocation", _first_float),
            "window_center": h.get("WindowCenter", _first_float), "window_width": h.get("WindowWidth", _first_float),
            "dicom_patient_name": h.get("PatientName"), "dicom_patient_id": h.get("PatientID"),
            "dicom_birth_date": h.get("PatientBirthDate"), "file_path": src.uri,
        })
        return pid

    def _link(self, ctx: IngestContext, src: SourceFile, h: _Header) -> str:
        """Patient index entry for PatientID + IssuerOfPatientID; fills empty demographics."""
        patient_id_value = (h.get("PatientID") or "").strip()
        if not patient_id_value:
            raise IngestError(src.uri, where("PatientID"), "no PatientID: cannot link this file to a patient; "
                                                           "fix the header in the PACS export", error_type="Unlinkable")
        issuer = (h.get("IssuerOfPatientID") or "").strip()
        if not issuer:
            issuer = NO_ISSUER_SYSTEM
            h.warnings.append(IngestError(src.uri, where("IssuerOfPatientID"),
                                          f"no IssuerOfPatientID: PatientID linked in system {NO_ISSUER_SYSTEM}; "
                                          "IDs from different issuers could collide", severity="warning"))
        pid = ctx.link_patient(issuer, patient_id_value, src)
        if self._run_id != (ctx.run_id, ctx.attempt):  # a rolled-back batch resets the memo
            self._run_id, self._demographics_done = (ctx.run_id, ctx.attempt), set()
        if pid in self._demographics_done:
            return pid
        name = h.get("PatientName", lambda v: v)
        ctx.update_patient(
            pid,
            sex=_SEX.get(str(h.get("PatientSex") or "").strip().upper()),
            birth_date=h.get("PatientBirthDate", _da),
            family_name=(getattr(name, "family_name", "") or None) if name is not None else None,
            given_name=(getattr(name, "given_name", "") or None) if name is not None else None,
            mrn=patient_id_value if issuer == MRN_SYSTEM else None,
        )
        return pid


INGESTER = DicomIngester()
