"""A synthetic patient's EHR export as one FHIR R4 (mCODE) Bundle, built with ``core.fhir.writer``.

Holds demographics, the cancer condition with stage, metastases, tumour markers
(ER / PR / HER2, PD-L1 TPS), ECOG at the consult, one MedicationStatement per drug
of each treatment line, procedures, CancerDiseaseStatus at each restaging, and death.
No Specimen resources: sequencing samples are linked by the specimen manifest only.
"""
from __future__ import annotations

import json
from typing import Any

from core.fhir import writer as W
from core.synth.cohort import LatentPatient
from core.synth.course import Course

RXNORM = {
    "osimertinib": "1721560", "alectinib": "1727455", "lorlatinib": "2103164", "crizotinib": "1148495",
    "selpercatinib": "2314989", "capmatinib": "2367476", "dabrafenib": "1424911", "trametinib": "1425099",
    "pembrolizumab": "1547545", "carboplatin": "40048", "pemetrexed": "68446", "paclitaxel": "56946",
    "docetaxel": "72962", "etoposide": "4179", "atezolizumab": "1792776", "lurbinectedin": "2374731",
    "sotorasib": "2550714", "palbociclib": "1601374", "letrozole": "72965", "anastrozole": "84857",
    "tamoxifen": "10324", "fulvestrant": "282357", "elacestrant": "2645531", "trastuzumab": "224905",
    "pertuzumab": "1298944", "trastuzumab deruxtecan": "2267582", "sacituzumab govitecan": "2360231",
    "fluorouracil": "4492", "oxaliplatin": "32592", "irinotecan": "51499", "leucovorin": "6313",
    "bevacizumab": "253337", "panitumumab": "263034", "cetuximab": "318341", "encorafenib": "2049106",
    "durvalumab": "1919503", "capecitabine": "194000", "cisplatin": "2555", "vinorelbine": "39541",
    "cyclophosphamide": "3002", "doxorubicin": "3639",
}
REGIMEN_DRUGS = {"FOLFOX": ("oxaliplatin", "leucovorin", "fluorouracil"),
                 "FOLFIRI": ("irinotecan", "leucovorin", "fluorouracil"),
                 "FOLFOXIRI": ("oxaliplatin", "irinotecan", "leucovorin", "fluorouracil"),
                 "CAPOX": ("capecitabine", "oxaliplatin")}
METASTASIS_SNOMED = {"bone": ("94222008", "Secondary malignant neoplasm of bone (disorder)"),
                     "liver": ("94381002", "Secondary malignant neoplasm of liver (disorder)"),
                     "brain": ("94225005", "Secondary malignant neoplasm of brain (disorder)"),
                     "lung": ("94391008", "Secondary malignant neoplasm of lung (disorder)"),
                     "contralateral lung": ("94391008", "Secondary malignant neoplasm of lung (disorder)")}
STATUS = {"PR": "response", "SD": "stable", "PD": "progression", "NED": "response"}


def drugs_of(regimen: str) -> list[str]:
    """Generic drug names of a regimen text ('FOLFOX + bevacizumab' -> oxaliplatin, leucovorin, ...)."""
    out: list[str] = []
    for part in regimen.split(" + "):
        part = part.strip()
        if part:
            out.extend(REGIMEN_DRUGS.get(part, (part,)))
    return out


def patient_bundle(p: LatentPatient, c: Course) -> dict[str, Any]:
    """The FHIR Bundle (dict) of ``p``."""
    pt = W.patient(p.mrn, sex=p.sex, birth_date=p.birth_date, given=p.given_name, family=p.family_name,
                   deceased=c.death)
    r = W.ref(pt)
    cond = W.cancer_condition(r, oncotree=p.oncotree, onset=c.diagnosis, stage=p.stage_detail)
    res: list[dict[str, Any]] = [pt, cond,
                                 W.stage_group(r, stage=p.stage_detail, effective=c.diagnosis, condition_ref=W.ref(cond))]
    for site in p.metastatic_sites:
        if site in METASTASIS_SNOMED:
            res.append(W.cancer_condition(r, onset=c.diagnosis, code=METASTASIS_SNOMED[site], primary=False,
                                          resource_id=W.new_id("met", p.mrn, site)))
    if p.cancer_type == "breast":
        res.append(W.tumor_marker(r, "ER", effective=c.biopsy, status="positive" if p.er_pct else "negative",
                                  value_percent=float(p.er_pct or 0)))
        res.append(W.tumor_marker(r, "PR", effective=c.biopsy, status="positive" if p.pr_pct else "negative",
                                  value_percent=float(p.pr_pct or 0)))
        res.append(W.tumor_marker(r, "HER2", effective=c.biopsy,
                                  status="positive" if p.her2_amplified else "negative"))
    if p.pdl1_tested and p.pdl1_tps is not None:
        res.append(W.tumor_marker(r, "PD-L1 TPS", effective=c.biopsy, value_percent=float(p.pdl1_tps),
                                  status="positive" if p.pdl1_tps >= 1 else "negative"))
    if p.genomics_format == "maf" and p.panel == "comprehensive_300" and c.sequencing_report is not None:
        # the send-out lab's MAF has no header for these: the EHR result carries them
        res.append(W.tmb(r, value=p.tmb, effective=c.sequencing_report))
        res.append(W.msi(r, status="MSI-H" if p.msi_high else "MSS", effective=c.sequencing_report))
    consult = next((v for v in c.visits if v.kind == "consult"), None)
    if consult is not None:
        res.append(W.ecog(r, score=consult.ecog, effective=consult.when))
    res.append(W.procedure(r, name="Biopsy of " + p.primary_site, performed=c.biopsy, intent="curative"
                           if p.stage != "IV" else None))
    for ln in c.lines:
        intent = ln.intent
        if ln.kind == "medication":
            for drug in drugs_of(ln.name):
                res.append(W.medication_statement(r, drug=drug, start=ln.start, end=ln.end, rxnorm=RXNORM.get(drug),
                                                  intent=intent, resource_id=W.new_id("med", p.mrn, drug, ln.start)))
        else:
            res.append(W.procedure(r, name=ln.name, performed=ln.start, end=ln.end, radiation=ln.kind == "radiation",
                                   intent=intent, resource_id=W.new_id("proc", p.mrn, ln.name, ln.start)))
    for s in c.studies:
        if s.response in STATUS:
            res.append(W.disease_status(r, status=STATUS[s.response], effective=s.when, condition_ref=W.ref(cond)))
    return W.bundle(res, bundle_id=W.new_id("bundle", p.mrn))


def render_bundle(p: LatentPatient, c: Course) -> str:
    return json.dumps(patient_bundle(p, c), indent=1, sort_keys=False) + "\n"
