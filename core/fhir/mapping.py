"""Map one FHIR R4 resource (a plain dict) to evidence rows, without touching the store.

Each ``map_*`` function returns a ``Mapped``: rows without their provenance
columns (the ingester adds those and the row ids), the patient attributes the
resource implies, and warnings. A value the mapping needs but cannot use raises
``FieldError`` naming the FHIR path, which the ingester records as an error for
that resource while the rest of the file lands.
"""
from __future__ import annotations

import re
from typing import Any

from core.fhir import codes as K
from core.fhir.observations import map_observation, observation_kind, stage_of
from core.fhir.read import FieldError, cc_text, clean, codes, codings, extension, first_coding, first_date, profiles
from core.fhir.rows import Hints, Mapped, ObsKind, Row, _date
from core.store.schema import Modality

__all__ = ["MAPPERS", "Hints", "Mapped", "ObsKind", "Row", "diagnosis_class", "map_condition", "map_medication",
           "map_observation", "map_patient", "map_procedure", "map_specimen", "observation_kind", "specimen_ids",
           "stage_of"]


# ---- Patient ----------------------------------------------------------------------------
def map_patient(res: dict[str, Any], hints: Hints | None = None) -> Mapped:
    """Sex, birth date and name (PHI columns) of a Patient; a deceased Patient also yields a death outcome."""
    out = Mapped()
    names = [n for n in res.get("name") or [] if isinstance(n, dict)]
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    birth = first_date(res, "birthDate")
    out.patient = {"sex": clean(res.get("gender")), "birth_date": _date(birth),
                   "given_name": clean(" ".join(str(g) for g in name.get("given") or [])),
                   "family_name": clean(name.get("family"))}
    if res.get("deceasedDateTime") is not None:
        died = first_date(res, "deceasedDateTime")
        out.rows.append(Row("outcomes", {"event": "death", "value_text": None, "value_num": None},
                            Modality.CLINICAL, died))
    elif res.get("deceasedBoolean") is True:
        out.rows.append(Row("outcomes", {"event": "death", "value_text": "date unknown", "value_num": None},
                            Modality.CLINICAL, None))
    return out


# ---- Condition ---------------------------------------------------------------------------
def diagnosis_class(cc: dict[str, Any]) -> tuple[str, str | None, bool]:
    """(cancer_type, OncoTree code, is_cancer) of a Condition code by table, then by keywords."""
    for c in codings(cc):
        code, system = str(c.get("code", "")), c.get("system")
        if system == K.SNOMED and code in K.SNOMED_ONCOTREE:
            ct, ot = K.SNOMED_ONCOTREE[code]
            return ct, ot, True
        if system in (K.ICD10, K.ICD10_WHO):
            for prefix, (ct, ot) in K.ICD10_ONCOTREE:
                if code.upper().startswith(prefix):
                    return ct, ot, True
            if re.match(r"C\d\d", code.upper()):
                return "other", None, True
    text = " ".join(filter(None, [cc_text(cc)] + [clean(c.get("display")) for c in codings(cc)]))
    if K.CANCER_WORDS.search(text) and not K.BENIGN_WORDS.search(text):
        ct, ot = K.oncotree_from_text(text)
        return ct, ot, True
    return "other", None, False


def map_condition(res: dict[str, Any], hints: Hints | None = None) -> Mapped:
    """Condition -> ``conditions``; a primary cancer also fills the patient's diagnosis attributes."""
    hints = hints or Hints()
    cc = res.get("code")
    if not isinstance(cc, dict) or not (codings(cc) or cc.get("text")):
        raise FieldError("code", "Condition without a code")
    coding = first_coding(cc, K.SNOMED) or first_coding(cc, K.ICD10) or first_coding(cc) or {}
    prof = profiles(res)
    cancer_type, oncotree, is_cancer = diagnosis_class(cc)
    display = cc_text(cc)
    secondary = K.MCODE_SECONDARY in prof or bool(display and K.SECONDARY_WORDS.search(display))
    primary = not secondary and (K.MCODE_PRIMARY in prof or is_cancer)
    hist_ext = extension(res, "mcode-histology-morphology-behavior")
    histology = cc_text(hist_ext.get("valueCodeableConcept")) if hist_ext else None
    if primary:
        oncotree = K.refine_with_histology(cancer_type, oncotree, histology)
    stage = None
    for i, st in enumerate(res.get("stage") or []):
        summary = st.get("summary") if isinstance(st, dict) else None
        if summary:
            stage = next(filter(None, (K.normalise_stage(c.get("code")) or K.normalise_stage(c.get("display"))
                                       for c in codings(summary))), None) or K.normalise_stage(cc_text(summary))
            if stage is None:
                raise FieldError(f"stage[{i}].summary", "not an AJCC stage group")
            break
    stage = stage or hints.stage
    onset = first_date(res, "onsetDateTime", "onsetPeriod.start", "recordedDate")
    status = first_coding(res.get("clinicalStatus"))
    out = Mapped()
    out.rows.append(Row("conditions", {
        "code_system": coding.get("system"), "code": clean(coding.get("code")), "display": display,
        "oncotree_code": oncotree if primary else None, "histology": histology, "stage": stage,
        "clinical_status": clean(status.get("code")) if status else None,
    }, Modality.CLINICAL, onset))
    if primary:
        out.patient = {"cancer_type": cancer_type, "oncotree_code": oncotree, "diagnosis_date": _date(onset),
                       "histology": histology, "stage": stage}
    return out

# ---- treatments --------------------------------------------------------------------------------
def _intent(res: dict[str, Any]) -> str | None:
    for ext in res.get("extension") or []:
        if isinstance(ext, dict) and str(ext.get("url", "")).endswith("-intent"):
            text = cc_text(ext.get("valueCodeableConcept"))
            return text.lower() if text else None
    return None


SKIPPED_STATUSES = {"entered-in-error", "not-taken", "not-done", "cancelled"}


def map_medication(res: dict[str, Any], hints: Hints | None = None) -> Mapped:
    """MedicationStatement / MedicationRequest / MedicationAdministration -> ``treatments`` kind 'drug'."""
    hints = hints or Hints()
    out = Mapped()
    if res.get("status") in SKIPPED_STATUSES:
        out.warnings.append(f"status {res['status']!r}: not recorded as a treatment")
        return out
    cc = res.get("medicationCodeableConcept")
    path = "medicationCodeableConcept"
    if cc is None and hints.medication is not None:
        cc, path = hints.medication.get("code"), "medicationReference -> Medication.code"
    if not isinstance(cc, dict) or not cc_text(cc):
        raise FieldError(path if cc is not None else "medication[x]",
                         "no medication code or text (a medicationReference must resolve inside the bundle)")
    rx = first_coding(cc, K.RXNORM)
    display = clean((rx or {}).get("display")) or cc_text(cc) or ""
    start = first_date(res, "effectiveDateTime", "effectivePeriod.start", "authoredOn", "dateAsserted")
    end = first_date(res, "effectivePeriod.end")
    out.rows.append(Row("treatments", {
        "kind": "drug", "name": K.generic_drug_name(display), "code": clean((rx or first_coding(cc) or {}).get("code")),
        "start_date": _date(start), "end_date": _date(end), "line": None, "intent": _intent(res),
    }, Modality.CLINICAL, start))
    return out


def map_procedure(res: dict[str, Any], hints: Hints | None = None) -> Mapped:
    """Procedure -> ``treatments`` kind 'radiation' (by profile, code or category text) or 'procedure'."""
    out = Mapped()
    if res.get("status") in SKIPPED_STATUSES:
        out.warnings.append(f"status {res['status']!r}: not recorded as a treatment")
        return out
    cc = res.get("code")
    if not isinstance(cc, dict) or not cc_text(cc):
        raise FieldError("code", "Procedure without a code")
    if codes(cc) & K.ADMIN_PROCEDURES:
        return out
    words = [cc_text(cc), cc_text(res.get("category"))] + [clean(c.get("display")) for c in codings(cc)]
    text = " ".join(filter(None, words))
    radiation = (any("radiotherapy" in p or "radiation" in p for p in profiles(res))
                 or bool(K.RADIATION_WORDS.search(text)))
    coding = first_coding(cc) or {}
    start = first_date(res, "performedDateTime", "performedPeriod.start")
    end = first_date(res, "performedPeriod.end")
    out.rows.append(Row("treatments", {
        "kind": "radiation" if radiation else "procedure", "name": cc_text(cc), "code": clean(coding.get("code")),
        "start_date": _date(start), "end_date": _date(end), "line": None, "intent": _intent(res),
    }, Modality.CLINICAL, start))
    return out


def specimen_ids(res: dict[str, Any]) -> tuple[str | None, str | None]:
    """(specimen_id, sample_id) of a Specimen: the identifier value names the sample; else the resource id."""
    ident = next((i for i in res.get("identifier") or [] if isinstance(i, dict) and i.get("value")), None)
    acc = res.get("accessionIdentifier") if isinstance(res.get("accessionIdentifier"), dict) else None
    sample = clean(ident.get("value")) if ident else clean(acc.get("value")) if acc else None
    return sample or clean(res.get("id")), sample


def map_specimen(res: dict[str, Any], hints: Hints | None = None) -> Mapped:
    specimen_id, sample_id = specimen_ids(res)
    if not specimen_id:
        raise FieldError("identifier", "Specimen without identifier or id")
    collected = first_date(res, "collection.collectedDateTime", "collection.collectedPeriod.start", "receivedTime")
    return Mapped(rows=[Row("specimens", {"specimen_id": specimen_id, "sample_id": sample_id,
                                          "specimen_type": cc_text(res.get("type")), "panel_name": None,
                                          "genome_build": None}, Modality.GENOMICS, collected)])


MAPPERS = {
    "Patient": map_patient, "Condition": map_condition, "Observation": map_observation,
    "MedicationStatement": map_medication, "MedicationRequest": map_medication,
    "MedicationAdministration": map_medication, "Procedure": map_procedure, "Specimen": map_specimen,
}
