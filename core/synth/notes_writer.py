"""Clinical notes of a synthetic patient, in the style they arrive in: header, sections, negations, hedges.

Each note is plain text: the header convention of the project (``MRN:``, ``PATIENT:``,
``DOB:``, ``NOTE TYPE:``, ``DATE OF SERVICE:``, ``AUTHOR:`` in a varying order, then a
line of dashes) and a body with the usual section headings. Dates are written in
several formats, and visit notes refer to recent scans as "last Tuesday".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from core.synth import catalog
from core.synth.cohort import LatentPatient
from core.synth.course import ORAL_CONTINUOUS, Course, Study, Visit
from core.synth.genomics_writer import Call

DOSES = {
    "osimertinib": "osimertinib 80 mg PO daily", "alectinib": "alectinib 600 mg PO twice daily",
    "lorlatinib": "lorlatinib 100 mg PO daily", "crizotinib": "crizotinib 250 mg PO twice daily",
    "selpercatinib": "selpercatinib 160 mg PO twice daily", "capmatinib": "capmatinib 400 mg PO twice daily",
    "dabrafenib": "dabrafenib 150 mg PO twice daily", "trametinib": "trametinib 2 mg PO daily",
    "pembrolizumab": "pembrolizumab 200 mg IV every 3 weeks", "carboplatin": "carboplatin AUC 5 IV day 1",
    "pemetrexed": "pemetrexed 500 mg/m2 IV day 1", "paclitaxel": "paclitaxel 175 mg/m2 IV day 1",
    "docetaxel": "docetaxel 75 mg/m2 IV every 3 weeks", "etoposide": "etoposide 100 mg/m2 IV days 1-3",
    "atezolizumab": "atezolizumab 1200 mg IV every 3 weeks", "lurbinectedin": "lurbinectedin 3.2 mg/m2 IV every 3 weeks",
    "sotorasib": "sotorasib 960 mg PO daily", "palbociclib": "palbociclib 125 mg PO daily days 1-21",
    "letrozole": "letrozole 2.5 mg PO daily", "anastrozole": "anastrozole 1 mg PO daily",
    "tamoxifen": "tamoxifen 20 mg PO daily", "fulvestrant": "fulvestrant 500 mg IM monthly",
    "elacestrant": "elacestrant 345 mg PO daily", "trastuzumab": "trastuzumab 6 mg/kg IV every 3 weeks",
    "pertuzumab": "pertuzumab 420 mg IV every 3 weeks", "trastuzumab deruxtecan": "trastuzumab deruxtecan 5.4 mg/kg IV every 3 weeks",
    "sacituzumab govitecan": "sacituzumab govitecan 10 mg/kg IV days 1 and 8",
    "FOLFOX": "FOLFOX (oxaliplatin, leucovorin, 5-fluorouracil) every 2 weeks",
    "FOLFIRI": "FOLFIRI (irinotecan, leucovorin, 5-fluorouracil) every 2 weeks",
    "FOLFOXIRI": "FOLFOXIRI every 2 weeks", "bevacizumab": "bevacizumab 5 mg/kg IV every 2 weeks",
    "panitumumab": "panitumumab 6 mg/kg IV every 2 weeks", "cetuximab": "cetuximab 500 mg/m2 IV every 2 weeks",
    "encorafenib": "encorafenib 300 mg PO daily", "durvalumab": "durvalumab 10 mg/kg IV every 2 weeks",
    "CAPOX": "CAPOX (capecitabine and oxaliplatin)", "capecitabine": "capecitabine 825 mg/m2 PO twice daily",
}
DATE_STYLES = ("%m/%d/%Y", "%-d %b %Y", "%Y-%m-%d", "%B %-d, %Y", "%d-%b-%Y")


@dataclass(frozen=True)
class NoteDoc:
    """One note file to write."""

    when: date
    note_type: str
    author: str
    body: str
    kind: str                # radiology / pathology / molecular / consult / progress / board / death


def fmt(d: date, rng: np.random.Generator) -> str:
    return d.strftime(DATE_STYLES[int(rng.integers(0, len(DATE_STYLES)))])


def header(p: LatentPatient, n: NoteDoc, rng: np.random.Generator) -> str:
    fields = [f"MRN: {p.mrn}", f"PATIENT: {p.family_name.upper()}, {p.given_name.upper()}",
              f"DOB: {fmt(p.birth_date, rng)}", f"NOTE TYPE: {n.note_type}",
              f"DATE OF SERVICE: {fmt(n.when, rng)}", f"AUTHOR: {n.author}"]
    if rng.random() < 0.4:  # fields in any order
        order = rng.permutation(len(fields))
        fields = [fields[i] for i in order]
    return "\n".join(fields) + "\n" + "-" * int(rng.integers(8, 40)) + "\n"


def _pronoun(p: LatentPatient) -> tuple[str, str, str]:
    return ("She", "her", "woman") if p.sex == "female" else ("He", "his", "man")


def _dose(regimen: str) -> list[str]:
    out = []
    for part in regimen.replace(" with radiation", "").split(" + "):
        part = part.strip()
        out.append(DOSES.get(part, part))
    return out


def _size_text(study: Study, axes: tuple[float, float] | None) -> str:
    if axes is not None:
        return f"{axes[0]:.0f} x {axes[1]:.0f} mm"
    s = study.size_mm or 0.0
    return f"{s * 1.08:.0f} x {s * 0.82:.0f} mm"


def _site_word(p: LatentPatient) -> str:
    if p.cancer_type == "lung":
        return f"{p.primary_site} mass"
    if p.cancer_type == "breast":
        return f"{p.primary_site} mass"
    return "hepatic lesion" if p.stage == "IV" else f"{p.primary_site} mass"


MARGIN_TEXT = {"smooth": "well-circumscribed with smooth margins", "lobulated": "with lobulated contours",
               "spiculated": "with spiculated margins"}


def _texture(h: float) -> str:
    if h > 0.62:
        return "Heterogeneous enhancement with central low attenuation, likely necrosis."
    if h < 0.3:
        return "Homogeneous soft-tissue attenuation."
    return "Mildly heterogeneous enhancement."


def radiology(p: LatentPatient, c: Course, s: Study, prior: Study | None, axes: tuple[float, float] | None,
              prior_axes: tuple[float, float] | None, no_mass_claim: bool, rng: np.random.Generator) -> NoteDoc:
    exam = "CT CHEST WITH CONTRAST" if p.body_part == "CHEST" else "CT ABDOMEN AND PELVIS WITH CONTRAST"
    indication = {"diagnostic": "Evaluate abnormality; weight loss and symptoms." if p.weight_loss_pct > 5
                  else "Evaluate symptoms.", "staging": "Staging of newly diagnosed malignancy.",
                  "restaging": "Restaging on systemic therapy.", "surveillance": "Surveillance after resection."}[s.label]
    lines = [f"EXAM: {exam}", f"CLINICAL INDICATION: {indication}",
             "COMPARISON: " + (f"CT dated {fmt(prior.when, rng)}." if prior else "None available."),
             "TECHNIQUE: Helical axial images were obtained after intravenous contrast; 5 mm reconstructions.", "",
             "FINDINGS:"]
    impression: list[str] = []
    where = _site_word(p)
    if no_mass_claim:
        lines.append("No measurable mass. No focal consolidation.")
        lines.append("No pleural effusion. No pathologically enlarged lymph nodes.")
        impression.append("No measurable mass. No acute findings.")
    elif s.size_mm is None:
        lines.append("Postsurgical changes at the resection site without nodular soft tissue.")
        lines.append("No suspicious lymphadenopathy. No pleural effusion.")
        impression.append("No evidence of recurrent or metastatic disease.")
    else:
        size = _size_text(s, axes)
        desc = f"There is a {size} {where} {MARGIN_TEXT[p.margin]}"
        if prior is not None and prior.size_mm is not None:
            desc += f", previously {_size_text(prior, prior_axes)}"
        lines.append(desc + ".")
        lines.append(_texture(p.heterogeneity))
        if p.stage in ("III", "IV") or rng.random() < 0.3:
            lines.append("Enlarged ipsilateral hilar and mediastinal lymph nodes, largest 14 mm in short axis."
                         if p.body_part == "CHEST" else "Several enlarged regional lymph nodes, largest 12 mm.")
        if p.stage == "IV":
            lines += [_met_finding(m, rng) for m in p.metastatic_sites]
        else:
            lines.append("No evidence of distant metastasis.")
        if rng.random() < 0.3:
            lines.append("A 4 mm nodule elsewhere is indeterminate; cannot exclude metastasis. Attention on follow-up.")
        if s.new_lesion:
            lines.append("New 11 mm hypodense lesion in hepatic segment VI, suspicious for metastasis.")
        if s.response == "PR":
            impression.append(f"Interval decrease of the {where}, consistent with partial response.")
        elif s.response == "SD":
            impression.append(f"Stable {where}. No new lesions.")
        elif s.response == "PD":
            impression.append(f"Interval increase of the {where}" + (" and a new hepatic lesion" if s.new_lesion else "")
                              + ", consistent with progressive disease.")
        elif s.label == "staging" and prior is not None:
            impression.append(f"Interval growth of the {where} since the diagnostic CT.")
        else:
            impression.append(f"{size} {where}, highly suspicious for primary malignancy."
                              if s.label == "diagnostic" else f"Known {where}, {size}.")
        if p.stage == "IV" and s.label in ("diagnostic", "staging"):
            impression.append("Findings consistent with metastatic disease.")
        elif s.label in ("diagnostic", "staging"):
            impression.append("No evidence of distant metastasis.")
    if p.body_part == "CHEST":
        lines.append("Osseous structures: degenerative changes of the thoracic spine." if "bone" not in p.metastatic_sites
                     else "")
    lines = [ln for ln in lines if ln != ""] + ["", "IMPRESSION:"] + [f"{i}. {t}" for i, t in enumerate(impression, 1)]
    return NoteDoc(s.when, "Radiology Report", _pick(rng, catalog.CLINICIANS["radiology"]), "\n".join(lines) + "\n",
                   "radiology")


def _met_finding(site: str, rng: np.random.Generator) -> str:
    return {"bone": "Lytic lesion in the T8 vertebral body, consistent with osseous metastasis.",
            "brain": "Brain not imaged; MRI brain recommended given known intracranial disease.",
            "liver": f"Multiple hypodense hepatic lesions, the largest {int(rng.integers(12, 35))} mm, consistent with metastases.",
            "adrenal gland": "Left adrenal nodule measuring 21 mm, suspicious for metastasis.",
            "contralateral lung": "Several nodules in the contralateral lung, the largest 9 mm, consistent with metastases.",
            "pleura": "Moderate pleural effusion with nodular pleural thickening, suspicious for pleural metastasis.",
            "lung": "Multiple bilateral pulmonary nodules up to 12 mm, consistent with metastases.",
            "lymph nodes": "Enlarged supraclavicular and axillary lymph nodes.",
            "peritoneum": "Peritoneal nodularity and small-volume ascites, suspicious for carcinomatosis."}[site]


def _pick(rng: np.random.Generator, items: list | tuple):
    return items[int(rng.integers(0, len(items)))]


def pathology(p: LatentPatient, c: Course, rng: np.random.Generator) -> NoteDoc:
    """The diagnostic biopsy report, with IHC biomarkers and, for some, the deliberate discrepancy."""
    lines: list[str] = []
    if p.cancer_type == "lung":
        lines += [f"SPECIMEN: Lung, {p.primary_site}, CT-guided core needle biopsy.", "", "FINAL DIAGNOSIS:"]
        dx = {"LUAD": "Invasive adenocarcinoma, acinar predominant.", "LUSC": "Squamous cell carcinoma, keratinizing.",
              "NSCLC": "Non-small cell carcinoma, not otherwise specified.",
              "SCLC": "Small cell carcinoma."}[p.oncotree]
        lines.append(dx)
        lines.append("")
        lines.append("IMMUNOHISTOCHEMISTRY:")
        lines.append({"LUAD": "TTF-1 positive, Napsin A positive, p40 negative.",
                      "LUSC": "p40 positive, TTF-1 negative.", "NSCLC": "TTF-1 negative, p40 negative.",
                      "SCLC": "Synaptophysin positive, chromogranin positive, Ki-67 approximately 90%."}[p.oncotree])
        if p.pdl1_tested and p.pdl1_tps is not None:
            if p.pdl1_tps < 1:
                lines.append("PD-L1 (22C3): TPS less than 1%, negative.")
            elif rng.random() < 0.5:
                lines.append(f"PD-L1 (22C3): tumor proportion score (TPS) {p.pdl1_tps}%.")
            else:
                lines.append(f"PD-L1 TPS {p.pdl1_tps}% (22C3 pharmDx).")
        if p.alk_ihc_tested:
            lines.append("ALK (D5F3) IHC: positive." if p.has_driver("ALK") else "ALK (D5F3) IHC: negative.")
    elif p.cancer_type == "breast":
        lines += [f"SPECIMEN: Breast, {p.primary_site.split()[0]}, ultrasound-guided core biopsy.", "", "FINAL DIAGNOSIS:"]
        grade = 3 if p.aggressiveness > 0.6 else 2 if p.aggressiveness > -0.6 else 1
        lines.append(f"{_cap(p.histology)}, Nottingham grade {grade}.")
        lines.append("")
        lines.append("BREAST BIOMARKERS:")
        er = f"ER positive ({p.er_pct}%)" if p.er_pct else "ER negative (0%)"
        pr = (f"PR positive ({p.pr_pct}%)" if rng.random() < 0.6 else "PR positive") if p.pr_pct else "PR negative"
        her2 = {"0": "HER2 0 (negative)", "1+": "HER2 1+ negative",
                "2+": "HER2 2+ (equivocal); reflex FISH " + ("amplified (HER2/CEP17 ratio 3.1)" if p.her2_amplified
                                                             else "not amplified (HER2/CEP17 ratio 1.2)"),
                "3+": "HER2 3+ positive"}[p.her2_ihc or "0"]
        lines.append(f"{er}, {pr}, {her2}.")
        lines.append(f"Ki-67: {int(min(90, max(5, 20 + 18 * p.aggressiveness)))}%.")
    else:
        where = p.primary_site
        lines += [f"SPECIMEN: {where.capitalize()}, endoscopic biopsy.", "", "FINAL DIAGNOSIS:",
                  f"{_cap(p.histology)}, moderately differentiated, arising in {where}."]
        if p.mmr_ihc_tested:
            lines += ["", "MISMATCH REPAIR IHC:"]
            lines.append("Loss of nuclear expression of MLH1 and PMS2; MSH2 and MSH6 retained (deficient MMR)."
                         if p.msi_high else "MLH1, PMS2, MSH2 and MSH6 expression retained (proficient MMR).")
    if p.disc_note_vs_vcf == "EGFR":
        lines.append("EGFR negative (IHC), mutation-specific antibodies for L858R and E746-A750del.")
    elif p.disc_note_vs_vcf == "KRAS":
        lines.append("KRAS wild-type by outside hotspot PCR assay.")
    lines += ["", "COMMENT:"]
    if p.sequenced:
        lines.append("Tissue is adequate; next-generation sequencing has been sent.")
    else:
        lines.append("Tumor content is limited; molecular testing may require additional tissue.")
    if rng.random() < 0.3:
        lines.append("Lymphovascular invasion cannot be excluded on this limited sample.")
    return NoteDoc(c.biopsy, "Pathology Report", _pick(rng, catalog.CLINICIANS["pathology"]), "\n".join(lines) + "\n",
                   "pathology")


GENE_WORD = {"fusion": "rearrangement", "amplification": "amplification"}


def molecular(p: LatentPatient, c: Course, calls: list[Call], rng: np.random.Generator) -> NoteDoc:
    """Molecular pathology (NGS) report: detected alterations with VAF, pertinent negatives, TMB / MSI."""
    if p.panel is None:
        raise ValueError("molecular report for a patient without a panel")
    panel = catalog.PANELS[p.panel]
    lines = [f"TEST: {catalog.PANEL_LABEL[p.panel]}", f"SPECIMEN: {p.primary_site}, FFPE tumor tissue",
             f"GENOME BUILD: {p.genome_build}", "", "RESULTS:"]
    shown = [x for x in calls if x.reported and x.kind in ("snv", "fusion", "amp")]
    actionable = [x for x in shown if x.label in p.drivers]
    other = [x for x in shown if x.label not in p.drivers]
    if not shown:
        lines.append("No pathogenic variants detected.")
    for x in actionable + other:
        if x.kind == "fusion":
            lines.append(f"- {x.partner}-{x.gene} fusion detected.")
        elif x.kind == "amp":
            lines.append(f"- ERBB2 amplification detected (estimated copy number {x.copy_number:.0f}).")
        else:
            germ = " (variant allele fraction suggests possible germline origin; genetic counseling recommended)" \
                if x.origin == "germline" else ""
            lines.append(f"- {x.gene} {x.protein} ({x.hgvsc}), exon {x.exon.split('/')[0]}, VAF {round(x.vaf * 100)}%{germ}.")
    vus = [x for x in calls if x.reported and x.kind == "vus" and x.filter == "PASS"]
    if vus:
        lines += ["", "VARIANTS OF UNCERTAIN SIGNIFICANCE:"]
        lines += [f"- {x.gene} {x.protein}, VAF {round(x.vaf * 100)}%" for x in vus[:6]]
    negatives = []
    have = {x.gene for x in shown}
    targets = {"lung": ["EGFR", "ALK", "KRAS", "BRAF", "MET", "RET", "ROS1", "ERBB2"],
               "breast": ["PIK3CA", "ESR1", "ERBB2", "BRCA1", "BRCA2", "AKT1"],
               "colorectal": ["KRAS", "NRAS", "BRAF", "ERBB2", "PIK3CA"]}[p.cancer_type]
    for g in targets:
        if g in have or g not in panel:
            continue
        if g in ("ALK", "RET", "ROS1") and "fusion" not in catalog.PANEL_CALLS[p.panel]:
            continue
        word = "rearrangement" if g in ("ALK", "RET", "ROS1") else "mutation"
        negatives.append(f"{g} {word} was not detected.")
    if negatives:
        lines += ["", "PERTINENT NEGATIVES:"] + negatives
    if "tmb" in catalog.PANEL_CALLS[p.panel]:
        lines += ["", "BIOMARKERS:", f"Tumor mutational burden: {p.tmb:.1f} mut/Mb ({'high' if p.tmb >= 10 else 'low'}).",
                  "Microsatellite status: " + ("MSI-High." if p.msi_high else "microsatellite stable (MSS).")]
    not_covered = [g for g in ("ESR1", "BRCA1", "BRCA2", "ROS1", "NTRK1") if g not in panel]
    limits = []
    if "fusion" not in catalog.PANEL_CALLS[p.panel]:
        limits.append("This DNA hotspot assay does not assess gene fusions, copy number changes, TMB or MSI.")
    if not_covered:
        limits.append("Genes not covered by this panel: " + ", ".join(not_covered) + ".")
    if limits:
        lines += ["", "LIMITATIONS:", *limits]
    return NoteDoc(c.sequencing_report or c.biopsy, "Molecular Pathology Report",
                   _pick(rng, catalog.CLINICIANS["pathology"]), "\n".join(lines) + "\n", "molecular")


def _cap(text: str) -> str:
    """Upper-case the first letter only (str.capitalize would lower-case 'IVA' and 'cT2b')."""
    return text[:1].upper() + text[1:]


def _stage_phrase(p: LatentPatient) -> str:
    return f"stage {p.stage_detail} ({p.tnm})"


def _dx_phrase(p: LatentPatient) -> str:
    site = p.primary_site
    if p.cancer_type == "lung":
        return f"{p.histology} of the {site}"
    if p.cancer_type == "breast":
        return f"{p.histology} of the {site}"
    return f"{p.histology} of the {site}"


def consult(p: LatentPatient, c: Course, v: Visit, calls: list[Call], rng: np.random.Generator,
            first_axes: tuple[float, float] | None = None) -> NoteDoc:
    she, her, woman = _pronoun(p)
    age = int(p.age_years)
    smoke = {"never": "never smoker", "former": f"former smoker ({p.pack_years:.0f} pack-years, quit "
             f"{int(rng.integers(1, 15))} years ago)", "current": f"current smoker ({p.pack_years:.0f} pack-years)"}[p.smoking]
    sym = ", ".join(s for s in p.symptoms if s != "unintentional weight loss") or "an incidental finding on imaging"
    hpi = [f"{age}-year-old {woman}, {smoke}, referred for newly diagnosed {_dx_phrase(p)}.",
           f"{she} presented with {sym}."]
    if p.weight_loss_pct > 5:
        hpi.append(f"{she} reports unintentional weight loss of {p.weight_loss_pct:.0f}% over the past 3 months.")
    else:
        hpi.append(f"{she} denies weight loss, fevers or night sweats.")
    first = c.studies[0] if c.studies else None
    if first is not None and first.size_mm is not None and not p.disc_report_vs_image:
        size = first_axes[0] if first_axes else first.size_mm
        hpi.append(f"CT on {fmt(first.when, rng)} showed a {size:.0f} mm {_site_word(p)}.")
    hpi.append(f"Biopsy on {fmt(c.biopsy, rng)} confirmed {p.histology}.")
    known = [x for x in calls if x.reported and x.label in p.drivers]
    if c.sequencing_report and c.sequencing_report <= v.when:
        if known:
            hpi.append("Next-generation sequencing showed " + ", ".join(
                f"{x.gene} {x.protein}" if x.kind == "snv" else x.label for x in known) + ".")
        else:
            hpi.append("Next-generation sequencing did not identify an actionable driver alteration.")
    elif p.sequenced:
        hpi.append("Molecular testing is pending.")
    pmh = [_cap(c_) for c_ in p.comorbidities] or ["No significant past medical history."]
    if rng.random() < 0.15:
        pmh.append(f"History of basal cell carcinoma of the skin, excised in {c.diagnosis.year - int(rng.integers(5, 20))}.")
    fam = [f"{rel.capitalize()} with {can} diagnosed at age {a}." for rel, can, a in p.family_history]
    fam.append("No family history of " + {"lung": "lung cancer", "breast": "ovarian cancer",
                                         "colorectal": "colon cancer"}[p.cancer_type] + "."
               if not any(p.cancer_type[:4] in can for _, can, _ in p.family_history) else "")
    meds = list(p.home_medications) or ["None."]
    ros_neg = {"lung": "Denies fever, chills, headache or hemoptysis.",
               "breast": "Denies bone pain, headache or shortness of breath.",
               "colorectal": "Denies fever, jaundice or shortness of breath."}[p.cancer_type]
    plan = _consult_plan(p, c, v, known, rng)
    labs = (f"Albumin {p.albumin:.1f} g/dL, LDH {p.ldh:.0f} U/L, hemoglobin {p.hgb:.1f} g/dL"
            + (f", CEA {p.cea:.1f} ng/mL" if p.cancer_type != "breast" else "") + ".") if p.has_labs else "Pending."
    body = [
        "REASON FOR CONSULTATION:", f"Newly diagnosed {_stage_phrase(p)} {_dx_phrase(p)}.", "",
        "HISTORY OF PRESENT ILLNESS:", " ".join(hpi), "",
        "PAST MEDICAL HISTORY:", *pmh, "",
        "MEDICATIONS:", *meds, "",
        "ALLERGIES:", "No known drug allergies." if rng.random() < 0.8 else "Penicillin (rash).", "",
        "FAMILY HISTORY:", *[f for f in fam if f], "",
        "SOCIAL HISTORY:", f"{smoke.capitalize()}. " + ("Drinks alcohol socially." if rng.random() < 0.5 else "No alcohol use."),
        "",
        "REVIEW OF SYSTEMS:", f"Positive for {sym}. {ros_neg} No chest pain.", "",
        "PHYSICAL EXAMINATION:", "Alert, in no acute distress. Lungs with scattered rhonchi." if p.cancer_type == "lung"
        else "Alert, in no acute distress. Abdomen soft, nontender.", "",
        f"PERFORMANCE STATUS: ECOG {v.ecog}.", "",
        "LABS:", labs, "",
        "ASSESSMENT AND PLAN:", *plan,
    ]
    return NoteDoc(v.when, "Oncology Consultation", _pick(rng, catalog.CLINICIANS["oncology"]), "\n".join(body) + "\n",
                   "consult")


def _consult_plan(p: LatentPatient, c: Course, v: Visit, known: list[Call], rng: np.random.Generator) -> list[str]:
    out = [f"{_cap(_stage_phrase(p))} {_dx_phrase(p)}."]
    if p.stage == "IV":
        out.append("Metastatic disease: " + ", ".join(p.metastatic_sites) + ". Treatment intent is palliative.")
    if p.cancer_type == "lung" and p.oncotree != "SCLC":
        if not p.sequenced:
            out.append("- Send comprehensive molecular testing; if an EGFR mutation is found, would consider osimertinib.")
        if not p.pdl1_tested:
            out.append("- PD-L1 testing was not performed on the biopsy; will request.")
        out.append("- MRI brain to complete staging.")
    results_in = c.sequencing_report is not None and c.sequencing_report <= v.when
    needs_ngs = p.sequenced and p.targeted and p.cancer_type != "breast"
    if needs_ngs and not results_in:
        out.append("- Await sequencing results before choosing first-line therapy.")
    elif p.is_current:
        out.append(f"- Discuss options at tumor board; leading option {p.line1}.")
    else:
        out.append(f"- Proposed plan: {p.line1}.")
    out.append("- Present at multidisciplinary tumor board.")
    if p.germline_brca or any(rel for rel, can, _ in p.family_history if "ovarian" in can or "breast" in can):
        out.append("- Refer to genetics given family history.")
    if p.smoking == "current":
        out.append("- Smoking cessation counseling provided.")
    return out


def board(p: LatentPatient, c: Course, v: Visit, rng: np.random.Generator) -> NoteDoc:
    lines = ["MULTIDISCIPLINARY TUMOR BOARD", f"Date of conference: {fmt(c.board, rng)}",
             f"Diagnosis: {_stage_phrase(p)} {_dx_phrase(p)}.", f"ECOG {v.ecog}.", "",
             "DISCUSSION:", "Imaging and pathology were reviewed by radiology and pathology.",
             "", "RECOMMENDATION:", f"{_cap(p.line1)}."]
    if p.stage == "IV":
        lines.append("Restaging CT every 6 to 12 weeks on therapy.")
    return NoteDoc(c.board, "Tumor Board Note", _pick(rng, catalog.CLINICIANS["oncology"]), "\n".join(lines) + "\n", "board")


def progress(p: LatentPatient, c: Course, v: Visit, cycle: int, rng: np.random.Generator) -> NoteDoc:
    she, her, _ = _pronoun(p)
    regimen = v.on_treatment
    scan = v.study
    lines = ["INTERVAL HISTORY:"]
    if regimen in ORAL_CONTINUOUS:
        lines.append(f"Follow-up on {regimen}, visit {cycle}. {she} is tolerating treatment with grade 1 fatigue.")
    elif regimen:
        lines.append(f"Seen for cycle {cycle} of {regimen}. {she} is tolerating treatment with grade 1 fatigue.")
    else:
        lines.append(f"Seen for follow-up after {p.line1.split(',')[0]}. {she} feels well.")
    lines.append(_pick(rng, ["Denies fever, diarrhea or rash.", "No nausea or vomiting. Denies new pain.",
                             "No shortness of breath at rest. Denies chest pain."]))
    if scan is not None and (v.when - scan.when).days <= 35 and scan.when > c.board:
        gap = (v.when - scan.when).days
        when = f"last {scan.when:%A}" if 2 <= gap <= 8 else f"on {fmt(scan.when, rng)}"
        resp = {"PR": "showed continued partial response", "SD": "showed stable disease",
                "PD": "showed progression of disease", "NED": "showed no evidence of disease",
                None: "was reviewed"}[scan.response]
        lines.append(f"CT {when} {resp}.")
    lines += ["", "MEDICATIONS:", *(_dose(regimen) if regimen else []), *p.home_medications, "",
              f"ECOG: {v.ecog}", ""]
    if p.has_labs:
        alb = p.albumin + float(rng.normal(0, 0.15))
        lines += ["LABS:", f"Hemoglobin {p.hgb + float(rng.normal(-0.3, 0.4)):.1f} g/dL, albumin {alb:.1f} g/dL.", ""]
    lines += ["ASSESSMENT AND PLAN:"]
    if regimen:
        lines.append(f"Continue {regimen}. Next restaging CT in 6 to 8 weeks.")
    else:
        lines.append("Continue surveillance. No evidence of recurrence on examination.")
    return NoteDoc(v.when, "Oncology Progress Note", _pick(rng, catalog.CLINICIANS["oncology"]), "\n".join(lines) + "\n",
                   "progress")


def progression(p: LatentPatient, c: Course, v: Visit, rng: np.random.Generator) -> NoteDoc:
    she, her, _ = _pronoun(p)
    scan = v.study
    nxt = next((ln for ln in c.lines if ln.start >= (c.progression or v.when) and ln.kind == "medication"), None)
    lines = ["INTERVAL HISTORY:",
             f"{she} returns to discuss restaging." + (f" CT on {fmt(scan.when, rng)} demonstrates progression of disease."
                                                      if scan is not None else " Clinical progression is suspected."),
             "", f"ECOG: {v.ecog}", "", "ASSESSMENT AND PLAN:",
             f"Progressive {p.histology} after {p.line1.split(',')[0]}."]
    if nxt is not None:
        lines.append(f"Will discontinue current therapy and start {nxt.name} on {fmt(nxt.start, rng)}.")
        lines += ["", "MEDICATIONS:", *_dose(nxt.name)]
    else:
        lines.append("Discussed goals of care; referral to palliative care.")
    return NoteDoc(v.when, "Oncology Progress Note", _pick(rng, catalog.CLINICIANS["oncology"]), "\n".join(lines) + "\n",
                   "progression")


def death(p: LatentPatient, c: Course, v: Visit, rng: np.random.Generator) -> NoteDoc:
    she, her, _ = _pronoun(p)
    lines = ["DEATH NOTE", f"The patient died on {fmt(v.when, rng)} " +
             _pick(rng, ["at home with hospice.", "in the hospital after a decline in performance status.",
                         "in inpatient hospice."]),
             f"Cause of death: progressive metastatic {p.histology}."]
    return NoteDoc(v.when, "Death Note", _pick(rng, catalog.CLINICIANS["oncology"]), "\n".join(lines) + "\n", "death")

