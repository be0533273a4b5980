"""Cross-modal discrepancy detection on hand-made rows, and precision / recall on the planted ones."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import polars as pl
import pytest

from core.ingest.base import insert_rows
from core.models.discrepancy import DiscrepancyKind, detect_discrepancies, gene_of
from core.store import db

T0 = datetime(2025, 3, 4)


def _prov(pid: str, modality: str, locator: str, src: str, at: datetime = T0) -> dict:
    return {"patient_id": pid, "modality": modality, "observed_at": at, "source_uri": f"file:///{src}",
            "source_sha256": src.ljust(64, "0"), "locator": locator, "extractor": "test", "extractor_version": "1",
            "ingested_at": T0, "ingest_run_id": "t"}


def _event(pid: str, k: int, concept: str, value: str | None, ctype: str = "biomarker", note: str = "n", **flags) -> dict:
    base = {"is_negated": False, "is_family": False, "is_hypothetical": False, "is_uncertain": False,
            "is_historical": False}
    return {"event_id": f"{pid}-{k}", "note_id": f"{pid}-{note}", "concept_type": ctype, "concept": concept,
            "value_text": value, "span_start": k, "span_end": k + 5, **(base | flags),
            **_prov(pid, "notes", f"{k}:{k + 5}", f"{pid}{note}")}


def _variant(pid: str, gene: str, change: str = "p.L858R", cnv: str | None = None) -> dict:
    return {"variant_id": f"{pid}{gene}", "hugo_symbol": gene, "protein_change": change if cnv is None else None,
            "cnv_call": cnv, "variant_classification": "Missense_Mutation", "filter": "PASS",
            **_prov(pid, "genomics", f"line {len(pid)}", f"{pid}vcf")}


def _tested(pid: str, gene: str) -> dict:
    return {"specimen_id": f"S{pid}", "gene": gene, "panel_name": "p", **_prov(pid, "genomics", gene, f"{pid}man")}


def _radiology(pid: str, text: str, at: datetime = T0) -> dict:
    return {"note_id": f"{pid}-r", "note_type": "Radiology Report", "title": "CT chest", "text": text,
            **_prov(pid, "notes", f"{pid}-r", f"{pid}r", at)}


def _lesion(pid: str, at: datetime, size: float = 31.0) -> dict:
    return {"measurement_id": f"{pid}L{at:%j}", "lesion_id": "L1", "study_uid": f"{pid}.1", "long_axis_mm": size,
            **_prov(pid, "imaging", f"{pid}L", f"{pid}ann", at)}


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("disc")
    rows = {
        "note_events": [
            _event("A", 1, "EGFR", "negative"),                                 # vs EGFR L858R: flagged
            _event("B", 1, "EGFR", "mutation", is_family=True),                 # family: ignored
            _event("B", 2, "EGFR", "negative", is_hypothetical=True),           # hypothetical: ignored
            _event("C", 1, "EGFR", "negative"),                                 # consistent with no variant
            _event("D", 1, "HER2", "negative (IHC 1+)"),                        # vs ERBB2 amplification: flagged
            _event("E", 1, "KRAS", "p.G12C detected"),                          # tested, not altered: flagged
            _event("F", 1, "EGFR", None, is_negated=True),                      # "no EGFR mutation" vs variant
            _event("G", 1, "mass", None, ctype="finding", note="r", is_negated=True),   # radiology: no mass
            _event("H", 1, "mass", None, ctype="finding", note="r", is_negated=True),
            _event("H", 2, "nodule", None, ctype="finding", note="r"),                 # but a nodule is affirmed
        ],
        "variants": [_variant("A", "EGFR"), _variant("B", "EGFR"), _variant("D", "ERBB2", cnv="amplification"),
                     _variant("F", "EGFR")],
        "tested_genes": [_tested("C", "EGFR"), _tested("E", "KRAS")],
        "notes": [_radiology("G", "IMPRESSION: No mass."), _radiology("H", "No mass. 8 mm nodule."),
                  _radiology("I", "FINDINGS: Lungs clear. IMPRESSION: No measurable disease."),
                  _radiology("J", "IMPRESSION: No measurable disease."),
                  _radiology("K", "No mass in the left lung. Spiculated mass in the right upper lobe.")],
        "lesion_measurements": [_lesion("G", T0 + timedelta(days=1)), _lesion("H", T0), _lesion("I", T0),
                                _lesion("J", T0 + timedelta(days=200)), _lesion("K", T0)],
    }
    with db.evidence_writer(root, fresh=True) as con:
        for table, rs in rows.items():
            insert_rows(con, table, rs)
    con = db.connect_readonly(root)
    yield con
    con.close()


def test_hand_made_discrepancies(hand_store):
    d = detect_discrepancies(hand_store)
    found = set(zip(d["patient_id"].to_list(), d["kind"].to_list(), strict=True))
    assert found == {
        ("A", DiscrepancyKind.NOTE_BIOMARKER_VS_VARIANT), ("D", DiscrepancyKind.NOTE_BIOMARKER_VS_VARIANT),
        ("F", DiscrepancyKind.NOTE_BIOMARKER_VS_VARIANT), ("E", DiscrepancyKind.NOTE_VARIANT_VS_SEQUENCING),
        ("G", DiscrepancyKind.REPORT_VS_IMAGE), ("I", DiscrepancyKind.REPORT_VS_IMAGE),
    }


def test_discrepancy_rows_carry_both_locators_and_no_note_text(hand_store):
    d = detect_discrepancies(hand_store).filter(pl.col("patient_id") == "A")
    row = d.row(0, named=True)
    a, b = json.loads(row["evidence_a"]), json.loads(row["evidence_b"])
    assert (a["table"], a["locator"]) == ("note_events", "1:6")
    assert (b["table"], b["locator"]) == ("variants", "line 1")
    assert a["source_sha256"] and b["source_sha256"]
    assert "EGFR" in row["description"] and "p.L858R" in row["description"]


def test_ids_are_stable_across_runs(hand_store):
    a = detect_discrepancies(hand_store)["discrepancy_id"].to_list()
    b = detect_discrepancies(hand_store, now=datetime(2030, 1, 1))["discrepancy_id"].to_list()
    assert a == b and len(set(a)) == len(a)


def test_patient_filter(hand_store):
    d = detect_discrepancies(hand_store, ["A", "G"])
    assert set(d["patient_id"].to_list()) == {"A", "G"}


@pytest.mark.parametrize("name,gene", [("EGFR", "EGFR"), ("HER2", "ERBB2"), ("her2/neu", "ERBB2"),
                                       ("KRAS G12C", "KRAS"), ("PD-L1", None), ("mass", None)])
def test_gene_of(name, gene):
    assert gene_of(name) == gene


def test_precision_recall_on_planted_discrepancies(syn, syn_con):
    _, truth = syn
    d = detect_discrepancies(syn_con)
    found = set(zip(d["patient_id"].to_list(), d["kind"].to_list(), strict=True))
    planted = {(x["patient_id"], x["kind"]) for x in truth.discrepancies}
    assert planted, "the synthetic store plants discrepancies"
    tp = len(found & planted)
    # precision 1.0 also means none of the look-alike decoys (consistent negatives, family mentions,
    # reports of a real mass) was flagged
    assert truth.decoys
    assert tp / len(found) == 1.0 and tp / len(planted) == 1.0


def test_text_only_report_points_at_the_note_and_its_span(hand_store):
    from core.store.queries import evidence_row

    row = detect_discrepancies(hand_store, ["I"]).row(0, named=True)
    a = json.loads(row["evidence_a"])
    assert a["table"] == "notes" and evidence_row(hand_store, "notes", a["locator"], a["source_sha256"]) is not None
    start, end = map(int, a["span"].split(":"))
    text = evidence_row(hand_store, "notes", a["locator"], a["source_sha256"])["text"]
    assert text[start:end].lower() == "no measurable disease"
    assert not re.search(r"\d{4}-\d{2}-\d{2}", row["description"] + row["evidence_a"] + row["evidence_b"])  # no dates
