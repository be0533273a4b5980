"""Build valid FHIR R4 resources (mCODE-profiled where mCODE has a profile) as plain dicts.

For the synthetic-cohort generator: every builder returns a JSON-ready dict that
passes fhir.resources R4B validation and that ``core.ingest.fhir`` reads back to
the same facts. Ids are deterministic (uuid5 of ``key`` parts) so a seeded cohort
is byte-for-byte reproducible; references use ``urn:uuid:<id>`` like the
``fullUrl`` that ``bundle`` gives each entry.

Typical use::

    p = patient("48213377", sex="female", birth_date=date(1961, 4, 12), given="Jane", family="Doe")
    c = cancer_condition(ref(p), oncotree="IDC", onset=date(2024, 3, 4), stage="IIA")
    b = bundle([p, c, tumor_marker(ref(p), "ER", effective=date(2024, 3, 4), status="positive")])
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from core.fhir import codes as K
from core.ingest.base import MRN_SYSTEM

HGVS = "http://varnomen.hgvs.org"
_NS = uuid.UUID("6f1c2a9e-3b1d-4e55-9a57-2f4c1d7e8b10")

# OncoTree code -> (SNOMED CT code, display) used for the generated diagnoses.
DIAGNOSES: dict[str, tuple[str, str]] = {
    "LUAD": ("254626006", "Adenocarcinoma of lung (disorder)"),
    "LUSC": ("254634000", "Squamous cell carcinoma of lung (disorder)"),
    "NSCLC": ("254637007", "Non-small cell lung cancer (disorder)"),
    "SCLC": ("254632001", "Small cell carcinoma of lung (disorder)"),
    "BRCA": ("254837009", "Malignant neoplasm of breast (disorder)"),
    "IDC": ("408643008", "Infiltrating duct carcinoma of breast (disorder)"),
    "ILC": ("278054005", "Infiltrating lobular carcinoma of breast (disorder)"),
    "COAD": ("363406005", "Malignant tumor of colon (disorder)"),
    "READ": ("363351006", "Malignant tumor of rectum (disorder)"),
}
# Tumour marker name -> (LOINC, display) written by ``tumor_marker``.
MARKER_CODES: dict[str, tuple[str, str]] = {
    "ER": ("85337-4", "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain"),
    "PR": ("85339-0", "Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune stain"),
    "HER2": ("85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain"),
    "PD-L1 TPS": ("85147-7", "PD-L1 by clone 22C3 in Tissue by Immune stain"),
    "Ki-67": ("85330-9", "Cells.Ki-67 nuclear Ag/cells in Breast cancer specimen by Immune stain"),
}
_STATUS_SNOMED = {"positive": ("10828004", "Positive (qualifier value)"),
                  "negative": ("260385009", "Negative (qualifier value)"),
                  "equivocal": ("42425007", "Equivocal (qualifier value)")}
_DISEASE_STATUS_SNOMED = {"response": ("268910001", "Patient's condition improved (finding)"),
                          "stable": ("359746009", "Patient's condition stable (finding)"),
                          "progression": ("271299001", "Patient's condition worsened (finding)"),
                          "undetermined": ("709137006", "Patient condition undetermined (finding)")}
_INTENT_SNOMED = {"curative": ("373808002", "Curative - procedure intent"),
                  "palliative": ("363676003", "Palliative - procedure intent")}
_HGNC_IDS = {sym: hgnc for hgnc, sym in K.HGNC_SYMBOLS.items()}
_AA1 = {v: k for k, v in K.AA3.items()}


def new_id(*key: object) -> str:
    """Deterministic resource id (a uuid5 string, valid against the FHIR id pattern)."""
    return str(uuid.uuid5(_NS, "\x1f".join(str(k) for k in key)))


def ref(resource: dict[str, Any]) -> str:
    """The reference other resources use for ``resource`` inside a ``bundle``."""
    return f"urn:uuid:{resource['id']}"


def _d(value: date | datetime) -> str:
    return value.isoformat() if isinstance(value, datetime) else value.strftime("%Y-%m-%d")


def _cc(system: str | None, code: str | None, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    coding = {k: v for k, v in (("system", system), ("code", code), ("display", display)) if v}
    out: dict[str, Any] = {"coding": [coding]} if coding else {}
    if text:
        out["text"] = text
    return out


def _meta(profile: str | None) -> dict[str, Any]:
    return {"meta": {"profile": [profile]}} if profile else {}


def _observation(patient_ref: str, rid: str, code: dict, effective: date | datetime, *, profile: str | None,
                 category: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, **_meta(profile), "status": "final",
            "category": [_cc(K.OBS_CATEGORY, category)], "code": code, "subject": {"reference": patient_ref},
            "effectiveDateTime": _d(effective), **extra}


def patient(mrn: str, *, sex: str, birth_date: date, given: str | None = None, family: str | None = None,
            deceased: date | datetime | None = None, resource_id: str | None = None) -> dict[str, Any]:
    """mCODE CancerPatient with the hospital MRN (``MRN_SYSTEM``); ``deceased`` adds deceasedDateTime.

    ``sex`` is FHIR administrative gender: female / male / other / unknown.
    """
    res: dict[str, Any] = {
        "resourceType": "Patient", "id": resource_id or new_id("Patient", mrn), **_meta(K.MCODE_PATIENT),
        "identifier": [{"type": _cc("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number"),
                        "system": MRN_SYSTEM, "value": mrn}],
        "gender": sex, "birthDate": _d(birth_date),
    }
    if given or family:
        res["name"] = [{k: v for k, v in (("use", "official"), ("family", family),
                                          ("given", [given] if given else None)) if v}]
    if deceased is not None:
        res["deceasedDateTime"] = _d(deceased)
    return res


def cancer_condition(patient_ref: str, *, oncotree: str | None = None, onset: date,
                     code: tuple[str, str] | None = None, histology: tuple[str, str] | None = None,
                     stage: str | None = None, clinical_status: str = "active", primary: bool = True,
                     resource_id: str | None = None) -> dict[str, Any]:
    """mCODE Primary (or Secondary) CancerCondition.

    Args:
        oncotree: one of ``DIAGNOSES`` (LUAD, IDC, COAD, ...); or give ``code`` = (SNOMED code, display).
        histology: (SNOMED morphology code, display) for the mCODE histology-morphology-behavior extension.
        stage: AJCC stage group in Roman numerals (``IIIC``), written as Condition.stage.summary.
    """
    if code is None:
        if oncotree not in DIAGNOSES:
            raise ValueError(f"no SNOMED code for OncoTree {oncotree!r}; pass code=(snomed, display)")
        code = DIAGNOSES[oncotree]
    res: dict[str, Any] = {
        "resourceType": "Condition", "id": resource_id or new_id("Condition", patient_ref, code[0], onset),
        **_meta(K.MCODE_PRIMARY if primary else K.MCODE_SECONDARY),
        "clinicalStatus": _cc(K.CONDITION_CLINICAL, clinical_status),
        "verificationStatus": _cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
        "category": [_cc(K.SNOMED, "64572001", "Disease (disorder)")],
        "code": _cc(K.SNOMED, code[0], code[1]), "subject": {"reference": patient_ref}, "onsetDateTime": _d(onset),
    }
    if histology:
        res["extension"] = [{"url": K.MCODE_HISTOLOGY, "valueCodeableConcept": _cc(K.SNOMED, *histology)}]
    if stage:
        res["stage"] = [{"summary": _cc(K.AJCC, K.stage_code(stage), stage)}]
    return res


def stage_group(patient_ref: str, *, stage: str, effective: date, condition_ref: str | None = None,
                pathological: bool = False, resource_id: str | None = None) -> dict[str, Any]:
    """mCODE TNM stage group Observation (LOINC 21908-9 clinical / 21902-2 pathological)."""
    loinc = "21902-2" if pathological else "21908-9"
    extra: dict[str, Any] = {"valueCodeableConcept": _cc(K.AJCC, K.stage_code(stage), stage)}
    if condition_ref:
        extra["focus"] = [{"reference": condition_ref}]
    return _observation(patient_ref, resource_id or new_id("stage", patient_ref, loinc, effective),
                        _cc(K.LOINC, loinc), effective, profile=K.MCODE_STAGE_GROUP, category="survey", **extra)


def tumor_marker(patient_ref: str, marker: str, *, effective: date, status: str | None = None,
                 value_percent: float | None = None, resource_id: str | None = None) -> dict[str, Any]:
    """mCODE TumorMarkerTest for ER, PR, HER2, PD-L1 TPS or Ki-67.

    ``status`` (positive / negative / equivocal) becomes the coded value; with
    ``value_percent`` the value is a % Quantity and the status an interpretation.
    """
    if marker not in MARKER_CODES:
        raise ValueError(f"unknown marker {marker!r}; expected one of {sorted(MARKER_CODES)}")
    if status is None and value_percent is None:
        raise ValueError("tumor_marker needs a status or a value_percent")
    loinc, display = MARKER_CODES[marker]
    extra: dict[str, Any] = {}
    if value_percent is not None:
        extra["valueQuantity"] = {"value": value_percent, "unit": "%", "system": K.UCUM, "code": "%"}
        if status:
            code = {"positive": "POS", "negative": "NEG", "equivocal": "IND"}[status]
            extra["interpretation"] = [_cc(K.INTERPRETATION, code)]
    else:
        extra["valueCodeableConcept"] = _cc(K.SNOMED, *_STATUS_SNOMED[status])  # type: ignore[index]
    return _observation(patient_ref, resource_id or new_id("marker", patient_ref, marker, effective),
                        _cc(K.LOINC, loinc, display), effective, profile=K.MCODE_TUMOR_MARKER_TEST,
                        category="laboratory", **extra)


def tmb(patient_ref: str, *, value: float, effective: date, resource_id: str | None = None) -> dict[str, Any]:
    """Tumour mutational burden (LOINC 94076-7) in mutations per megabase."""
    return _observation(patient_ref, resource_id or new_id("tmb", patient_ref, effective),
                        _cc(K.LOINC, K.LOINC_TMB, "Mutations/Megabase [# Ratio] in Tumor"), effective,
                        profile=None, category="laboratory", valueQuantity={"value": value, "unit": "mut/Mb"})


def msi(patient_ref: str, *, status: str, effective: date, resource_id: str | None = None) -> dict[str, Any]:
    """Microsatellite instability (LOINC 81695-9); ``status`` is MSI-H, MSI-L or MSS."""
    if status not in ("MSI-H", "MSI-L", "MSS"):
        raise ValueError(f"MSI status must be MSI-H, MSI-L or MSS, not {status!r}")
    return _observation(patient_ref, resource_id or new_id("msi", patient_ref, effective),
                        _cc(K.LOINC, "81695-9", "Microsatellite instability [Interpretation] in Cancer specimen"),
                        effective, profile=None, category="laboratory", valueCodeableConcept={"text": status})


def _protein_long(protein_change: str) -> str:
    """``p.L858R`` -> ``p.Leu858Arg`` (HGVS three-letter form for the report)."""
    body = protein_change[2:] if protein_change.startswith("p.") else protein_change
    return "p." + "".join(_AA1.get(ch, ch) if ch.isupper() or ch == "*" else ch for ch in body)


def genomic_variant(patient_ref: str, *, gene: str, effective: date, protein_change: str | None = None,
                    hgvsc: str | None = None, genome_build: str | None = None, vaf: float | None = None,
                    origin: str = "somatic", specimen_ref: str | None = None,
                    resource_id: str | None = None) -> dict[str, Any]:
    """mCODE CancerGeneticVariant: gene studied, c./p. HGVS, assembly, allele frequency (0-1), origin."""
    gene_cc = _cc("http://www.genenames.org/geneId", _HGNC_IDS.get(gene), gene if gene in _HGNC_IDS else None,
                  text=None if gene in _HGNC_IDS else gene)
    comps: list[dict[str, Any]] = [{"code": _cc(K.LOINC, K.LOINC_GENE_STUDIED), "valueCodeableConcept": gene_cc}]
    if hgvsc:
        comps.append({"code": _cc(K.LOINC, K.LOINC_HGVS_C), "valueCodeableConcept": _cc(HGVS, hgvsc)})
    if protein_change:
        comps.append({"code": _cc(K.LOINC, K.LOINC_HGVS_P),
                      "valueCodeableConcept": _cc(HGVS, _protein_long(protein_change))})
    if genome_build:
        answer = {v: k for k, v in K.ASSEMBLY_ANSWERS.items()}[genome_build]
        comps.append({"code": _cc(K.LOINC, K.LOINC_ASSEMBLY),
                      "valueCodeableConcept": _cc(K.LOINC, answer, genome_build)})
    if vaf is not None:
        comps.append({"code": _cc(K.LOINC, K.LOINC_ALLELE_FREQ), "valueQuantity": {"value": vaf, "unit": "1"}})
    source = {v: k for k, v in K.GENOMIC_SOURCE_ANSWERS.items()}[origin]
    comps.append({"code": _cc(K.LOINC, K.LOINC_GENOMIC_SOURCE), "valueCodeableConcept": _cc(K.LOINC, source, origin)})
    extra: dict[str, Any] = {"valueCodeableConcept": _cc(K.LOINC, "LA9633-4", "Present"), "component": comps}
    if specimen_ref:
        extra["specimen"] = {"reference": specimen_ref}
    return _observation(patient_ref, resource_id or new_id("variant", patient_ref, gene, protein_change, hgvsc),
                        _cc(K.LOINC, "69548-6", "Genetic variant assessment"), effective,
                        profile=K.MCODE_GENETIC_VARIANT, category="laboratory", **extra)


def ecog(patient_ref: str, *, score: int, effective: date, resource_id: str | None = None) -> dict[str, Any]:
    """mCODE ECOG performance status (LOINC 89247-1), score 0-5."""
    if not 0 <= score <= 5:
        raise ValueError(f"ECOG score must be 0-5, not {score}")
    return _observation(patient_ref, resource_id or new_id("ecog", patient_ref, effective),
                        _cc(K.LOINC, K.LOINC_ECOG, "ECOG Performance Status score"), effective,
                        profile=K.MCODE_ECOG, category="survey", valueInteger=score)


def karnofsky(patient_ref: str, *, score: int, effective: date, resource_id: str | None = None) -> dict[str, Any]:
    """Karnofsky performance status (LOINC 89243-0), score 0-100."""
    return _observation(patient_ref, resource_id or new_id("karnofsky", patient_ref, effective),
                        _cc(K.LOINC, K.LOINC_KARNOFSKY, "Karnofsky Performance Status score"), effective,
                        profile=K.MCODE + "mcode-karnofsky-performance-status", category="survey", valueInteger=score)


def disease_status(patient_ref: str, *, status: str, effective: date, condition_ref: str | None = None,
                   resource_id: str | None = None) -> dict[str, Any]:
    """mCODE CancerDiseaseStatus (LOINC 97509-4): response / stable / progression / undetermined."""
    if status not in _DISEASE_STATUS_SNOMED:
        raise ValueError(f"disease status must be one of {sorted(_DISEASE_STATUS_SNOMED)}, not {status!r}")
    extra: dict[str, Any] = {"valueCodeableConcept": _cc(K.SNOMED, *_DISEASE_STATUS_SNOMED[status])}
    if condition_ref:
        extra["focus"] = [{"reference": condition_ref}]
    return _observation(patient_ref, resource_id or new_id("status", patient_ref, effective, status),
                        _cc(K.LOINC, "97509-4", "Cancer disease progression"), effective,
                        profile=K.MCODE_DISEASE_STATUS, category="survey", **extra)


def lab(patient_ref: str, *, loinc: str, name: str, value: float, unit: str, effective: date | datetime,
        ref_low: float | None = None, ref_high: float | None = None, resource_id: str | None = None) -> dict[str, Any]:
    """Laboratory Observation with a numeric value and an optional reference range."""
    extra: dict[str, Any] = {"valueQuantity": {"value": value, "unit": unit, "system": K.UCUM, "code": unit}}
    if ref_low is not None or ref_high is not None:
        rr: dict[str, Any] = {}
        if ref_low is not None:
            rr["low"] = {"value": ref_low, "unit": unit}
        if ref_high is not None:
            rr["high"] = {"value": ref_high, "unit": unit}
        extra["referenceRange"] = [rr]
    return _observation(patient_ref, resource_id or new_id("lab", patient_ref, loinc, effective),
                        _cc(K.LOINC, loinc, name), effective, profile=None, category="laboratory", **extra)


def _intent_ext(intent: str | None) -> dict[str, Any]:
    if intent is None:
        return {}
    code = _INTENT_SNOMED.get(intent)
    return {"extension": [{"url": K.MCODE_PROCEDURE_INTENT,
                           "valueCodeableConcept": _cc(K.SNOMED, *code, text=intent) if code else {"text": intent}}]}


def medication_statement(patient_ref: str, *, drug: str, start: date, end: date | None = None,
                         rxnorm: str | None = None, intent: str | None = None, status: str | None = None,
                         resource_id: str | None = None) -> dict[str, Any]:
    """mCODE CancerRelatedMedicationStatement.

    ``drug`` is the generic name in lower case; ``intent`` curative / palliative (mCODE procedure-intent).
    """
    effective = {"effectivePeriod": {"start": _d(start), **({"end": _d(end)} if end else {})}}
    return {"resourceType": "MedicationStatement", "id": resource_id or new_id("med", patient_ref, drug, start),
            **_meta(K.MCODE_MEDICATION_STATEMENT), **_intent_ext(intent),
            "status": status or ("completed" if end else "active"),
            "medicationCodeableConcept": _cc(K.RXNORM if rxnorm else None, rxnorm, drug if rxnorm else None, text=drug),
            "subject": {"reference": patient_ref}, **effective}


def procedure(patient_ref: str, *, name: str, performed: date, end: date | None = None,
              code: tuple[str, str] | None = None, radiation: bool = False, intent: str | None = None,
              resource_id: str | None = None) -> dict[str, Any]:
    """mCODE cancer-related surgical procedure, or radiotherapy course (``radiation=True``)."""
    if code is None and radiation:
        code = ("108290001", "Radiation oncology AND/OR radiotherapy (procedure)")
    performed_x = ({"performedPeriod": {"start": _d(performed), "end": _d(end)}} if end
                   else {"performedDateTime": _d(performed)})
    return {"resourceType": "Procedure", "id": resource_id or new_id("proc", patient_ref, name, performed),
            **_meta(K.MCODE_RADIATION_PROCEDURE if radiation else K.MCODE_SURGICAL_PROCEDURE), **_intent_ext(intent),
            "status": "completed", "code": _cc(K.SNOMED if code else None, *(code or (None, None)), text=name),
            "subject": {"reference": patient_ref}, **performed_x}


def specimen(patient_ref: str, *, sample_id: str, specimen_type: str, collected: date,
             resource_id: str | None = None) -> dict[str, Any]:
    """Specimen whose identifier value is the sequencing ``sample_id`` (as VCF/MAF samples name it)."""
    return {"resourceType": "Specimen", "id": resource_id or new_id("specimen", sample_id),
            "identifier": [{"system": "urn:demo:sample-id", "value": sample_id}],
            "type": {"text": specimen_type}, "subject": {"reference": patient_ref},
            "collection": {"collectedDateTime": _d(collected)}}


def bundle(resources: list[dict[str, Any]], *, bundle_id: str | None = None,
           bundle_type: str = "collection") -> dict[str, Any]:
    """A Bundle whose entries carry ``fullUrl = urn:uuid:<id>`` so ``ref()`` references resolve."""
    ids = [r["id"] for r in resources]
    return {"resourceType": "Bundle", "id": bundle_id or new_id("bundle", *ids), "type": bundle_type,
            "entry": [{"fullUrl": ref(r), "resource": r} for r in resources]}
