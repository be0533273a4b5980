"""FHIR R4 ingest against the real mCODE / Synthea fixtures and small hand-written bundles."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from core.ingest import fhir, run
from core.ingest.base import MRN_SYSTEM
from core.store import schema

FHIR_DIR = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "fhir"
MCODE = FHIR_DIR / "mcode_breast_cancer_patient.json"
STAGING = FHIR_DIR / "mcode_staging_bundle.json"
SYNTHEA = FHIR_DIR / "synthea_colon_cancer_patient.json"


def new_store() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    schema.migrate(con)
    return con


@pytest.fixture
def con(monkeypatch):
    monkeypatch.setattr(run, "ingesters", lambda: [fhir.INGESTER])
    c = new_store()
    yield c
    c.close()


@pytest.fixture(scope="module")
def fixtures_store():
    """All three public fixtures ingested once (the Synthea file is 2.6 MB)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run, "ingesters", lambda: [fhir.INGESTER])
        c = new_store()
        summary = run.ingest_paths(c, [FHIR_DIR], seed="test")
        yield c, summary
        c.close()


def pid_of(con, system: str, value: str) -> str:
    return con.execute("SELECT patient_id FROM patient_identifiers WHERE system = ? AND value = ?",
                       [system, value]).fetchone()[0]


def one(con, sql: str, params=()):
    return con.execute(sql, list(params)).fetchone()


def bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}


def write_json(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


PATIENT = {"resourceType": "Patient", "id": "p1", "identifier": [{"system": MRN_SYSTEM, "value": "MRN-555"}],
           "gender": "male", "birthDate": "1960-02-03", "name": [{"family": "Roe", "given": ["Rick"]}]}


def lab_obs(rid: str, value, subject: str = "urn:uuid:p1") -> dict:
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2039-6", "display": "CEA"}]},
            "subject": {"reference": subject}, "effectiveDateTime": "2024-05-06",
            "valueQuantity": {"value": value, "unit": "ng/mL"}}


# ---- the public fixtures ----------------------------------------------------------------------
def test_all_fixtures_ingest_without_errors(fixtures_store):
    con, s = fixtures_store
    assert s.ingested == 3 and s.failed == 0, [(e.locator, e.reason) for e in s.errors if e.severity == "error"]
    assert one(con, "SELECT count(*) FROM ingest_errors WHERE severity = 'error'")[0] == 0


def test_mcode_bundle_id_violation_is_a_warning_and_the_data_lands(fixtures_store):
    con, _ = fixtures_store
    loc, msg = one(con, "SELECT locator, message FROM ingest_errors WHERE severity = 'warning' AND message LIKE '%Bundle.id%'")
    assert loc == "Bundle/9aa0a829-14be-4951-84e7-5dd453708011_1" and "read leniently" in msg
    pid = pid_of(con, "http://hospital.example.org", "a123")
    row = one(con, "SELECT cancer_type, oncotree_code, sex, birth_date, stage FROM patients WHERE patient_id = ?", [pid])
    assert row == ("breast", "IDC", "female", date(1959, 1, 1), "IV")
    n = one(con, "SELECT count(*) FROM fhir_resources WHERE patient_id = ?", [pid])[0]
    assert n == 18  # every entry of the bundle kept raw


def test_mcode_patient_is_er_positive_her2_negative(fixtures_store):
    con, _ = fixtures_store
    pid = pid_of(con, "http://hospital.example.org", "a123")
    status = dict(con.execute("SELECT name, status FROM biomarkers WHERE patient_id = ?", [pid]).fetchall())
    assert status["ER"] == "positive" and status["PR"] == "positive" and status["HER2"] == "negative"
    assert one(con, "SELECT method, locator FROM biomarkers WHERE patient_id = ? AND name = 'ER'", [pid]) == \
        ("IHC", "Observation/mCODETrialMatchingTumorMarkerPatientExample01")
    ecog = one(con, "SELECT value_num FROM clinical_observations WHERE patient_id = ? AND name = 'ECOG'", [pid])
    assert ecog == (1.0,)


def test_mcode_patient_has_esr1_and_pik3ca_variants(fixtures_store):
    con, _ = fixtures_store
    pid = pid_of(con, "http://hospital.example.org", "a123")
    rows = con.execute("SELECT hugo_symbol, protein_change, variant_category, annotation_source, genome_build "
                       "FROM variants WHERE patient_id = ? ORDER BY hugo_symbol", [pid]).fetchall()
    # The fixture names the genes (HGNC:3467, HGNC:8975) but reports no HGVS change: none may be invented.
    assert rows == [("ESR1", None, "MUTATION", "fhir", "unknown"), ("PIK3CA", None, "MUTATION", "fhir", "unknown")]
    warned = con.execute("SELECT count(*) FROM ingest_errors WHERE message LIKE '%without HGVS%'").fetchone()[0]
    assert warned == 2


def test_mcode_secondary_cancers_do_not_override_the_primary(fixtures_store):
    con, _ = fixtures_store
    pid = pid_of(con, "http://hospital.example.org", "a123")
    rows = con.execute("SELECT display, oncotree_code, stage FROM conditions WHERE patient_id = ? "
                       "ORDER BY oncotree_code NULLS LAST, display", [pid]).fetchall()
    assert rows[0] == ("Infiltrating duct carcinoma of breast (disorder)", "IDC", "IV")
    assert len(rows) == 4 and all(r[1] is None for r in rows[1:])
    meds = {r[0] for r in con.execute("SELECT name FROM treatments WHERE patient_id = ?", [pid]).fetchall()}
    assert meds == {"leuprolide", "fulvestrant", "abemaciclib", "ribociclib"}


def test_synthea_colon_cancer_patient(fixtures_store):
    con, _ = fixtures_store
    pid = pid_of(con, fhir.FHIR_PATIENT_SYSTEM, "7217c081-64cf-4e6c-b023-05c2e2dcf50c")
    p = one(con, "SELECT cancer_type, oncotree_code, diagnosis_date, sex, age_at_diagnosis_years, mrn IS NOT NULL "
                 "FROM patients WHERE patient_id = ?", [pid])
    assert p[:4] == ("colorectal", "COAD", date(2018, 4, 30), "female") and 64 < p[4] < 66 and p[5]
    cond = one(con, "SELECT code, oncotree_code, clinical_status FROM conditions WHERE patient_id = ? "
                    "AND oncotree_code IS NOT NULL", [pid])
    assert cond == ("109838007", "COAD", "resolved")
    drugs = {r[0] for r in con.execute("SELECT name FROM treatments WHERE patient_id = ? AND kind = 'drug'", [pid]).fetchall()}
    assert {"oxaliplatin", "leucovorin", "metoprolol succinate"} <= drugs
    assert one(con, "SELECT count(*) FROM treatments WHERE patient_id = ? AND kind = 'radiation'", [pid])[0] == 6
    labs = con.execute("SELECT loinc, count(*) FROM labs WHERE patient_id = ? GROUP BY loinc", [pid]).fetchall()
    by_loinc = dict(labs)
    assert by_loinc["2339-0"] == 17 and by_loinc["718-7"] == 8 and sum(by_loinc.values()) > 400
    hb = one(con, "SELECT name, unit, observed_at FROM labs WHERE patient_id = ? AND loinc = '718-7' "
                  "ORDER BY observed_at LIMIT 1", [pid])
    assert hb[0] == "Hemoglobin [Mass/volume] in Blood" and hb[1] == "g/dL"  # zero-width spaces removed
    bp = con.execute("SELECT DISTINCT code FROM clinical_observations WHERE patient_id = ? AND category = 'vital-signs' "
                     "AND code IN ('8480-6', '8462-4')", [pid]).fetchall()
    assert len(bp) == 2  # blood pressure components become systolic and diastolic rows


def test_staging_bundle_without_patient_links_by_reference_with_warning(fixtures_store):
    con, _ = fixtures_store
    pid = pid_of(con, fhir.FHIR_PATIENT_SYSTEM, "mrn-1")
    assert one(con, "SELECT stage FROM patients WHERE patient_id = ?", [pid]) == ("IIIC",)
    tnm = dict(con.execute("SELECT name, value_text FROM clinical_observations WHERE patient_id = ? "
                           "AND category = 'staging'", [pid]).fetchall())
    assert tnm == {"cT": "cT3", "cN": "cN3", "cM": "cM0", "clinical stage group": "IIIC"}
    msg = one(con, "SELECT message FROM ingest_errors WHERE source_uri LIKE '%mcode_staging_bundle.json' "
                   "AND severity = 'warning'")[0]
    assert "no Patient resource" in msg and fhir.FHIR_PATIENT_SYSTEM in msg


def test_error_messages_carry_no_phi(fixtures_store):
    con, _ = fixtures_store
    # Locators are resource ids by design (the mCODE example ids happen to embed the family name), so
    # names are checked in messages, identifiers and birth dates in both.
    msgs = " ".join(r[0] for r in con.execute("SELECT message FROM ingest_errors").fetchall())
    locs = " ".join(r[0] for r in con.execute("SELECT locator FROM ingest_errors").fetchall())
    for phi in ("TrialMatching", "Mosciski", "Thanh", "a123", "mrn-1", "1959-01-01", "1953-04-23", "6b7b47bf"):
        assert phi not in msgs
    for phi in ("a123", "mrn-1", "1959-01-01", "6b7b47bf"):
        assert phi not in locs


def test_synthea_is_fast(tmp_path, con):
    import time

    t0 = time.perf_counter()
    s = run.ingest_paths(con, [SYNTHEA])
    assert s.ingested == 1
    assert time.perf_counter() - t0 < 10


# ---- hand-written bundles --------------------------------------------------------------------------
def test_invalid_resource_is_an_error_naming_it_while_the_rest_lands(con, tmp_path):
    orphan = {"resourceType": "Condition", "id": "orphan", "code": {"text": "Adenocarcinoma of lung"},
              "subject": {"reference": "Patient/nobody"}}
    f = write_json(tmp_path / "b.json", bundle(PATIENT, lab_obs("good-1", 4.2), lab_obs("bad-1", "lots"), orphan))
    s = run.ingest_paths(con, [f])
    assert s.failed == 1
    errors = con.execute("SELECT locator, message FROM ingest_errors WHERE severity = 'error' ORDER BY locator").fetchall()
    assert errors[0][0] == "Condition/orphan" and "subject.reference" in errors[0][1]
    assert errors[1][0] == "Observation/bad-1"
    assert "entry[2].resource.valueQuantity.value" in errors[1][1] and "not a number" in errors[1][1]
    warn = one(con, "SELECT message FROM ingest_errors WHERE severity = 'warning' AND locator = 'Observation/bad-1'")[0]
    assert "Observation.valueQuantity.value" in warn  # the strict validator's finding, as a warning
    assert con.execute("SELECT loinc, value_num, locator FROM labs").fetchall() == [("2039-6", 4.2, "Observation/good-1")]
    pid = pid_of(con, MRN_SYSTEM, "MRN-555")
    assert one(con, "SELECT sex, given_name, family_name, mrn FROM patients WHERE patient_id = ?", [pid]) == \
        ("male", "Rick", "Roe", "MRN-555")


def test_reingest_is_idempotent(con, tmp_path):
    s1 = run.ingest_paths(con, [MCODE, STAGING])
    counts = {t: one(con, f"SELECT count(*) FROM {t}")[0] for t in ("biomarkers", "variants", "conditions",
                                                                   "fhir_resources", "patients", "treatments")}
    s2 = run.ingest_paths(con, [MCODE, STAGING])
    assert (s1.ingested, s2.skipped) == (2, 2)
    con.execute("DELETE FROM sources")  # force a full second pass over the same bytes
    s3 = run.ingest_paths(con, [MCODE, STAGING])
    assert s3.ingested == 2
    assert counts == {t: one(con, f"SELECT count(*) FROM {t}")[0] for t in counts}


def test_bulk_ndjson_links_patients_across_files_in_any_order(con, tmp_path):
    obs = [lab_obs("o1", 3.0, "Patient/p1"), lab_obs("o2", 5.5, "Patient/p1")]
    (tmp_path / "Observation.ndjson").write_text("\n".join(json.dumps(o) for o in obs) + "\n{not json\n")
    (tmp_path / "Patient.ndjson").write_text(json.dumps(PATIENT) + "\n")
    s = run.ingest_paths(con, [tmp_path])  # Observation.ndjson sorts (and runs) first
    assert s.ingested + s.failed == 2
    pid = pid_of(con, MRN_SYSTEM, "MRN-555")
    assert pid == pid_of(con, fhir.FHIR_PATIENT_SYSTEM, "p1")
    assert one(con, "SELECT count(*) FROM labs WHERE patient_id = ?", [pid])[0] == 2
    assert one(con, "SELECT locator FROM ingest_errors WHERE severity = 'error'") == ("line 3",)


def test_patient_without_identifier_is_linked_by_id_with_a_warning(con, tmp_path):
    p = {"resourceType": "Patient", "id": "anon-7", "gender": "female"}
    f = write_json(tmp_path / "p.json", bundle(p, lab_obs("o9", 1.0, "urn:uuid:anon-7")))
    s = run.ingest_paths(con, [f])
    assert s.ingested == 1
    pid = pid_of(con, fhir.FHIR_PATIENT_SYSTEM, "anon-7")
    assert one(con, "SELECT count(*) FROM labs WHERE patient_id = ?", [pid])[0] == 1
    assert "no identifier" in one(con, "SELECT message FROM ingest_errors WHERE locator = 'Patient/anon-7'")[0]


def test_identifier_collisions_are_reported_never_merged(con, tmp_path):
    run.ingest_paths(con, [write_json(tmp_path / "a.json", PATIENT)])
    # same logical id, another MRN in the same system: two different people, not one
    other = {**PATIENT, "identifier": [{"system": MRN_SYSTEM, "value": "MRN-999"}]}
    s = run.ingest_paths(con, [write_json(tmp_path / "b.json", other)])
    assert s.failed == 1 and one(con, "SELECT count(*) FROM patients")[0] == 2
    assert pid_of(con, MRN_SYSTEM, "MRN-999") != pid_of(con, MRN_SYSTEM, "MRN-555")
    assert pid_of(con, fhir.FHIR_PATIENT_SYSTEM, "p1") == pid_of(con, MRN_SYSTEM, "MRN-555")
    # an MRN already known under another logical id is a collision too
    third = {"resourceType": "Patient", "id": "p2", "identifier": [{"system": MRN_SYSTEM, "value": "MRN-1000"}]}
    run.ingest_paths(con, [write_json(tmp_path / "c.json", third)])
    clash = {"resourceType": "Patient", "id": "p2", "identifier": [{"system": MRN_SYSTEM, "value": "MRN-555"}]}
    s = run.ingest_paths(con, [write_json(tmp_path / "d.json", clash)])
    assert s.failed == 1
    kinds = con.execute("SELECT DISTINCT error_type FROM ingest_errors WHERE severity = 'error'").fetchall()
    assert kinds == [("IdentifierCollision",)]


def test_patient_seen_again_with_a_second_identifier_system_joins(con, tmp_path):
    run.ingest_paths(con, [write_json(tmp_path / "a.json", PATIENT)])
    again = {**PATIENT, "identifier": [{"system": "http://other.example.org/ids", "value": "X-1"}]}
    s = run.ingest_paths(con, [write_json(tmp_path / "b.json", again)])
    assert s.failed == 0 and one(con, "SELECT count(*) FROM patients")[0] == 1
    assert pid_of(con, "http://other.example.org/ids", "X-1") == pid_of(con, MRN_SYSTEM, "MRN-555")


@pytest.mark.parametrize("name,text,expected", [
    ("x.json", '{"resourceType": "Bundle", "type": "collection"}', True),
    ("x.ndjson", '{"resourceType":"Observation","id":"1"}\n', True),
    ("x.json", '{"protocol_no": "17-251", "treatment_list": {}}', False),  # CTML
    ("x.txt", '{"resourceType": "Patient"}', False),
    ("x.json", '[{"resourceType": "Patient"}]', False),
])
def test_detect(tmp_path, name, text, expected):
    p = tmp_path / name
    p.write_text(text)
    assert fhir.INGESTER.detect(p, text.encode()) is expected


def test_unreadable_json_fails_the_file_with_a_reason(con, tmp_path):
    f = tmp_path / "broken.json"
    f.write_text('{"resourceType": "Bundle", "entry": [')
    s = run.ingest_paths(con, [f])
    assert s.failed == 1
    assert "not valid JSON" in one(con, "SELECT message FROM ingest_errors")[0]
