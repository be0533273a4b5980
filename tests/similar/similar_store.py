"""A small hand-made store with designed subgroups, for fast similar-case tests.

Rows are inserted directly (no files, no ingest) with the provenance contract filled.
Each historical patient belongs to a designed subgroup (cancer type + driver / receptor
status + first-line therapy) that shows in every modality it has: clinical record,
sequencing, biomarkers, lesion size / margin, an image-embedding direction, ECOG and
smoking in notes. PHI columns carry distinctive values so tests can look for leaks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from core.ingest.base import insert_rows
from core.store import db

EMB_DIM = 16
REF = datetime(2026, 3, 2, 7, 30)


@dataclass(frozen=True)
class Design:
    label: str
    cancer_type: str
    oncotree: str
    driver: tuple[str, str] | None        # (gene, protein change)
    biomarkers: tuple[tuple[str, str, float | None], ...]  # (name, status, value)
    therapy: tuple[str, ...]
    pfs_months: float
    size_mm: float
    margin: str
    smoker: bool


DESIGNS: tuple[Design, ...] = (
    Design("lung_egfr", "lung", "LUAD", ("EGFR", "p.L858R"), (("PD-L1", "low", 5.0),), ("osimertinib",), 18, 25,
           "lobulated", False),
    Design("lung_kras", "lung", "LUAD", ("KRAS", "p.G12C"), (("PD-L1", "intermediate", 20.0),),
           ("carboplatin", "pemetrexed", "pembrolizumab"), 6, 45, "spiculated", True),
    Design("lung_pdl1", "lung", "LUSC", None, (("PD-L1", "high", 80.0),), ("pembrolizumab",), 9, 55, "spiculated", True),
    Design("breast_hr", "breast", "IDC", ("PIK3CA", "p.H1047R"), (("ER", "positive", None), ("HER2", "negative", None)),
           ("palbociclib", "letrozole"), 25, 18, "smooth", False),
    Design("breast_her2", "breast", "IDC", ("ERBB2", "amplification"), (("ER", "negative", None), ("HER2", "positive", None)),
           ("trastuzumab", "pertuzumab", "docetaxel"), 18, 30, "lobulated", False),
    Design("crc_braf", "colorectal", "COAD", ("BRAF", "p.V600E"), (("MSI", "MSS", None),),
           ("fluorouracil", "oxaliplatin", "irinotecan", "bevacizumab"), 5, 60, "spiculated", False),
    Design("crc_msi", "colorectal", "COAD", None, (("MSI", "MSI-H", None),), ("pembrolizumab",), 16, 40, "smooth", False),
)
PANEL = ("EGFR", "KRAS", "PIK3CA", "ERBB2", "BRAF", "TP53", "ALK", "NRAS")


@dataclass
class HandTruth:
    subgroup: dict[str, str] = field(default_factory=dict)     # patient_id -> design label
    current: list[str] = field(default_factory=list)
    unsequenced: list[str] = field(default_factory=list)
    no_imaging: list[str] = field(default_factory=list)
    phi_values: list[str] = field(default_factory=list)      # names, MRNs, birth dates as strings


def _prov(pid: str, modality: str, at: datetime | None, locator: str, src: str) -> dict:
    return {"patient_id": pid, "modality": modality, "observed_at": at, "source_uri": f"hand://{src}",
            "source_sha256": (src.encode().hex() + "0" * 64)[:64], "locator": locator, "extractor": "tests.similar",
            "extractor_version": "1", "ingested_at": REF, "ingest_run_id": "hand"}


def build_hand_store(root: Path, n: int = 120, seed: int = 0, n_current: int = 10, *,
                     encoder_version: str = "enc-1") -> HandTruth:
    """Write a fresh store version under ``root``; returns the design of every patient."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(len(DESIGNS), EMB_DIM))
    rows: dict[str, list[dict]] = {t: [] for t in (
        "patients", "imaging_studies", "imaging_series", "lesion_measurements", "image_embeddings", "notes",
        "note_events", "specimens", "tested_genes", "variants", "biomarkers", "outcomes", "board_meetings",
        "board_cases", "treatments")}
    truth = HandTruth()
    rows["board_meetings"].append({"meeting_id": "NOW", "scheduled_at": REF, "site": "A", "title": "upcoming"})
    for i in range(n):
        pid = f"H{i:04d}"
        d = DESIGNS[i % len(DESIGNS)]
        current = i < n_current
        truth.subgroup[pid] = d.label
        board = REF if current else REF - timedelta(days=int(rng.integers(500, 2500)))
        dx = board - timedelta(days=int(rng.integers(10, 30)))
        stage = ["III", "IV"][int(rng.random() < 0.7)]
        age = float(np.clip(rng.normal(64, 9), 35, 88))
        given, family, mrn = f"Zelda{i}", f"Quixote{i}", f"MRN{900000 + i}"
        birth = (dx - timedelta(days=int(age * 365.25))).date()
        truth.phi_values += [given, family, mrn, birth.isoformat()]
        rows["patients"].append({
            "patient_id": pid, "cancer_type": d.cancer_type, "oncotree_code": d.oncotree,
            "sex": "female" if d.cancer_type == "breast" or rng.random() < 0.5 else "male", "birth_date": birth,
            "given_name": given, "family_name": family, "mrn": mrn, "age_at_diagnosis_years": age,
            "diagnosis_date": dx.date(), "stage": stage, "histology": d.oncotree, "site": "A",
            "cohort": "current" if current else "historical", "created_at": REF})
        meeting = "NOW" if current else f"M{i}"
        if not current:
            rows["board_meetings"].append({"meeting_id": meeting, "scheduled_at": board, "site": "A", "title": "past"})
        else:
            truth.current.append(pid)
        rows["board_cases"].append({"meeting_id": meeting, "patient_id": pid, "position": 1, "added_at": board})
        t0 = board - timedelta(days=3)
        # imaging (85 %)
        if i % 7 != 3:
            size = float(d.size_mm * math.exp(rng.normal(0, 0.2)))
            study = f"1.2.826.{i}"
            rows["imaging_studies"].append({"study_uid": study, "study_description": "CT chest", "dicom_modality": "CT",
                                            "accession_number": f"ACC{i}", **_prov(pid, "imaging", t0, study, f"ct{i}")})
            series = study + ".1"
            rows["imaging_series"].append({"series_uid": series, "study_uid": study, "dicom_modality": "CT",
                                           **_prov(pid, "imaging", t0, series, f"ct{i}")})
            vec = 2.5 * directions[DESIGNS.index(d)] + rng.normal(0, 1, EMB_DIM)
            rows["image_embeddings"].append({"embedding_id": f"E{i}", "series_uid": series, "model_id": "image-encoder",
                                             "model_version": encoder_version, "vector": vec.astype(np.float32).tolist(),
                                             **_prov(pid, "imaging", t0, series, f"ct{i}")})
            rows["lesion_measurements"].append({"measurement_id": f"L{i}", "lesion_id": "L1", "study_uid": study,
                                                "long_axis_mm": size, "short_axis_mm": 0.7 * size, "margin": d.margin,
                                                "method": "annotation", **_prov(pid, "imaging", t0, f"L{i}", f"ann{i}")})
        else:
            truth.no_imaging.append(pid)
        # notes
        nid = f"N{i}"
        rows["notes"].append({"note_id": nid, "note_type": "Oncology Consult", "title": "consult",
                              "text": f"Patient {given} {family} (MRN {mrn}) seen.", "author": "Dr. Who",
                              **_prov(pid, "notes", t0, nid, f"note{i}")})
        ecog = int(rng.integers(0, 2))
        for k, (ctype, concept, vt, vn) in enumerate((("ecog", "ecog", str(ecog), float(ecog)),
                                                      ("smoking", "former smoker" if d.smoker else "never smoker",
                                                       None, None))):
            rows["note_events"].append({"event_id": f"NE{i}-{k}", "note_id": nid, "concept_type": ctype, "concept": concept,
                                        "value_text": vt, "value_num": vn, "span_start": k, "span_end": k + 1,
                                        "snippet": f"{given} {concept}", "is_negated": False, "is_family": False,
                                        "is_uncertain": False, "is_historical": False, "is_hypothetical": False,
                                        **_prov(pid, "notes", t0, f"{k}:{k + 1}", f"note{i}")})
        # sequencing (80 %)
        if i % 5 != 4:
            spec = f"S{i}"
            rows["specimens"].append({"specimen_id": spec, "sample_id": f"T{i}", "specimen_type": "tumor",
                                      "panel_name": "hand", **_prov(pid, "genomics", t0, spec, f"man{i}")})
            for g in PANEL:
                rows["tested_genes"].append({"specimen_id": spec, "gene": g, "panel_name": "hand",
                                             **_prov(pid, "genomics", t0, f"{spec}:{g}", f"man{i}")})
            if d.driver is not None:
                gene, change = d.driver
                amp = change == "amplification"
                rows["variants"].append({"variant_id": f"V{i}", "specimen_id": spec, "sample_id": f"T{i}",
                                         "genome_build": "GRCh38", "hugo_symbol": gene,
                                         "protein_change": None if amp else change, "cnv_call": "Amplification" if amp else None,
                                         "variant_category": "CNV" if amp else "MUTATION",
                                         "variant_classification": None if amp else "Missense_Mutation", "filter": "PASS",
                                         "actionability_level": "1", **_prov(pid, "genomics", t0, f"line {i}", f"vcf{i}")})
        else:
            truth.unsequenced.append(pid)
        for k, (name, status, value) in enumerate(d.biomarkers):
            modality = "genomics" if name == "MSI" and i % 5 != 4 else "clinical"
            if name == "MSI" and modality == "clinical":
                continue
            rows["biomarkers"].append({"biomarker_id": f"B{i}-{k}", "name": name, "status": status, "value_num": value,
                                       "unit": "%" if value is not None else None,
                                       **_prov(pid, modality, t0, f"B{k}", f"bio{i}")})
        if current:
            continue
        # treatment and outcome
        start = (board + timedelta(days=10)).date()
        rows["treatments"].append({"treatment_id": f"TB{i}", "kind": "procedure", "name": "Biopsy of lesion",
                                   "start_date": (dx - timedelta(days=5)).date(), **_prov(pid, "clinical", dx, f"TB{i}", f"fhir{i}")})
        for k, drug in enumerate(d.therapy):
            rows["treatments"].append({"treatment_id": f"T{i}-{k}", "kind": "drug", "name": drug, "start_date": start,
                                       "intent": "palliative", **_prov(pid, "clinical", board, f"T{i}-{k}", f"fhir{i}")})
        pfs_days = float(d.pfs_months * 30.44 * rng.exponential(1.0))
        follow = float(rng.uniform(200, 1500))
        rows["outcomes"].append({"outcome_id": f"R{i}", "event": "response" if d.pfs_months > 10 else "stable",
                                 **_prov(pid, "clinical", board + timedelta(days=60), f"R{i}", f"fhir{i}")})
        if pfs_days < follow:
            rows["outcomes"].append({"outcome_id": f"P{i}", "event": "progression",
                                     **_prov(pid, "clinical", board + timedelta(days=max(pfs_days, 61)), f"P{i}", f"fhir{i}")})
        last = board + timedelta(days=follow)
        if rng.random() < 0.3 and pfs_days < follow:
            rows["outcomes"].append({"outcome_id": f"D{i}", "event": "death",
                                     **_prov(pid, "clinical", last, f"D{i}", f"fhir{i}")})
        else:
            rows["notes"].append({"note_id": f"F{i}", "note_type": "Follow-up", "title": "follow-up", "text": "well",
                                  **_prov(pid, "notes", last, f"F{i}", f"fu{i}")})
    with db.evidence_writer(root, fresh=True) as con:
        for table, rs in rows.items():
            if rs:
                insert_rows(con, table, rs)
    return truth
