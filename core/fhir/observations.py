"""Map an Observation by kind: tumour markers, TMB, MSI, staging, performance status, disease status, labs.

Genomic variant Observations are in ``core.fhir.variants``. Functions raise
``FieldError`` (FHIR path + reason) when a value they need is unusable.
"""
from __future__ import annotations

import re
from typing import Any

from core.fhir import codes as K
from core.fhir.read import (FieldError, category_codes, cc_text, clean, codes, codings, first_coding, method_text,
                            number, profiles, resource_date, status_from, value_of)
from core.fhir.rows import Hints, Mapped, ObsKind, Row
from core.fhir.variants import map_variant
from core.store.schema import Modality


def observation_kind(res: dict[str, Any]) -> ObsKind:
    """Which table an Observation belongs to, by LOINC code, then mCODE profile, then category."""
    cc = res.get("code") or {}
    loinc = codes(cc, K.LOINC)
    prof = " ".join(profiles(res))
    comp_codes = set().union(*(codes(c.get("code"), K.LOINC) for c in res.get("component") or []
                               if isinstance(c, dict))) if res.get("component") else set()
    if loinc & K.LOINC_STAGE_GROUP.keys() or "stage-group" in prof:
        return ObsKind.STAGE_GROUP
    if loinc & K.LOINC_TNM.keys() or re.search(r"tnm-.*-category", prof):
        return ObsKind.TNM
    if loinc & {K.LOINC_ECOG, K.LOINC_KARNOFSKY} or "performance-status" in prof:
        return ObsKind.PERFORMANCE
    if loinc & K.LOINC_DISEASE_STATUS or "disease-status" in prof:
        return ObsKind.DISEASE_STATUS
    if (loinc & K.LOINC_GENETIC_VARIANT or "genetic-variant" in prof or "genomic-variant" in prof
            or "/variant" in prof or (K.LOINC_GENE_STUDIED in comp_codes
                                      and comp_codes & {K.LOINC_HGVS_C, K.LOINC_HGVS_P, K.LOINC_HGVS_G,
                                                        K.LOINC_DISCRETE_VARIANT})):
        return ObsKind.VARIANT
    if K.LOINC_TMB in loinc:
        return ObsKind.TMB
    if loinc & K.LOINC_MSI:
        return ObsKind.MSI
    if loinc & K.TUMOR_MARKERS.keys() or "tumor-marker" in prof:
        name = marker_name(res)
        return ObsKind.TMB if name == "TMB" else ObsKind.MSI if name == "MSI" else ObsKind.TUMOR_MARKER
    if "laboratory" in category_codes(res) or loinc & K.LOINC_ONCOLOGY_LABS:
        return ObsKind.LAB
    return ObsKind.CLINICAL


def marker_name(res: dict[str, Any]) -> str | None:
    cc = res.get("code") or {}
    for code in codes(cc, K.LOINC):
        if code in K.TUMOR_MARKERS:
            return K.TUMOR_MARKERS[code][0]
    text = " ".join(filter(None, [cc_text(cc)] + [clean(c.get("display")) for c in codings(cc)]))
    for pattern, name in K.MARKER_KEYWORDS:
        if re.search(pattern, text, re.I):
            return name
    return None


def _interpretation(res: dict[str, Any]) -> str | None:
    for cc in res.get("interpretation") or []:
        for code in codes(cc):
            if code in K.STATUS_CODES:
                return K.STATUS_CODES[code]
            if code in ("H", "HH", "HU"):
                return "high"
            if code in ("L", "LL", "LU", "N"):
                return "low" if code != "N" else "normal"
    return None


def _her2_score(text: str | None) -> tuple[str, str] | None:
    m = re.match(r"^\s*(?:IHC\s*)?([0-3])\s*\+?\s*$", text or "", re.I)
    if not m:
        return None
    score = int(m.group(1))
    return f"IHC {score}+", ("positive" if score == 3 else "equivocal" if score == 2 else "negative")


def map_tumor_marker(res: dict[str, Any]) -> Mapped:
    """ER/PR/HER2/PD-L1/Ki-67 -> ``biomarkers`` (status from the coded result, the interpretation or the %)."""
    cc_code = res.get("code") or {}
    name = marker_name(res) or cc_text(cc_code)
    method = None
    for code in codes(cc_code, K.LOINC):
        if code in K.TUMOR_MARKERS:
            method = K.TUMOR_MARKERS[code][1]
    num, text, unit, vcc = value_of(res)
    status = status_from(vcc, text) if (vcc or text) else None
    if name == "HER2" and status is None:
        scored = _her2_score(text if vcc is None else cc_text(vcc))
        if scored:
            text, status = scored
    status = status or _interpretation(res)
    code_text = (cc_text(cc_code) or "").lower()
    if name == "PD-L1":
        name = "PD-L1 CPS" if "combined positive" in code_text or (unit or "").lower() == "{score}" else "PD-L1 TPS"
    if status is None and num is not None and name in ("ER", "PR", "PD-L1 TPS"):
        status = "positive" if num >= 1 else "negative"  # ASCO/CAP: >= 1% stained nuclei; PD-L1 TPS >= 1%
    if num is None and text is None and status is None:
        out = Mapped()
        out.warnings.append("tumour marker without a result value (dataAbsentReason or empty); not stored")
        return out
    row = {"name": name, "value_num": num, "value_text": text, "unit": unit, "status": status,
           "method": method_text(res, method)}
    return Mapped(rows=[Row("biomarkers", row, Modality.CLINICAL, resource_date(res))])


def map_tmb(res: dict[str, Any]) -> Mapped:
    num, text, unit, vcc = value_of(res)
    status = _interpretation(res)
    if status is None and text:
        status = "high" if re.search(r"high", text, re.I) else "low" if re.search(r"low", text, re.I) else None
    if status is None and num is not None:
        status = "high" if num >= 10 else "low"  # FDA TMB-H cut-off, 10 mut/Mb
    if num is None and status is None:
        raise FieldError("value[x]", "TMB without a number or a high/low result")
    row = {"name": "TMB", "value_num": num, "value_text": text, "unit": "mut/Mb" if num is not None else None,
           "status": status, "method": method_text(res, None)}
    return Mapped(rows=[Row("biomarkers", row, Modality.GENOMICS, resource_date(res))])


def map_msi(res: dict[str, Any]) -> Mapped:
    """MSI -> ``biomarkers`` name 'MSI', status positive (MSI-H) / negative (MSS, MSI-L), label in value_text."""
    num, text, unit, vcc = value_of(res)
    status, label = None, None
    for pattern, st, lab in K.MSI_WORDS:
        if text and re.search(pattern, text, re.I):
            status, label = st, lab
            break
    if status is None:
        status = status_from(vcc, text) or _interpretation(res)
        label = {"positive": "MSI-H", "negative": "MSS"}.get(status or "")
    if status is None and num is None:
        raise FieldError("value[x]", "MSI result is neither MSI-H nor MSS/MSI-L nor positive/negative")
    row = {"name": "MSI", "value_num": num, "value_text": label or text, "unit": unit, "status": status,
           "method": method_text(res, "IHC" if "62862-8" in codes(res.get("code"), K.LOINC) else None)}
    return Mapped(rows=[Row("biomarkers", row, Modality.GENOMICS, resource_date(res))])

def stage_of(res: dict[str, Any]) -> str:
    """Normalised AJCC stage group of a stage-group Observation."""
    _, text, _, vcc = value_of(res)
    for c in codings(vcc):
        stage = K.normalise_stage(c.get("code")) or K.normalise_stage(c.get("display"))
        if stage:
            return stage
    stage = K.normalise_stage(text)
    if stage is None:
        raise FieldError("valueCodeableConcept", "not an AJCC stage group (expected e.g. 3C or IIIC)")
    return stage


def map_stage_group(res: dict[str, Any]) -> Mapped:
    stage = stage_of(res)
    kind = next((v for c, v in K.LOINC_STAGE_GROUP.items() if c in codes(res.get("code"), K.LOINC)), None)
    code = first_coding(res.get("code")) or {}
    name = f"{kind} stage group" if kind else "stage group"
    row = {"category": "staging", "code_system": code.get("system"), "code": code.get("code"), "name": name,
           "value_num": None, "value_text": stage, "unit": None}
    return Mapped(rows=[Row("clinical_observations", row, Modality.CLINICAL, resource_date(res))],
                  patient={"stage": stage})


def map_tnm(res: dict[str, Any]) -> Mapped:
    code = first_coding(res.get("code")) or {}
    prefix, axis = K.LOINC_TNM.get(str(code.get("code")), ("", ""))
    _, text, _, vcc = value_of(res)
    value = clean((first_coding(vcc) or {}).get("code")) or text
    if not value:
        raise FieldError("valueCodeableConcept", "TNM category without a value")
    row = {"category": "staging", "code_system": code.get("system"), "code": code.get("code"),
           "name": f"{prefix}{axis}" if axis else (cc_text(res.get("code")) or "TNM category"),
           "value_num": None, "value_text": value, "unit": None}
    return Mapped(rows=[Row("clinical_observations", row, Modality.CLINICAL, resource_date(res))])


def map_performance(res: dict[str, Any]) -> Mapped:
    code = first_coding(res.get("code")) or {}
    loinc = codes(res.get("code"), K.LOINC)
    name, top = ("Karnofsky", 100.0) if K.LOINC_KARNOFSKY in loinc else ("ECOG", 5.0)
    num, text, _, vcc = value_of(res)
    if num is None and vcc is not None:
        num = next((float(K.ECOG_ANSWERS[c]) for c in codes(vcc) if c in K.ECOG_ANSWERS), None)
        if num is None and text and re.fullmatch(r"\d+", text):
            num = float(text)
    if num is None or not 0 <= num <= top:
        raise FieldError("value[x]", f"{name} score missing or outside 0-{top:g}")
    row = {"category": "performance_status", "code_system": code.get("system"), "code": code.get("code"),
           "name": name, "value_num": num, "value_text": None, "unit": None}
    return Mapped(rows=[Row("clinical_observations", row, Modality.CLINICAL, resource_date(res))])


def map_disease_status(res: dict[str, Any]) -> Mapped:
    """mCODE CancerDiseaseStatus -> ``outcomes`` event progression / response / stable / undetermined."""
    _, text, _, vcc = value_of(res)
    event = next((K.DISEASE_STATUS[c] for c in codes(vcc) if c in K.DISEASE_STATUS), None)
    if event is None and text:
        event = next((ev for pattern, ev in K.DISEASE_STATUS_WORDS if re.search(pattern, text, re.I)), None)
    if event is None:
        raise FieldError("valueCodeableConcept", "not a cancer disease status (improved/stable/worsened/...)")
    row = {"event": event, "value_text": text, "value_num": None}
    return Mapped(rows=[Row("outcomes", row, Modality.CLINICAL, resource_date(res))])


def _measurements(res: dict[str, Any]) -> list[tuple[str, dict[str, Any], tuple]]:
    """(part, code CodeableConcept, value tuple) for the Observation value or, failing that, each component."""
    value = value_of(res)
    if any(v is not None for v in value[:3]):
        return [("", res.get("code") or {}, value)]
    out = []
    for i, comp in enumerate(res.get("component") or []):
        if not isinstance(comp, dict):
            continue
        v = value_of(comp, f"component[{i}]")
        if any(x is not None for x in v[:3]):
            out.append((f"component[{i}]", comp.get("code") or {}, v))
    return out


def _ref_range(res: dict[str, Any]) -> tuple[float | None, float | None]:
    rr = (res.get("referenceRange") or [None])[0]
    if not isinstance(rr, dict):
        return None, None
    bounds = []
    for side in ("low", "high"):
        value = (rr.get(side) or {}).get("value")
        bounds.append(None if value is None else number(value, f"referenceRange[0].{side}.value"))
    return bounds[0], bounds[1]


def map_lab(res: dict[str, Any]) -> Mapped:
    """Laboratory Observation -> ``labs`` (one row per component when the value sits in components)."""
    out = Mapped()
    low, high = _ref_range(res)
    observed = resource_date(res)
    for part, cc, (num, text, unit, _) in _measurements(res):
        loinc = first_coding(cc, K.LOINC) or first_coding(cc) or {}
        out.rows.append(Row("labs", {"loinc": clean(loinc.get("code")), "name": cc_text(cc), "value_num": num,
                                     "value_text": text, "unit": unit, "ref_low": low, "ref_high": high},
                            Modality.LABS, observed, part))
    return out


def map_clinical(res: dict[str, Any]) -> Mapped:
    """Vital signs, smoking status and other coded facts -> ``clinical_observations``."""
    out = Mapped()
    cats = sorted(category_codes(res))
    observed = resource_date(res)
    for part, cc, (num, text, unit, _) in _measurements(res):
        coding = first_coding(cc, K.LOINC) or first_coding(cc) or {}
        out.rows.append(Row("clinical_observations", {
            "category": cats[0] if cats else None, "code_system": coding.get("system"),
            "code": clean(coding.get("code")), "name": cc_text(cc), "value_num": num, "value_text": text,
            "unit": unit}, Modality.CLINICAL, observed, part))
    return out


def map_observation(res: dict[str, Any], hints: Hints | None = None) -> Mapped:
    kind = observation_kind(res)
    if kind is ObsKind.VARIANT:
        return map_variant(res, hints)
    return {
        ObsKind.STAGE_GROUP: map_stage_group, ObsKind.TNM: map_tnm, ObsKind.PERFORMANCE: map_performance,
        ObsKind.DISEASE_STATUS: map_disease_status, ObsKind.TMB: map_tmb, ObsKind.MSI: map_msi,
        ObsKind.TUMOR_MARKER: map_tumor_marker, ObsKind.LAB: map_lab, ObsKind.CLINICAL: map_clinical,
    }[kind](res)
