"""A small hand-made evidence store with known signal, for fast model tests.

Rows are inserted directly (no files, no ingest) with the provenance contract filled.
Each modality carries part of the outcome signal: imaging (lesion size, margin, an
embedding direction), notes (ECOG, weight loss), genomics (TP53 / STK11 / EGFR) and
clinical (stage, age, albumin / LDH). Deliberate discrepancies come with a truth list.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from core.ingest.base import insert_rows, stable_id
from core.store import db

EMB_DIM = 16
REF = datetime(2026, 11, 25)


@dataclass
class SyntheticTruth:
    n: int
    current: list[str]
    discrepancies: list[dict] = field(default_factory=list)   # {patient_id, kind}
    decoys: list[str] = field(default_factory=list)            # patients with look-alike, non-discrepant text


def _prov(pid: str, modality: str, at: datetime | None, locator: str, src: str) -> dict:
    return {"patient_id": pid, "modality": modality, "observed_at": at, "source_uri": f"synthetic://{src}",
            "source_sha256": stable_id("sha", src) + "0" * 40, "locator": locator, "extractor": "tests.synthetic",
            "extractor_version": "1", "ingested_at": REF, "ingest_run_id": "synthetic"}


def build_store(root: Path, n: int = 320, seed: int = 0, n_current: int = 10,
                signal: float = 1.0) -> SyntheticTruth:
    """Write a fresh store version under ``root``; returns what was planted."""
    rng = np.random.default_rng(seed)
    emb_dir = rng.normal(size=EMB_DIM)
    emb_dir /= np.linalg.norm(emb_dir)
    rows: dict[str, list[dict]] = {t: [] for t in (
        "patients", "imaging_studies", "imaging_series", "lesion_measurements", "image_embeddings", "notes",
        "note_events", "specimens", "tested_genes", "variants", "biomarkers", "labs", "outcomes", "board_meetings",
        "board_cases", "treatments")}
    truth = SyntheticTruth(n=n, current=[])
    rows["board_meetings"].append({"meeting_id": "M-NOW", "scheduled_at": REF, "site": "A", "title": "Thoracic"})
    for i in range(n):
        pid = f"P{i:04d}"
        current = i < n_current
        ct = ["lung", "breast", "colorectal"][int(rng.choice(3, p=[0.45, 0.3, 0.25]))]
        stage = int(rng.choice([1, 2, 3, 4], p=[0.2, 0.2, 0.25, 0.35]))
        age = float(np.clip(rng.normal(66, 10), 30, 90))
        aggr, fit = rng.normal(), rng.normal()
        board = REF if current else REF - timedelta(days=int(rng.integers(400, 2000)))
        dx = board - timedelta(days=int(rng.integers(10, 40)))
        rows["patients"].append({"patient_id": pid, "cancer_type": ct, "oncotree_code": {"lung": "LUAD", "breast": "IDC",
                                 "colorectal": "COAD"}[ct], "sex": "female" if (ct == "breast" or rng.random() < 0.5) else "male",
                                 "age_at_diagnosis_years": age, "diagnosis_date": dx.date(), "stage": ["I", "II", "III", "IV"][stage - 1],
                                 "cohort": "current" if current else "historical", "created_at": REF})
        if current:
            truth.current.append(pid)
            rows["board_cases"].append({"meeting_id": "M-NOW", "patient_id": pid, "position": i + 1, "added_at": REF})
        lp = -0.4 + 0.55 * (stage - 2.5) + 0.02 * (age - 66)
        t0 = board - timedelta(days=5)
        # imaging (80 %)
        has_img = i == 0 or rng.random() < 0.8
        if has_img:
            size = float(np.clip(rng.lognormal(math.log(30) + 0.25 * aggr, 0.25), 6, 120))
            margin = "spiculated" if aggr + rng.normal(0, 0.7) > 0.5 else "lobulated" if aggr > -0.6 else "smooth"
            het = float(np.clip(0.5 + 0.2 * aggr + rng.normal(0, 0.1), 0, 1))
            lp += signal * (0.9 * math.log(size / 30) + {"smooth": -0.3, "lobulated": 0.0, "spiculated": 0.4}[margin]
                            + 1.5 * (het - 0.5))
            study = f"1.2.{i}.1"
            rows["imaging_studies"].append({"study_uid": study, "study_description": "CT", "dicom_modality": "CT",
                                            **_prov(pid, "imaging", t0, study, f"img{i}")})
            for s in range(2):
                series = f"{study}.{s}"
                rows["imaging_series"].append({"series_uid": series, "study_uid": study, "dicom_modality": "CT",
                                               **_prov(pid, "imaging", t0, series, f"img{i}")})
                vec = rng.normal(0, 1, EMB_DIM) + 4.0 * (het - 0.5) * emb_dir
                rows["image_embeddings"].append({"embedding_id": f"E{i}-{s}", "series_uid": series, "model_id": "image-encoder",
                                                 "model_version": "test-1", "vector": vec.astype(np.float32).tolist(),
                                                 **_prov(pid, "imaging", t0, series, f"img{i}")})
            rows["lesion_measurements"].append({"measurement_id": f"L{i}", "lesion_id": "1", "study_uid": study,
                                                "long_axis_mm": size, "short_axis_mm": size * 0.7, "margin": margin,
                                                "method": "annotation", **_prov(pid, "imaging", t0, f"L{i}", f"ann{i}")})
            # follow-up study after the index date must not leak into features
            if not current:
                later = board + timedelta(days=90)
                rows["lesion_measurements"].append({"measurement_id": f"L{i}b", "lesion_id": "1", "study_uid": study + ".9",
                                                    "long_axis_mm": size * 3, "short_axis_mm": size, "margin": "spiculated",
                                                    "method": "annotation", **_prov(pid, "imaging", later, f"L{i}b", f"ann{i}b")})
        # notes (95 %)
        has_notes = i == 0 or rng.random() < 0.95
        if has_notes:
            ecog = int(np.clip(np.round(0.8 - 0.8 * fit + 0.3 * aggr + rng.normal(0, 0.4)), 0, 4))
            wl = bool(aggr + rng.normal(0, 0.8) > 0.8)
            lp += signal * ({0: -0.4, 1: 0.0, 2: 0.6, 3: 1.0, 4: 1.2}[ecog] + (0.5 if wl else 0.0))
            nid = f"N{i}"
            rows["notes"].append({"note_id": nid, "note_type": "Oncology Progress Note", "title": "consult",
                                  "text": "synthetic", **_prov(pid, "notes", t0, nid, f"note{i}")})
            ev = [("ecog", "ecog", str(ecog), float(ecog), False, False),
                  ("symptom", "weight loss", None, None, not wl, False),
                  ("symptom", "cough", None, None, bool(rng.random() < 0.5), False),
                  ("smoking", "former smoker", "30 pack-years", None, False, False),
                  ("symptom", "dyspnea", None, None, False, True)]  # family: must be ignored
            for k, (ctype, concept, vt, vn, neg, fam) in enumerate(ev):
                rows["note_events"].append({"event_id": f"NE{i}-{k}", "note_id": nid, "concept_type": ctype, "concept": concept,
                                            "value_text": vt, "value_num": vn, "span_start": 10 * k, "span_end": 10 * k + 5,
                                            "is_negated": neg, "is_family": fam, "is_uncertain": False, "is_historical": False,
                                            "is_hypothetical": False, **_prov(pid, "notes", t0, f"{10 * k}:{10 * k + 5}", f"note{i}")})
        # genomics (60 %)
        has_seq = i == 0 or rng.random() < 0.6
        egfr = tp53 = stk11 = False
        if has_seq:
            spec = f"S{i}"
            rows["specimens"].append({"specimen_id": spec, "sample_id": f"T{i}", "specimen_type": "tumor",
                                      "panel_name": "p", **_prov(pid, "genomics", t0, spec, f"man{i}")})
            for g in ("EGFR", "KRAS", "TP53", "STK11", "KEAP1", "PIK3CA"):
                rows["tested_genes"].append({"specimen_id": spec, "gene": g, "panel_name": "p",
                                             **_prov(pid, "genomics", t0, f"{spec}:{g}", f"man{i}")})
            egfr = i == 0 or (ct == "lung" and rng.random() < 0.25)
            tp53 = rng.random() < 0.45
            stk11 = ct == "lung" and not egfr and rng.random() < 0.2
            lp += signal * (-0.9 * egfr + 0.5 * tp53 + 0.8 * stk11)
            for g, hit in (("EGFR", egfr), ("TP53", tp53), ("STK11", stk11)):
                if hit:
                    rows["variants"].append({"variant_id": f"V{i}{g}", "specimen_id": spec, "sample_id": f"T{i}",
                                             "genome_build": "GRCh38", "hugo_symbol": g, "protein_change": "p.L858R" if g == "EGFR" else "p.X",
                                             "variant_classification": "Missense_Mutation", "filter": "PASS",
                                             "actionability_level": "1" if g == "EGFR" else None,
                                             **_prov(pid, "genomics", t0, f"line {i}{g}", f"vcf{i}")})
            rows["biomarkers"].append({"biomarker_id": f"B{i}tmb", "name": "TMB", "value_num": float(rng.lognormal(1.5, 0.5)),
                                       "unit": "mut/Mb", **_prov(pid, "genomics", t0, "TMB", f"vcf{i}")})
        # labs (90 %): clinical modality
        if rng.random() < 0.9:
            alb = float(rng.normal(3.9 + 0.25 * fit, 0.3))
            ldh = float(rng.lognormal(math.log(200) + 0.15 * aggr, 0.2))
            lp += signal * (-0.7 * (alb - 3.9) + 0.6 * math.log(ldh / 200))
            for k, (loinc, name, val) in enumerate((("1751-7", "Albumin", alb), ("2532-0", "LDH", ldh))):
                rows["labs"].append({"lab_id": f"LB{i}-{k}", "loinc": loinc, "name": name, "value_num": val,
                                     **_prov(pid, "labs", t0, f"lab{k}", f"lab{i}")})
        # outcome
        if not current:
            p12 = 1 / (1 + math.exp(-lp))
            followup = float(rng.uniform(200, 1500))
            if rng.random() < p12:
                t_event = float(rng.uniform(20, 360))
            else:
                t_event = float(rng.uniform(370, 2500))
            if t_event <= followup:
                rows["outcomes"].append({"outcome_id": f"O{i}", "event": "progression",
                                         **_prov(pid, "clinical", board + timedelta(days=t_event), f"O{i}", f"out{i}")})
            rows["outcomes"].append({"outcome_id": f"O{i}f", "event": "last_followup",
                                     **_prov(pid, "clinical", board + timedelta(days=min(followup, t_event)), f"O{i}f", f"out{i}")})
            rows["board_cases"].append({"meeting_id": f"M{i}", "patient_id": pid, "position": 1, "added_at": board})
            rows["board_meetings"].append({"meeting_id": f"M{i}", "scheduled_at": board, "site": "A", "title": "past"})
        _plant_discrepancies(i, pid, t0, ct, has_img, has_notes, egfr, has_seq, rows, truth, rng)
    with db.evidence_writer(root, fresh=True) as con:
        for table, rs in rows.items():
            if rs:
                insert_rows(con, table, rs)
    return truth


def _plant_discrepancies(i: int, pid: str, t0: datetime, ct: str, has_img: bool, has_notes: bool, egfr: bool,
                         has_seq: bool, rows: dict[str, list[dict]], truth: SyntheticTruth,
                         rng: np.random.Generator) -> None:
    def note(note_type: str, text: str) -> None:
        nid = f"NP{i}{note_type[0]}"
        rows["notes"].append({"note_id": nid, "note_type": note_type, "title": note_type, "text": text,
                              **_prov(pid, "notes", t0, nid, nid)})

    def event(k: int, ctype: str, concept: str, value: str | None, neg: bool = False, fam: bool = False,
              hyp: bool = False) -> None:
        nid = f"NP{i}{'R' if ctype == 'finding' else 'P'}"
        rows["note_events"].append({"event_id": f"NP{i}-{k}", "note_id": nid, "concept_type": ctype, "concept": concept,
                                    "value_text": value, "span_start": 5 * k, "span_end": 5 * k + 4, "is_negated": neg,
                                    "is_family": fam, "is_hypothetical": hyp, "is_uncertain": False,
                                    "is_historical": False, **_prov(pid, "notes", t0, f"{5 * k}:{5 * k + 4}", f"{nid}")})

    if egfr and (i == 0 or rng.random() < 0.3):
        note("Pathology Report", "EGFR negative (IHC).")
        event(0, "biomarker", "EGFR", "negative")
        truth.discrepancies.append({"patient_id": pid, "kind": "note_biomarker_vs_variant"})
    elif has_seq and not egfr and ct == "lung" and rng.random() < 0.3:
        # decoys: consistent negative, a family-history mention, a hypothetical test
        note("Pathology Report", "EGFR negative. Mother: EGFR mutation? Will test for ALK.")
        event(0, "biomarker", "EGFR", "negative")
        event(1, "biomarker", "EGFR", "mutation", fam=True)
        truth.decoys.append(pid)
    if has_img and i % 17 == 3:
        note("Radiology Report", "IMPRESSION: No mass. No measurable disease.")
        event(2, "finding", "mass", None, neg=True)
        truth.discrepancies.append({"patient_id": pid, "kind": "report_vs_image"})
    elif has_img and i % 23 == 5:
        note("Radiology Report", "IMPRESSION: Spiculated mass in the right upper lobe, 3 cm.")
        event(2, "finding", "mass", None)
        truth.decoys.append(pid)
