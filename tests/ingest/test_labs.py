from pathlib import Path

import duckdb
import pytest

from core.ingest import labs, run
from core.ingest.base import MRN_SYSTEM
from core.store import schema


@pytest.fixture
def con(monkeypatch):
    monkeypatch.setattr(run, "ingesters", lambda: [labs.INGESTER])
    c = duckdb.connect()
    schema.migrate(c)
    yield c
    c.close()


HEADER = "mrn,loinc,test_name,value,unit,reference_range,collected_at\n"


@pytest.mark.parametrize("text, expected", [
    ("3.5-5.0", (3.5, 5.0)), ("140 - 280", (140.0, 280.0)), ("<=3", (None, 3.0)), ("<3.0", (None, 3.0)),
    (">60", (60.0, None)), ("", (None, None)), ("0-3.0", (0.0, 3.0)),
])
def test_parse_range(text, expected):
    assert labs.parse_range(text) == expected


@pytest.mark.parametrize("text", ["normal", "5.0-3.5", "3.5..5"])
def test_parse_range_rejects(text):
    with pytest.raises(ValueError):
        labs.parse_range(text)


@pytest.mark.parametrize("text, expected", [
    ("3.9", (3.9, None)), ("147", (147.0, None)), ("<0.5", (None, "<0.5")), ("positive", (None, "positive")),
    ("nan", (None, "nan")),
])
def test_parse_value(text, expected):
    assert labs.parse_value(text) == expected


def test_detects_only_lab_exports(tmp_path):
    assert labs.INGESTER.detect(tmp_path / "x.csv", HEADER.encode())
    assert not labs.INGESTER.detect(tmp_path / "x.csv", b"sample_id,patient_identifier\n")
    assert not labs.INGESTER.detect(tmp_path / "x.txt", HEADER.encode())


def test_lab_rows_land_with_provenance_and_bad_rows_are_reported(con, tmp_path: Path):
    f = tmp_path / "labs.csv"
    f.write_text(HEADER
                 + "MRN-1,1751-7,Albumin,3.4,g/dL,3.5-5.0,2025-03-04 08:15\n"
                 + "MRN-1,2039-6,CEA,<0.5,ng/mL,<=3.0,03/04/2025\n"
                 + "MRN-1,2532-0,LDH,310,U/L,140-280,not a date\n"
                 + ",718-7,Hemoglobin,12.1,g/dL,12-16,2025-03-04\n"
                 + "MRN-2,XYZ,Local test,1.0,,,2025-03-05\n"
                 + "MRN-2,718-7,Hemoglobin,11.0,g/dL,high-low,2025-03-05\n")
    s = run.ingest_paths(con, [f])
    assert s.failed == 1
    rows = con.execute("SELECT loinc, value_num, value_text, ref_low, ref_high, locator, modality, observed_at "
                       "FROM labs ORDER BY locator").fetchall()
    assert [r[5] for r in rows] == ["line 2", "line 3", "line 6"]
    assert rows[0][:5] == ("1751-7", 3.4, None, 3.5, 5.0)
    assert rows[1][:5] == ("2039-6", None, "<0.5", None, 3.0)
    assert rows[0][6] == "labs" and str(rows[0][7]) == "2025-03-04 08:15:00"
    errs = dict(con.execute("SELECT locator, severity FROM ingest_errors").fetchall())
    assert errs == {"line 4, collected_at": "error", "line 5, mrn": "error", "line 6, loinc": "warning",
                    "line 7, reference_range": "error"}
    # patients are linked by MRN; the MRN is not in the lab rows
    pid = con.execute("SELECT patient_id FROM patient_identifiers WHERE system = ? AND value = 'MRN-1'",
                      [MRN_SYSTEM]).fetchone()[0]
    assert con.execute("SELECT count(*) FROM labs WHERE patient_id = ?", [pid]).fetchone()[0] == 2


def test_reingest_adds_nothing(con, tmp_path: Path):
    f = tmp_path / "labs.csv"
    f.write_text(HEADER + "MRN-1,1751-7,Albumin,3.4,g/dL,3.5-5.0,2025-03-04\n")
    run.ingest_paths(con, [f])
    s = run.ingest_paths(con, [f])
    assert s.skipped == 1
    assert con.execute("SELECT count(*) FROM labs").fetchone()[0] == 1


def test_header_without_required_columns_fails_the_file(con, tmp_path: Path):
    f = tmp_path / "labs.csv"
    f.write_text("mrn,loinc,value,collected_at\nMRN-1,1751-7,3.4,2025-03-04\n")
    assert labs.INGESTER.detect(f, f.read_bytes())
    f.write_text("mrn,loinc,value,when\nMRN-1,1751-7,3.4,2025-03-04\n")
    assert not labs.INGESTER.detect(f, f.read_bytes())
