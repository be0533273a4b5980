"""Bundles built by core.fhir.writer are valid R4 and round-trip through the FHIR ingester."""
from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from core.fhir import writer as W
from core.fhir.validate import validation_issues
from core.ingest import fhir, run
from core.ingest.base import MRN_SYSTEM
from core.store import schema

D = date(2024, 3, 4)


def breast_case() -> tuple[dict, list[dict]]:
    p = W.patient("48213377", sex="female", birth_date=date(1961, 4, 12), given="Jane", family="Doe",
                  deceased=date(2026, 1, 2))
    P = W.ref(p)
    c = W.cancer_condition(P, oncotree="BRCA", onset=D, stage="IIA",
                           histology=("82113001", "Infiltrating duct carcinoma (morphologic abnormality)"))
    sp = W.specimen(P, sample_id="S-0001", specimen_type="FFPE tumour", collected=D)
    return p, [
        p, c, sp,
        W.stage_group(P, stage="IIA", effective=D, condition_ref=W.ref(c)),
        W.tumor_marker(P, "ER", effective=D, value_percent=90, status="positive"),
        W.tumor_marker(P, "PR", effective=D, status="negative"),
        W.tumor_marker(P, "HER2", effective=D, status="negative"),
        W.tumor_marker(P, "PD-L1 TPS", effective=D, value_percent=0.5),
        W.tumor_marker(P, "Ki-67", effective=D, value_percent=30),
        W.tmb(P, value=12.5, effective=D), W.msi(P, status="MSI-H", effective=D),
        W.genomic_variant(P, gene="PIK3CA", protein_change="p.H1047R", hgvsc="c.3140A>G", genome_build="GRCh38",
                          vaf=0.31, effective=D, specimen_ref=W.ref(sp)),
        W.genomic_variant(P, gene="ESR1", protein_change="p.D538G", effective=date(2025, 5, 1)),
        W.ecog(P, score=1, effective=D), W.karnofsky(P, score=80, effective=D),
        W.medication_statement(P, drug="palbociclib", rxnorm="1601380", start=date(2024, 4, 1),
                               end=date(2025, 4, 1), intent="palliative"),
        W.medication_statement(P, drug="letrozole", start=date(2024, 4, 1)),
        W.procedure(P, name="Partial mastectomy", performed=date(2024, 4, 20), intent="curative",
                    code=("64368001", "Partial mastectomy (procedure)")),
        W.procedure(P, name="Whole breast radiotherapy", performed=date(2024, 6, 1), end=date(2024, 7, 1),
                    radiation=True),
        W.disease_status(P, status="progression", effective=date(2025, 5, 1), condition_ref=W.ref(c)),
        W.lab(P, loinc="2039-6", name="CEA", value=3.2, unit="ng/mL", effective=D, ref_high=5.0),
    ]


def test_every_built_resource_and_the_bundle_are_valid_r4():
    _, resources = breast_case()
    for r in resources + [W.bundle(resources)]:
        assert validation_issues(r) == [], r["resourceType"]


def test_ids_are_deterministic():
    assert W.bundle(breast_case()[1]) == W.bundle(breast_case()[1])


@pytest.fixture
def store(monkeypatch, tmp_path):
    monkeypatch.setattr(run, "ingesters", lambda: [fhir.INGESTER])
    con = duckdb.connect()
    schema.migrate(con)
    _, resources = breast_case()
    f = tmp_path / "case.json"
    f.write_text(json.dumps(W.bundle(resources)))
    summary = run.ingest_paths(con, [f])
    yield con, summary
    con.close()


def test_round_trip_through_the_ingester(store):
    con, s = store
    assert s.ingested == 1 and not s.errors, [(e.locator, e.reason) for e in s.errors]
    pid = con.execute("SELECT patient_id FROM patient_identifiers WHERE system = ? AND value = '48213377'",
                      [MRN_SYSTEM]).fetchall()[0][0]
    assert con.execute("SELECT cancer_type, oncotree_code, stage, diagnosis_date, sex, mrn FROM patients").fetchall() == \
        [("breast", "IDC", "IIA", D, "female", "48213377")]  # ductal histology refines BRCA to IDC
    markers = {r[0]: r[1:] for r in con.execute("SELECT name, status, value_num, value_text FROM biomarkers").fetchall()}
    assert markers["ER"] == ("positive", 90.0, None) and markers["PR"][0] == "negative"
    assert markers["HER2"][0] == "negative" and markers["PD-L1 TPS"] == ("negative", 0.5, None)
    assert markers["TMB"][:2] == ("high", 12.5) and markers["MSI"] == ("positive", None, "MSI-H")
    variants = con.execute("SELECT hugo_symbol, protein_change, hgvsp, hgvsc, genome_build, vaf, sample_id, "
                           "variant_classification FROM variants ORDER BY hugo_symbol").fetchall()
    assert variants == [("ESR1", "p.D538G", "p.Asp538Gly", None, "unknown", None, None, "Missense_Mutation"),
                        ("PIK3CA", "p.H1047R", "p.His1047Arg", "c.3140A>G", "GRCh38", 0.31, "S-0001", "Missense_Mutation")]
    treatments = con.execute("SELECT kind, name, intent, start_date, end_date FROM treatments ORDER BY start_date, name").fetchall()
    assert treatments == [("drug", "letrozole", None, date(2024, 4, 1), None),
                          ("drug", "palbociclib", "palliative", date(2024, 4, 1), date(2025, 4, 1)),
                          ("procedure", "Partial mastectomy", "curative", date(2024, 4, 20), None),
                          ("radiation", "Whole breast radiotherapy", None, date(2024, 6, 1), date(2024, 7, 1))]
    outcomes = con.execute("SELECT event, CAST(observed_at AS DATE) FROM outcomes ORDER BY observed_at").fetchall()
    assert outcomes == [("progression", date(2025, 5, 1)), ("death", date(2026, 1, 2))]
    perf = dict(con.execute("SELECT name, value_num FROM clinical_observations WHERE category = 'performance_status'").fetchall())
    assert perf == {"ECOG": 1.0, "Karnofsky": 80.0}
    assert con.execute("SELECT stage FROM conditions").fetchall() == [("IIA",)]
    assert con.execute("SELECT loinc, value_num, ref_high FROM labs").fetchall() == [("2039-6", 3.2, 5.0)]
    assert con.execute("SELECT specimen_id, sample_id FROM specimens").fetchall() == [("S-0001", "S-0001")]
    assert con.execute("SELECT count(DISTINCT patient_id) FROM fhir_resources").fetchall() == [(1,)]
    assert con.execute("SELECT count(*) FROM fhir_resources WHERE patient_id = ?", [pid]).fetchall() == [(21,)]


@pytest.mark.parametrize("call", [
    lambda: W.tumor_marker("urn:uuid:x", "EGFR", effective=D, status="positive"),
    lambda: W.tumor_marker("urn:uuid:x", "ER", effective=D),
    lambda: W.msi("urn:uuid:x", status="high", effective=D),
    lambda: W.ecog("urn:uuid:x", score=7, effective=D),
    lambda: W.cancer_condition("urn:uuid:x", oncotree="XYZ", onset=D),
    lambda: W.cancer_condition("urn:uuid:x", oncotree="LUAD", onset=D, stage="Stage five"),
    lambda: W.disease_status("urn:uuid:x", status="better", effective=D),
])
def test_builders_refuse_bad_input(call):
    with pytest.raises(ValueError):
        call()
