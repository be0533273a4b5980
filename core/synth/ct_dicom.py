"""Writing the generated CT series as DICOM: the shared header and a fast per-slice encoder.

pydicom's ``save_as`` re-encodes all ~60 elements for every slice (about 5 ms);
``SeriesEncoder`` encodes the shared elements once per series with pydicom's own
element writer and only the six per-slice elements (and the file meta) per slice.
The output is byte-identical to ``Dataset.save_as(..., enforce_file_format=True)``
(tests/synth/test_imaging.py checks this).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import date

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid

from core.ingest.base import MRN_SYSTEM
from core.synth.ct_anatomy import IMAGE_SIZE, Anatomy, BodyPart

SLICE_THICKNESS_MM = 5.0
RESCALE_INTERCEPT = -1024.0
STUDY_DESCRIPTION = {
    BodyPart.CHEST: "CT CHEST WITH CONTRAST",
    BodyPart.ABDOMEN: "CT ABDOMEN PELVIS WITH CONTRAST",
    BodyPart.BREAST: "CT CHEST STAGING (BREAST)",
}
# (centers, widths) as scanners write them: the first pair is the default display window.
WINDOWS = {
    BodyPart.CHEST: ([40.0, -600.0], [400.0, 1500.0]),
    BodyPart.ABDOMEN: ([40.0], [350.0]),
    BodyPart.BREAST: ([40.0, -600.0], [400.0, 1500.0]),
}
SLICE_KEYWORDS = ("SOPInstanceUID", "ContentTime", "InstanceNumber", "ImagePositionPatient", "SliceLocation",
                  "PixelData")


def _dicom_name(name: str) -> str:
    """'DOE, JANE' / 'Jane Doe' / 'DOE^JANE' -> DICOM PN 'DOE^JANE'."""
    name = name.strip()
    if "^" in name:
        return name
    if "," in name:
        family, given = (p.strip() for p in name.split(",", 1))
        return f"{family}^{given}"
    parts = name.split()
    return f"{parts[-1]}^{' '.join(parts[:-1])}" if len(parts) > 1 else name


def _dicom_sex(sex: str) -> str:
    s = str(sex).strip().lower()
    return {"m": "M", "male": "M", "f": "F", "female": "F", "o": "O", "other": "O"}.get(s, "")


def uid_for(mrn: str, study_date: date, seed: int, role: str) -> str:
    """Deterministic UID for one role ('study', 'series', 'instance-0', ...) of a generated study."""
    return generate_uid(entropy_srcs=["tumor-board-synth-ct", mrn, study_date.isoformat(), str(seed), role])


@dataclass(frozen=True)
class HeaderPatient:
    """The (fake) PHI a scanner copies into the header from the worklist."""

    mrn: str
    patient_name: str
    birth_date: date
    sex: str


@dataclass(frozen=True)
class HeaderSeries:
    study_date: date
    study_time: str          # DICOM TM, HHMMSS
    accession: str
    study_uid: str
    series_uid: str
    frame_of_reference_uid: str


def ct_header(p: HeaderPatient, s: HeaderSeries, a: Anatomy) -> Dataset:
    """The series' shared header (no per-slice elements, no pixels) with its file meta."""
    study_date, birth_date = s.study_date, p.birth_date
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "TUMORBOARD_SYN"
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    da = study_date.strftime("%Y%m%d")
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = da
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = s.study_time
    ds.AccessionNumber = s.accession
    ds.Modality = "CT"
    ds.Manufacturer = "SYNTHETIC"
    ds.ManufacturerModelName = "TumorBoard CT Simulator"
    ds.InstitutionName = "Demo Cancer Center"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = STUDY_DESCRIPTION[a.part]
    ds.SeriesDescription = f"AXIAL {SLICE_THICKNESS_MM:g}MM"
    ds.PatientName = _dicom_name(p.patient_name)
    ds.PatientID = p.mrn
    ds.IssuerOfPatientID = MRN_SYSTEM
    ds.PatientBirthDate = birth_date.strftime("%Y%m%d")
    ds.PatientSex = _dicom_sex(p.sex)
    age = study_date.year - birth_date.year - ((study_date.month, study_date.day) < (birth_date.month, birth_date.day))
    ds.PatientAge = f"{max(age, 0):03d}Y"
    ds.BodyPartExamined = str(a.part)
    ds.SliceThickness = f"{SLICE_THICKNESS_MM:g}"
    ds.SpacingBetweenSlices = f"{SLICE_THICKNESS_MM:g}"
    ds.KVP = "120"
    ds.ConvolutionKernel = "STANDARD"
    ds.PatientPosition = "FFS" if a.part is BodyPart.ABDOMEN else "HFS"
    ds.StudyInstanceUID = s.study_uid
    ds.SeriesInstanceUID = s.series_uid
    ds.StudyID = s.accession[-6:]
    ds.SeriesNumber = 2
    ds.AcquisitionNumber = 1
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.FrameOfReferenceUID = s.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = IMAGE_SIZE
    ds.PixelSpacing = [f"{a.spacing_mm:.6f}", f"{a.spacing_mm:.6f}"]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    centers, widths = WINDOWS[a.part]
    ds.WindowCenter = [f"{c:g}" for c in centers] if len(centers) > 1 else f"{centers[0]:g}"
    ds.WindowWidth = [f"{w:g}" for w in widths] if len(widths) > 1 else f"{widths[0]:g}"
    ds.RescaleIntercept = f"{RESCALE_INTERCEPT:g}"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    return ds


_LONG_LENGTH_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT"})
_TAGS = {"SOPInstanceUID": 0x00080018, "ContentTime": 0x00080033, "InstanceNumber": 0x00200013,
         "ImagePositionPatient": 0x00200032, "SliceLocation": 0x00201041, "PixelData": 0x7FE00010}
_META_TAGS = {"MediaStorageSOPClassUID": 0x00020002, "MediaStorageSOPInstanceUID": 0x00020003,
              "TransferSyntaxUID": 0x00020010, "ImplementationClassUID": 0x00020012,
              "ImplementationVersionName": 0x00020013}
_META_VRS = {0x00020002: "UI", 0x00020003: "UI", 0x00020010: "UI", 0x00020012: "UI", 0x00020013: "SH"}


def _element(tag: int, vr: str, value: bytes) -> bytes:
    """One explicit-VR little-endian element, padded to even length as PS3.5 6.2 requires."""
    if len(value) % 2:
        value += b"\x00" if vr in ("UI", "OB", "OW") else b" "
    if vr in _LONG_LENGTH_VRS:
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(value)) + value


class SeriesEncoder:
    """Encode the slices of one series whose headers differ only in ``SLICE_KEYWORDS``.

    The shared elements go through pydicom's element writer once per series; the six
    per-slice elements and the file meta (all plain UI / TM / IS / DS / OW values) are
    packed directly.
    """

    def __init__(self, header: Dataset) -> None:
        meta = header.file_meta
        if meta.TransferSyntaxUID != ExplicitVRLittleEndian:
            raise ValueError("SeriesEncoder writes explicit VR little endian only")
        if header.get("BitsAllocated") != 16:
            raise ValueError("SeriesEncoder writes 16-bit pixel data (OW) only")
        self._meta = [(tag, str(meta.get(kw) or "").encode("ascii")) for kw, tag in _META_TAGS.items()
                      if kw == "MediaStorageSOPInstanceUID" or kw in meta]
        self._shared: list[tuple[int, bytes]] = []
        for elem in header:
            if elem.keyword in SLICE_KEYWORDS:
                continue
            fp = DicomBytesIO()
            fp.is_little_endian, fp.is_implicit_VR = True, False
            write_data_element(fp, elem)
            self._shared.append((int(elem.tag), fp.getvalue()))

    def encode(self, *, sop_instance_uid: str, content_time: str, instance_number: int,
               image_position: tuple[str, str, str], slice_location: str, pixel_data: bytes) -> bytes:
        """Bytes of one complete DICOM file: preamble, 'DICM', file meta, then the data set in tag order."""
        meta = b"".join(_element(tag, _META_VRS[tag], sop_instance_uid.encode("ascii")
                                 if tag == _META_TAGS["MediaStorageSOPInstanceUID"] else value)
                        for tag, value in self._meta)
        meta = _element(0x00020001, "OB", b"\x00\x01") + meta
        meta = _element(0x00020000, "UL", struct.pack("<I", len(meta))) + meta
        chunks = self._shared + [
            (_TAGS["SOPInstanceUID"], _element(_TAGS["SOPInstanceUID"], "UI", sop_instance_uid.encode("ascii"))),
            (_TAGS["ContentTime"], _element(_TAGS["ContentTime"], "TM", content_time.encode("ascii"))),
            (_TAGS["InstanceNumber"], _element(_TAGS["InstanceNumber"], "IS", str(int(instance_number)).encode())),
            (_TAGS["ImagePositionPatient"], _element(_TAGS["ImagePositionPatient"], "DS",
                                                     "\\".join(image_position).encode("ascii"))),
            (_TAGS["SliceLocation"], _element(_TAGS["SliceLocation"], "DS", slice_location.encode("ascii"))),
            (_TAGS["PixelData"], _element(_TAGS["PixelData"], "OW", pixel_data)),
        ]
        chunks.sort(key=lambda t: t[0])
        return b"\x00" * 128 + b"DICM" + meta + b"".join(c for _, c in chunks)
