"""DICOM and lesion-annotation ingest: real pydicom files, generated studies, truncation, duplicates, PHI."""
from __future__ import annotations

import logging
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from pydicom.data import get_testdata_file

from core.ingest import annotations, dicom, run
from core.ingest.base import MRN_SYSTEM
from core.store import schema
from core.synth.imaging import LesionSpec, annotation_for, write_ct_study, write_lesion_annotations

# local pydicom test files (no download): CT, MR, JPEG-compressed NM, RGB JPEG, RT structure set without file meta
REAL_FILES = ("CT_small.dcm", "MR_small.dcm", "JPEG-lossy.dcm", "SC_rgb_jpeg_gdcm.dcm", "rtstruct.dcm")
MRN, NAME, BIRTH = "48213377", "ZEBULON, QUINTESSA", date(1961, 4, 12)


@pytest.fixture
def con(monkeypatch):
    monkeypatch.setattr(run, "ingesters", lambda: [dicom.INGESTER, annotations.INGESTER])
    c = duckdb.connect()
    schema.migrate(c)
    yield c
    c.close()


def real(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "real"
    folder.mkdir(exist_ok=True)
    for n in names:
        shutil.copy(get_testdata_file(n), folder / n)
    return folder


def one(con, sql: str, *params):
    return con.execute(sql, list(params)).fetchall()


def errors(con, severity: str = "error") -> list[tuple[str, str, str, str]]:
    return [(Path(u).name, loc, et, msg) for u, loc, et, msg in con.execute(
        "SELECT source_uri, locator, error_type, message FROM ingest_errors WHERE severity = ? ORDER BY source_uri",
        [severity]).fetchall()]


def test_detects_by_preamble_or_extension(tmp_path):
    head = b"\0" * 128 + b"DICM" + b"\0" * 100
    assert dicom.INGESTER.detect(tmp_path / "IM0001", head)
    assert dicom.INGESTER.detect(tmp_path / "x.DCM", b"no preamble")
    assert not dicom.INGESTER.detect(tmp_path / "note.txt", b"MRN: 1\n")


def test_real_pydicom_files_ingest_with_their_values(con, tmp_path):
    s = run.ingest_paths(con, [real(tmp_path, *REAL_FILES)])
    assert (s.ingested, s.failed) == (len(REAL_FILES), 0), errors(con)
    rows = {Path(r[0]).name: r[1:] for r in con.execute(
        "SELECT i.file_path, s.dicom_modality, i.rows, i.columns, i.pixel_spacing_mm, i.slice_thickness_mm, "
        "i.window_center, i.observed_at, i.locator, i.sop_instance_uid "
        "FROM imaging_instances i JOIN imaging_series s USING (series_uid)").fetchall()}
    ct = rows["CT_small.dcm"]
    assert ct[:5] == ("CT", 128, 128, pytest.approx(0.661468), 5.0)
    assert ct[6] == datetime(2004, 1, 19, 7, 27, 30)
    assert ct[7] == ct[8] == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"  # locator = SOP Instance UID
    assert rows["MR_small.dcm"][:6] == ("MR", 64, 64, pytest.approx(0.3125), pytest.approx(0.8), 600.0)
    assert rows["JPEG-lossy.dcm"][:3] == ("NM", 1024, 256)  # compressed: metadata only, no size check
    assert rows["SC_rgb_jpeg_gdcm.dcm"][:3] == ("OT", 100, 100)
    assert rows["rtstruct.dcm"][:3] == ("RTSTRUCT", None, None)  # no preamble, no file meta
    # no IssuerOfPatientID in these files: linked in the fallback system, with a warning
    systems = {r[0] for r in one(con, "SELECT DISTINCT system FROM patient_identifiers")}
    assert systems == {dicom.NO_ISSUER_SYSTEM}
    assert {e[1] for e in errors(con, "warning")} == {"IssuerOfPatientID (0010,0021)"}
    ct_patient = one(con, "SELECT p.sex, p.family_name, p.given_name FROM patients p JOIN patient_identifiers i "
                          "USING (patient_id) WHERE i.value = '1CT1'")
    assert ct_patient == [("other", "CompressedSamples", "CT1")]
    assert one(con, "SELECT study_description FROM imaging_studies WHERE study_uid = "
                    "'1.3.6.1.4.1.5962.1.2.1.20040119072730.12322'") == [("e+1",)]


def test_truncated_files_are_errors_and_the_rest_lands(con, tmp_path):
    folder = real(tmp_path, "CT_small.dcm", "MR_small.dcm", "MR_truncated.dcm")
    data = (folder / "CT_small.dcm").read_bytes()
    (folder / "CT_cut.dcm").write_bytes(data[:len(data) - 138 - 32768 + 8192])  # 8 KiB of the 32 KiB image left
    (folder / "CT_header_cut.dcm").write_bytes(data[:900])
    s = run.ingest_paths(con, [folder])
    assert (s.ingested, s.failed) == (2, 3)
    errs = {e[0]: e for e in errors(con)}
    assert errs["CT_cut.dcm"][1:] == ("PixelData (7FE0,0010)", "TruncatedPixelData",
                                      "PixelData truncated: 8192 of 32768 bytes; re-export the file from the PACS")
    assert errs["MR_truncated.dcm"][3].startswith("PixelData truncated: 8130 of 8192 bytes")
    assert "CT_header_cut.dcm" in errs
    assert one(con, "SELECT count(*) FROM imaging_instances") == [(2,)]
    assert all(str(folder / "CT_cut.dcm") not in r[0] for r in one(con, "SELECT file_path FROM imaging_instances"))


def test_reingest_is_idempotent(con, tmp_path):
    folder = real(tmp_path, *REAL_FILES)
    write_ct_study(folder / "gen", mrn=MRN, patient_name=NAME, birth_date=BIRTH, sex="F", study_date=date(2025, 3, 4),
                   lesion=LesionSpec(25.0, "smooth", 0.2), body_part="chest", seed=3)
    tables = ("imaging_studies", "imaging_series", "imaging_instances", "patients", "patient_identifiers",
              "ingest_errors")
    first = run.ingest_paths(con, [folder])
    counts = [one(con, f"SELECT count(*) FROM {t}")[0][0] for t in tables]
    second = run.ingest_paths(con, [folder])
    assert first.ingested == len(REAL_FILES) + 5 and second.ingested == 0 and second.skipped == first.ingested
    assert [one(con, f"SELECT count(*) FROM {t}")[0][0] for t in tables] == counts


def test_duplicate_sop_instance_uid_names_both_files(con, tmp_path):
    folder = real(tmp_path, "CT_small.dcm")
    data = bytearray((folder / "CT_small.dcm").read_bytes())
    data[-200] ^= 0xFF  # different bytes (a new file to the store), same SOP Instance UID
    (folder / "CT_small_copy.dcm").write_bytes(bytes(data))
    s = run.ingest_paths(con, [folder])
    assert (s.ingested, s.failed) == (1, 1)
    [(name, locator, etype, msg)] = errors(con)
    assert name == "CT_small_copy.dcm" and locator == "SOPInstanceUID (0008,0018)"
    assert etype == "DuplicateSOPInstanceUID" and str(folder / "CT_small.dcm") in msg


def test_unreadable_unlinkable_and_dicomdir(con, tmp_path):
    folder = real(tmp_path, "no_meta.dcm", "ExplVR_LitEndNoMeta.dcm")
    (folder / "junk.dcm").write_text("this is not DICOM at all\n" * 20)
    dicomdir = Path(get_testdata_file("DICOMDIR", read=False) or "")
    if dicomdir.is_file():
        shutil.copy(dicomdir, folder / "DICOMDIR")
    s = run.ingest_paths(con, [folder])
    errs = {e[0]: e for e in errors(con)}
    assert errs["ExplVR_LitEndNoMeta.dcm"][1:3] == ("PatientID (0010,0020)", "Unlinkable")
    assert errs["no_meta.dcm"][1] == "SOPInstanceUID (0008,0018)"
    assert "junk.dcm" in errs
    assert s.failed == 3
    if dicomdir.is_file():
        assert any(w[0] == "DICOMDIR" and "DICOMDIR index" in w[3] for w in errors(con, "warning"))
        assert s.ingested == 1


def generated(tmp_path: Path, lesion: LesionSpec | None = LesionSpec(30.0, "spiculated", 0.6)):
    return write_ct_study(tmp_path / "ct", mrn=MRN, patient_name=NAME, birth_date=BIRTH, sex="female",
                          study_date=date(2025, 3, 4), lesion=lesion, body_part="chest", seed=11)


def test_generated_study_links_by_mrn_with_demographics(con, tmp_path):
    st = generated(tmp_path)
    s = run.ingest_paths(con, [tmp_path / "ct"])
    assert (s.ingested, s.failed) == (5, 0) and errors(con, "warning") == []
    [(system, value, pid)] = one(con, "SELECT system, value, patient_id FROM patient_identifiers")
    assert (system, value) == (MRN_SYSTEM, MRN) and MRN not in pid
    assert one(con, "SELECT sex, birth_date, family_name, given_name, mrn FROM patients WHERE patient_id = ?", pid) \
        == [("female", BIRTH, "ZEBULON", "QUINTESSA", MRN)]
    inst = one(con, "SELECT sop_instance_uid, locator, pixel_spacing_mm, slice_location_mm, window_center, "
                    "window_width, observed_at, modality FROM imaging_instances ORDER BY instance_number")
    assert [r[0] for r in inst] == [r[1] for r in inst] == st.sop_instance_uids
    assert inst[0][2] == pytest.approx(st.pixel_spacing_mm) and inst[0][3] == pytest.approx(st.slice_locations_mm[0])
    assert inst[0][4:6] == (40.0, 400.0) and inst[0][6].date() == date(2025, 3, 4) and inst[0][7] == "imaging"
    assert one(con, "SELECT accession_number, dicom_modality FROM imaging_studies") == [(st.accession_number, "CT")]
    assert one(con, "SELECT body_part FROM imaging_series") == [("CHEST",)]


def test_phi_lands_only_in_phi_classified_columns(con, tmp_path, caplog):
    st = generated(tmp_path)
    bad = bytearray(st.files[0].read_bytes())
    (tmp_path / "ct" / "cut.dcm").write_bytes(bytes(bad[:-5000]))  # an error path too
    caplog.set_level(logging.DEBUG)
    run.ingest_paths(con, [tmp_path / "ct"])
    secrets = (MRN, "ZEBULON", "QUINTESSA", "19610412", "1961-04-12", st.accession_number)
    found = []
    for table in schema.TABLES_V1:
        for col in table.columns:
            hits = con.execute(f'SELECT count(*) FROM {table.name} WHERE ' + " OR ".join(
                f'CAST("{col.name}" AS VARCHAR) LIKE ?' for _ in secrets), [f"%{s}%" for s in secrets]).fetchone()[0]
            if hits:
                found.append((table.name, col.name, col.phi))
    assert found, "the test must see the PHI somewhere"
    assert {(t, c) for t, c, _ in found} >= {("imaging_instances", "dicom_patient_name"),
                                               ("imaging_instances", "dicom_patient_id"),
                                               ("imaging_instances", "dicom_birth_date"),
                                               ("imaging_studies", "accession_number"), ("patients", "birth_date"),
                                               ("patients", "family_name"), ("patients", "mrn")}
    assert all(phi is schema.Phi.DIRECT for _, _, phi in found), found
    assert not any(s in rec.getMessage() for rec in caplog.records for s in secrets)


def test_lesion_annotations_ingest_after_their_study(con, tmp_path):
    st = generated(tmp_path)
    row = annotation_for(st, mrn=MRN, lesion_id="L1", margin="spiculated", measured_at=datetime(2025, 3, 5, 9, 30))
    other = write_ct_study(tmp_path / "other", mrn="99", patient_name="X Y", birth_date=BIRTH, sex="M",
                           study_date=date(2025, 1, 1), lesion=None, body_part="abdomen", seed=1)
    csv_path = write_lesion_annotations(tmp_path / "ann" / "export.csv", [
        row,
        {**row.__dict__, "lesion_id": "L2", "long_axis_mm": "abc"},
        {**row.__dict__, "lesion_id": "L3", "study_uid": other.study_uid},  # study of another patient
        {**row.__dict__, "lesion_id": "L4", "margin": "fuzzy", "center_row": ""},
    ])
    assert annotations.INGESTER.detect(csv_path, csv_path.read_bytes()[:500])
    s = run.ingest_paths(con, [tmp_path / "ct", tmp_path / "other", csv_path])
    assert s.ingested == 10 and s.failed == 1
    got = one(con, "SELECT lesion_id, study_uid, sop_instance_uid, long_axis_mm, short_axis_mm, center_row, margin, "
                   "method, locator, observed_at, modality FROM lesion_measurements ORDER BY lesion_id")
    assert [g[0] for g in got] == ["L1", "L4"]
    l1 = got[0]
    assert l1[1:3] == (st.study_uid, st.sop_instance_uids[st.slice_index])
    assert l1[3] == pytest.approx(st.long_axis_mm, abs=0.05) and l1[5] == st.lesion_center_rc[0]
    assert l1[6:9] == ("spiculated", "radiologist annotation", "row 2")
    study_at = one(con, "SELECT observed_at FROM imaging_studies WHERE study_uid = ?", st.study_uid)[0][0]
    assert l1[9] == study_at and l1[10] == "imaging"  # the lesion had this size on the study date
    assert got[1][5] is None and got[1][6] == "fuzzy"
    pids = one(con, "SELECT DISTINCT patient_id FROM lesion_measurements UNION SELECT DISTINCT patient_id "
                    "FROM imaging_studies WHERE study_uid = ?", st.study_uid)
    assert len(pids) == 1
    errs = {(e[1]) for e in errors(con)}
    assert errs == {"row 3, long_axis_mm", "row 4, study_uid"}
    assert [e[1] for e in errors(con, "warning")] == ["row 5, margin"]


def test_annotation_header_missing_columns_is_an_error(con, tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("mrn,study_uid,lesion_id,long_axis_mm\n1,2,3,4\n")
    s = run.ingest_paths(con, [p])
    assert s.failed == 1 and "lacks columns" in errors(con)[0][3]
