"""Generated CT studies: real DICOM with the right tags, UIDs and spacing; lesions true to their spec."""
from __future__ import annotations

import copy
import csv
import io
import math
from datetime import date, datetime

import numpy as np
import pydicom
import pytest
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian
from scipy import ndimage

from core.imaging.pixels import load_slice
from core.ingest.annotations import ANNOTATION_COLUMNS
from core.ingest.base import MRN_SYSTEM
from core.synth.ct_anatomy import BodyPart, anatomy_for
from core.synth.ct_dicom import HeaderPatient, HeaderSeries, SeriesEncoder, ct_header
from core.synth.imaging import (N_SLICES, SLICE_THICKNESS_MM, LesionSpec, annotation_for, body_part_of, lesion_mask,
                                write_ct_study, write_lesion_annotations)

BIRTH = date(1961, 4, 12)
STUDY = date(2025, 3, 4)


def study(tmp_path, *, mrn="48213377", lesion=LesionSpec(30.0, "lobulated", 0.5), body_part="chest", seed=7,
          with_pixels=True, study_date=STUDY):
    return write_ct_study(tmp_path / f"{mrn}-{seed}-{body_part}", mrn=mrn, patient_name="DOE, JANE",
                          birth_date=BIRTH, sex="female", study_date=study_date, lesion=lesion, body_part=body_part,
                          seed=seed, with_pixels=with_pixels)


def test_written_series_rereads_with_correct_tags(tmp_path):
    s = study(tmp_path)
    assert len(s.files) == N_SLICES == len(s.sop_instance_uids) == len(set(s.sop_instance_uids))
    locations = []
    for i, f in enumerate(s.files):
        assert f.read_bytes()[128:132] == b"DICM"
        ds = pydicom.dcmread(f)
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID == CTImageStorage
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID == s.sop_instance_uids[i]
        assert ds.StudyInstanceUID == s.study_uid and ds.SeriesInstanceUID == s.series_uid
        for uid in (ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID):
            assert UID(uid).is_valid
        assert str(ds.PatientName) == "DOE^JANE" and ds.PatientName.family_name == "DOE"
        assert ds.PatientID == "48213377" and ds.IssuerOfPatientID == MRN_SYSTEM
        assert ds.PatientBirthDate == "19610412" and ds.PatientSex == "F" and ds.PatientAge == "063Y"
        assert ds.StudyDate == ds.SeriesDate == ds.ContentDate == "20250304"
        assert ds.Modality == "CT" and ds.BodyPartExamined == "CHEST" and ds.StudyDescription
        assert ds.AccessionNumber == s.accession_number
        assert (ds.Rows, ds.Columns, ds.BitsAllocated, ds.PixelRepresentation) == (128, 128, 16, 1)
        assert float(ds.PixelSpacing[0]) == float(ds.PixelSpacing[1]) == pytest.approx(s.pixel_spacing_mm, abs=1e-6)
        assert float(ds.SliceThickness) == SLICE_THICKNESS_MM
        assert (float(ds.RescaleSlope), float(ds.RescaleIntercept), ds.RescaleType) == (1.0, -1024.0, "HU")
        assert list(map(float, ds.WindowCenter)) == [40.0, -600.0]
        assert float(ds.ImagePositionPatient[2]) == float(ds.SliceLocation)
        assert ds.InstanceNumber == i + 1
        assert ds.pixel_array.shape == (128, 128) and ds.pixel_array.dtype == np.int16
        locations.append(float(ds.SliceLocation))
    assert np.allclose(np.diff(locations), SLICE_THICKNESS_MM)
    assert tuple(locations) == pytest.approx(s.slice_locations_mm)


def test_uids_and_pixels_are_deterministic_by_seed(tmp_path):
    a = study(tmp_path / "a")
    b = study(tmp_path / "b")
    c = study(tmp_path / "c", seed=8)
    assert (a.study_uid, a.series_uid, a.sop_instance_uids) == (b.study_uid, b.series_uid, b.sop_instance_uids)
    assert [f.read_bytes() for f in a.files] == [f.read_bytes() for f in b.files]
    assert a.study_uid != c.study_uid and not set(a.sop_instance_uids) & set(c.sop_instance_uids)
    assert a.files[0].read_bytes() != c.files[0].read_bytes()


def test_without_pixels_writes_nothing_and_returns_the_same_truth(tmp_path):
    with_px = study(tmp_path)
    without = study(tmp_path / "none", with_pixels=False)
    assert without.files == [] and not (tmp_path / "none").exists()
    assert (without.study_uid, without.sop_instance_uids, without.lesion_center_rc, without.slice_index,
            without.long_axis_mm) == (with_px.study_uid, with_px.sop_instance_uids, with_px.lesion_center_rc,
                                      with_px.slice_index, with_px.long_axis_mm)


def test_fast_encoder_is_byte_identical_to_pydicom_save_as():
    a = anatomy_for("1", BodyPart.ABDOMEN)
    header = ct_header(HeaderPatient("1", "Jane Q Doe", BIRTH, "F"),
                       HeaderSeries(STUDY, "101500", "A1234567", "1.2.3", "1.2.3.4", "1.2.3.5"), a)
    pixels = (np.arange(128 * 128) % 3000 - 1000).astype("<i2").tobytes()
    ours = SeriesEncoder(header).encode(sop_instance_uid="1.2.3.4.55", content_time="101503", instance_number=3,
                                        image_position=("-170.000", "-170.000", "-150.20"), slice_location="-150.20",
                                        pixel_data=pixels)
    ds = copy.deepcopy(header)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = "1.2.3.4.55"
    ds.ContentTime, ds.InstanceNumber = "101503", 3
    ds.ImagePositionPatient, ds.SliceLocation = ["-170.000", "-170.000", "-150.20"], "-150.20"
    ds.PixelData = pixels
    ref = io.BytesIO()
    ds.save_as(ref, enforce_file_format=True)
    assert ours == ref.getvalue()
    assert pydicom.dcmread(io.BytesIO(ours)).PatientName == "Doe^Jane Q"


@pytest.mark.parametrize("size_mm", [12.0, 25.0, 50.0, 90.0])
@pytest.mark.parametrize("margin", ["smooth", "lobulated", "spiculated"])
def test_lesion_area_matches_its_size(size_mm, margin):
    lesion = LesionSpec(size_mm, margin, 0.3)
    mask = lesion_mask(mrn="777", body_part="chest", lesion=lesion)
    spacing = anatomy_for("777", BodyPart.CHEST).spacing_mm
    area_mm2 = mask.sum() * spacing ** 2
    expected = math.pi * (size_mm / 2) ** 2
    tol = 0.30 if size_mm < 20 else 0.12  # a 12 mm lesion is ~4 pixels across
    assert area_mm2 == pytest.approx(expected, rel=tol)


def _perimeter_ratio(mask: np.ndarray) -> float:
    """perimeter^2 / (4 pi area): 1 for a disc (plus pixel staircase), larger for irregular outlines."""
    edges = sum(np.count_nonzero(np.diff(mask.astype(np.int8), axis=ax)) for ax in (0, 1))
    return edges ** 2 / (4 * math.pi * mask.sum())


def test_margin_types_differ_measurably():
    ratios = {m: np.mean([_perimeter_ratio(lesion_mask(mrn=f"P{k}", body_part="abdomen",
                                                       lesion=LesionSpec(45.0, m, 0.2))) for k in range(6)])
              for m in ("smooth", "lobulated", "spiculated")}
    assert ratios["smooth"] * 1.08 < ratios["lobulated"]
    assert ratios["lobulated"] * 1.3 < ratios["spiculated"]


def test_lesion_in_the_image_has_the_truth_area_and_lung_contrast(tmp_path):
    lesion = LesionSpec(40.0, "smooth", 0.1)
    s = study(tmp_path, mrn="5150", lesion=lesion)
    hu = load_slice(s.files[s.slice_index])
    truth = lesion_mask(mrn="5150", body_part="chest", lesion=lesion)
    assert truth[s.lesion_center_rc]
    labels, _ = ndimage.label(hu > -400)  # soft tissue against aerated lung
    blob = labels == labels[s.lesion_center_rc]
    assert blob.sum() == pytest.approx(truth.sum(), rel=0.25)
    ring = ndimage.binary_dilation(truth, iterations=4) & ~ndimage.binary_dilation(truth, iterations=2)
    assert np.median(hu[truth]) > np.median(hu[ring]) + 500  # a nodule in aerated lung


def test_heterogeneity_shows_as_texture(tmp_path):
    def inner_sd(h: float) -> float:
        lesion = LesionSpec(50.0, "smooth", h)
        s = study(tmp_path, mrn="2468", lesion=lesion, body_part="abdomen", seed=int(h * 10))
        hu = load_slice(s.files[s.slice_index])
        inner = ndimage.binary_erosion(lesion_mask(mrn="2468", body_part="abdomen", lesion=lesion), iterations=2)
        return float(hu[inner].std())

    sd0, sd9 = inner_sd(0.0), inner_sd(0.9)
    assert sd0 < 16  # only scanner noise
    assert sd9 > sd0 + 12


def test_small_lesion_only_on_the_middle_slice_large_on_all():
    small = LesionSpec(9.0, "smooth", 0.0)
    large = LesionSpec(45.0, "smooth", 0.0)
    assert lesion_mask(mrn="9", body_part="chest", lesion=small).any()
    assert not lesion_mask(mrn="9", body_part="chest", lesion=small, slice_offset=1).any()
    assert all(lesion_mask(mrn="9", body_part="chest", lesion=large, slice_offset=k).any() for k in (-2, -1, 1, 2))


def test_site_is_stable_per_patient_and_explicit_location_is_honoured(tmp_path):
    first = study(tmp_path, mrn="1357", seed=1, lesion=LesionSpec(20.0, "smooth", 0.2), with_pixels=False)
    follow_up = study(tmp_path, mrn="1357", seed=2, study_date=date(2025, 6, 1),
                      lesion=LesionSpec(31.0, "spiculated", 0.6), with_pixels=False)
    assert first.lesion_center_rc == follow_up.lesion_center_rc and first.study_uid != follow_up.study_uid
    placed = study(tmp_path, lesion=LesionSpec(20.0, "smooth", 0.2, location=(0.25, 0.75)), with_pixels=False)
    assert placed.lesion_center_rc == (32, 96)
    none = study(tmp_path, lesion=None, with_pixels=False)
    assert none.lesion_center_rc is None and none.slice_index is None and none.long_axis_mm is None


def test_chest_abdomen_breast_slices_look_like_ct(tmp_path):
    for part in ("chest", "abdomen", "breast"):
        s = study(tmp_path, body_part=part, lesion=None)
        hu = load_slice(s.files[2])
        assert pydicom.dcmread(s.files[0]).BodyPartExamined == part.upper()
        assert hu[:6, :6].mean() < -950  # air around the patient
        assert hu.max() > 400  # bone: spine and ribs
        a = anatomy_for("48213377", body_part_of(part))
        r, c = int(a.organ_r), int(a.organ_dc if part == "abdomen" else 64 + a.organ_dc)
        organ = np.median(hu[r - 2:r + 3, c - 2:c + 3])
        expected = {"chest": (-900, -750), "abdomen": (80, 130), "breast": (-120, 60)}[part]  # lung, liver, breast
        assert expected[0] < organ < expected[1], part


@pytest.mark.parametrize("kwargs", [dict(size_mm=0.5, margin="smooth", heterogeneity=0.1),
                                    dict(size_mm=20, margin="irregular", heterogeneity=0.1),
                                    dict(size_mm=20, margin="smooth", heterogeneity=1.5),
                                    dict(size_mm=20, margin="smooth", heterogeneity=0.1, location=(1.2, 0.5))])
def test_lesion_spec_validates(kwargs):
    with pytest.raises(ValueError):
        LesionSpec(**kwargs)


def test_body_part_aliases():
    assert body_part_of("lung") is BodyPart.CHEST and body_part_of("COLORECTAL") is BodyPart.ABDOMEN
    with pytest.raises(ValueError, match="unknown body part"):
        body_part_of("knee")


def test_annotation_csv_has_the_export_columns(tmp_path):
    s = study(tmp_path, lesion=LesionSpec(33.0, "spiculated", 0.4))
    row = annotation_for(s, mrn="48213377", lesion_id="L1", margin="spiculated", measured_at=datetime(2025, 3, 5, 9))
    assert row.sop_instance_uid == s.sop_instance_uids[s.slice_index]
    assert 0 < row.short_axis_mm <= row.long_axis_mm
    path = write_lesion_annotations(tmp_path / "ann.csv", [row, {**row.__dict__, "lesion_id": "L2"}])
    rows = list(csv.DictReader(path.open()))
    assert tuple(rows[0]) == ANNOTATION_COLUMNS
    assert rows[0]["measured_at"] == "2025-03-05T09:00:00" and rows[1]["lesion_id"] == "L2"
