"""Treatment and outcome of a synthetic patient: a hazard with partial signal from every modality.

Time to progression and death are Weibull draws whose scale comes from the patient's
subgroup (COHORT.md median PFS / OS for metastatic disease, stretched for earlier
stages) and whose log hazard adds one term per modality:

* imaging: lesion size, margin (spiculated > lobulated > smooth), texture heterogeneity, growth
* notes: ECOG, weight loss, symptom burden
* genomics: TP53, STK11, KEAP1 (BRAF V600E colorectal and known targetable drivers act via the subgroup)
* clinical: age (stage acts via the scale)
* labs: albumin, LDH, CEA

Each term is centred on its cohort median so the subgroup medians hold on average.
A model that sees all modalities can therefore beat any single one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy.special import ndtr

from core.synth import catalog
from core.synth.cohort import LatentPatient

PFS_SHAPE = 1.25
OS_SHAPE = 1.35


@dataclass(frozen=True)
class Subgroup:
    label: str
    pfs_months: float     # median, metastatic
    os_months: float
    line1: str
    line2: str


# COHORT.md "What happens to them"; where a range or "—" was given, the value picked is noted.
SUBGROUPS: dict[str, Subgroup] = {s.label: s for s in (
    Subgroup("lung_egfr_osimertinib", 18, 39, "osimertinib", "carboplatin + pemetrexed"),
    Subgroup("lung_alk_alectinib", 35, 72, "alectinib", "lorlatinib"),                 # OS "—": picked 72
    Subgroup("lung_other_targeted", 14, 30, "", "carboplatin + pemetrexed"),          # ROS1/RET/BRAF/MET: not in COHORT
    Subgroup("lung_pdl1high_pembrolizumab", 9, 26, "pembrolizumab", "carboplatin + pemetrexed"),  # PFS 8-10: 9
    Subgroup("lung_chemo", 5, 12, "carboplatin + pemetrexed + pembrolizumab", "docetaxel"),
    Subgroup("lung_sclc", 5, 10, "carboplatin + etoposide + atezolizumab", "lurbinectedin"),  # not in COHORT
    Subgroup("breast_hrpos_cdk46", 25, 60, "palbociclib + letrozole", "fulvestrant"),
    Subgroup("breast_her2pos_dual", 18, 57, "pertuzumab + trastuzumab + docetaxel", "trastuzumab deruxtecan"),
    Subgroup("breast_tnbc", 6, 18, "carboplatin + paclitaxel", "sacituzumab govitecan"),
    Subgroup("crc_msih_pembrolizumab", 16, 60, "pembrolizumab", "FOLFOX"),            # OS "—": picked 60
    Subgroup("crc_braf", 5, 14, "FOLFOXIRI + bevacizumab", "encorafenib + cetuximab"),  # PFS 4-6: 5, OS 12-20: 14
    Subgroup("crc_chemo", 10, 30, "FOLFOX + bevacizumab", "FOLFIRI + bevacizumab"),
)}
# Earlier stages: progression is recurrence, much later; (PFS multiplier, OS multiplier).
STAGE_STRETCH = {"I": (12.0, 8.0), "II": (6.0, 4.5), "III": (2.8, 2.2), "IV": (1.0, 1.0)}
# Mean of each modality's raw term over stage IV patients of a 100,000-patient draw (seed 0): the centring.
TERM_CENTRE: dict[str, dict[str, float]] = {
    "lung": {"imaging": 0.2244, "notes": 0.3993, "genomics": 0.1488, "clinical": -0.0009, "labs": 0.1612},
    "breast": {"imaging": 0.2177, "notes": 0.3338, "genomics": 0.0535, "clinical": -0.0011, "labs": 0.1399},
    "colorectal": {"imaging": 0.0941, "notes": 0.3653, "genomics": 0.0931, "clinical": -0.0021, "labs": 0.4074},
}
# Population medians differ from the median of an individual's curve (the hazard varies between
# patients): factors fitted once so stage IV subgroup medians match the table above (100,000 draws, seed 0).
CALIBRATION: dict[str, tuple[float, float]] = {
    "breast_her2pos_dual": (1.153, 1.109), "breast_hrpos_cdk46": (1.03, 0.977), "breast_tnbc": (1.222, 1.019),
    "crc_braf": (0.926, 0.86), "crc_chemo": (1.027, 1.001), "crc_msih_pembrolizumab": (0.987, 1.114),
    "lung_alk_alectinib": (1.059, 0.974), "lung_chemo": (1.121, 1.074), "lung_egfr_osimertinib": (0.97, 0.925),
    "lung_other_targeted": (1.029, 0.957), "lung_pdl1high_pembrolizumab": (1.117, 1.046), "lung_sclc": (1.124, 1.05),
}
SIZE_REF_MM = {"lung": 35.0, "breast": 28.0, "colorectal": 40.0}


def detectable(p: LatentPatient, driver: str) -> bool:
    """Would this patient's panel report ``driver``? (gene on panel; fusions/CNAs need a panel that calls them)."""
    if not p.sequenced or p.panel is None:
        return False
    gene = driver.split(" ")[0]
    if gene not in catalog.PANELS[p.panel]:
        return False
    if driver.endswith("fusion"):
        return "fusion" in catalog.PANEL_CALLS[p.panel]
    if driver.endswith("amplification"):
        return "amplification" in catalog.PANEL_CALLS[p.panel]
    return True


def driver_known(p: LatentPatient, driver: str) -> bool:
    """Known to the treating team by board time: detected by sequencing, or by IHC / FISH."""
    if detectable(p, driver):
        return True
    if driver == "ALK fusion" and p.alk_ihc_tested:
        return True
    if driver == "ERBB2 amplification" and p.cancer_type == "breast":
        return True  # HER2 IHC / FISH on every breast cancer
    return False


def msi_known(p: LatentPatient) -> bool:
    return p.mmr_ihc_tested or (p.sequenced and p.panel is not None and "msi" in catalog.PANEL_CALLS[p.panel])


def choose_subgroup(p: LatentPatient) -> tuple[str, str, bool]:
    """(subgroup label, first-line regimen, targeted?) from what is known at board time."""
    known = [d for d in p.drivers if driver_known(p, d)]
    genes = {d.split(" ")[0] for d in known}
    if p.cancer_type == "lung":
        if p.oncotree == "SCLC":
            return "lung_sclc", SUBGROUPS["lung_sclc"].line1, False
        if "EGFR" in genes:
            return "lung_egfr_osimertinib", "osimertinib", True
        if "ALK" in genes:
            return "lung_alk_alectinib", "alectinib", True
        for gene, drug in (("ROS1", "crizotinib"), ("RET", "selpercatinib"), ("BRAF", "dabrafenib + trametinib"),
                           ("MET", "capmatinib")):
            if gene in genes:
                return "lung_other_targeted", drug, True
        if p.pdl1_tested and (p.pdl1_tps or 0) >= 50:
            return "lung_pdl1high_pembrolizumab", "pembrolizumab", False
        chemo = "carboplatin + pemetrexed + pembrolizumab" if p.oncotree != "LUSC" else "carboplatin + paclitaxel + pembrolizumab"
        return "lung_chemo", chemo, False
    if p.cancer_type == "breast":
        if p.her2_amplified:
            return "breast_her2pos_dual", SUBGROUPS["breast_her2pos_dual"].line1, True
        if (p.er_pct or 0) > 0:
            return "breast_hrpos_cdk46", SUBGROUPS["breast_hrpos_cdk46"].line1, True
        return "breast_tnbc", SUBGROUPS["breast_tnbc"].line1, False
    if p.msi_high and msi_known(p):
        return "crc_msih_pembrolizumab", "pembrolizumab", True
    if p.has_driver("BRAF"):
        return "crc_braf", SUBGROUPS["crc_braf"].line1, False
    ras = any(g in genes for g in ("KRAS", "NRAS"))
    left = p.primary_site in ("descending colon", "sigmoid colon", "rectum")
    if not ras and left and p.sequenced:
        return "crc_chemo", "FOLFOX + panitumumab", True
    return "crc_chemo", "FOLFOX + bevacizumab", False


def early_stage_plan(p: LatentPatient) -> str:
    """First treatment of stage I-III disease (the metastatic subgroup still sets the biology)."""
    if p.cancer_type == "lung":
        if p.oncotree == "SCLC":
            return "cisplatin + etoposide with concurrent thoracic radiation"
        if p.stage == "III":
            return "carboplatin + paclitaxel with concurrent radiation, then durvalumab"
        return "lobectomy" + (", then adjuvant osimertinib" if p.subgroup == "lung_egfr_osimertinib" else
                              ", then adjuvant cisplatin + vinorelbine" if p.stage == "II" else "")
    if p.cancer_type == "breast":
        if p.subgroup == "breast_her2pos_dual":
            return "neoadjuvant docetaxel + carboplatin + trastuzumab + pertuzumab, then surgery"
        if p.subgroup == "breast_tnbc":
            return "neoadjuvant pembrolizumab + carboplatin + paclitaxel, then surgery"
        endocrine = "tamoxifen" if p.age_years < 50 else "anastrozole"
        return f"lumpectomy and radiation, then adjuvant {endocrine}" if p.stage == "I" else \
            f"mastectomy, then adjuvant doxorubicin + cyclophosphamide, then paclitaxel, then {endocrine}"
    if p.primary_site == "rectum":
        return "neoadjuvant capecitabine with radiation, then low anterior resection"
    return "colectomy" + (", then adjuvant CAPOX" if p.stage == "III" else "")


def hazard_terms(p: LatentPatient) -> dict[str, float]:
    """Log-hazard contribution of each modality, centred per cancer type."""
    raw = {
        "imaging": 0.55 * math.log(p.lesion_size_mm / SIZE_REF_MM[p.cancer_type])
        + {"smooth": -0.25, "lobulated": 0.0, "spiculated": 0.35}[p.margin]
        + 0.9 * (p.heterogeneity - 0.45)
        + 2.2 * (p.growth_per_month - 0.14),
        "notes": {0: -0.25, 1: 0.05, 2: 0.55, 3: 0.95}[min(p.ecog, 3)]
        + (0.3 if p.weight_loss_pct > 5 else 0.0) + 0.08 * max(len(p.symptoms) - 1, 0),
        "genomics": (0.15 if any(x.startswith("TP53") for x in p.passengers) else 0.0)
        + (0.4 if any(x.startswith("STK11") for x in p.passengers) else 0.0)
        + (0.2 if any(x.startswith("KEAP1") for x in p.passengers) else 0.0),
        "clinical": 0.015 * (p.age_years - {"lung": 70, "breast": 62, "colorectal": 67}[p.cancer_type]),
        "labs": -0.55 * (p.albumin - 3.85) + 0.45 * math.log(p.ldh / 210)
        + (0.15 * math.log(max(p.cea, 1.0) / 5.0) if p.cancer_type == "colorectal" else 0.0),
    }
    centre = TERM_CENTRE[p.cancer_type]
    return {k: round(v - centre[k], 4) for k, v in raw.items()}


def assign_outcome(p: LatentPatient, seed: int, ref: date) -> None:
    """Set subgroup, treatment, latent PFS / OS (months from the board date) and the observed window."""
    rng = np.random.default_rng([seed, p.idx, 7])
    p.subgroup, p.line1, p.targeted = choose_subgroup(p)
    p.driver_known = any(driver_known(p, d) for d in p.drivers)
    sg = SUBGROUPS[p.subgroup]
    p.line2 = sg.line2
    if p.subgroup == "lung_chemo" and any(d == "KRAS p.G12C" and driver_known(p, d) for d in p.drivers):
        p.line2 = "sotorasib"
    if p.subgroup == "breast_hrpos_cdk46" and p.has_driver("ESR1"):
        p.line2 = "elacestrant"
    if p.subgroup == "crc_braf" and not driver_known(p, "BRAF p.V600E"):
        p.line2 = "FOLFIRI + bevacizumab"
    p.metastatic_line1 = p.line1
    if p.stage != "IV":
        p.line1 = early_stage_plan(p)
    p.lp_terms = hazard_terms(p)
    lp = sum(p.lp_terms.values())
    stretch_pfs, stretch_os = STAGE_STRETCH[p.stage]
    if p.oncotree == "SCLC" and p.stage != "IV":
        stretch_pfs, stretch_os = 2.5, 2.0
    z1 = rng.normal()
    z2 = 0.7 * z1 + math.sqrt(1 - 0.49) * rng.normal()
    u1, u2 = float(ndtr(z1)), float(ndtr(z2))
    fix_pfs, fix_os = CALIBRATION.get(p.subgroup, (1.0, 1.0))
    pfs = _weibull(sg.pfs_months * stretch_pfs * fix_pfs, PFS_SHAPE, lp, u1)
    os_ = _weibull(sg.os_months * stretch_os * fix_os, OS_SHAPE, 1.1 * lp, u2)
    if os_ < pfs:
        pfs = os_  # death before progression: a PFS event too
    p.pfs_months, p.os_months = round(pfs, 2), round(os_, 2)
    # deeper responses go with longer PFS
    base = 0.5 if p.targeted else 0.3
    rel = math.log(max(pfs, 0.3) / max(sg.pfs_months * stretch_pfs, 0.3))
    p.response_depth = min(max(base + 0.12 * math.tanh(rel) + rng.normal(0, 0.1), 0.0), 0.85)
    if p.is_current:
        p.followup_months = 0.0
        p.pfs_event = p.os_event = False
        return
    cut = ref - timedelta(days=3)
    lost = rng.exponential(12 / 0.04)  # loss to follow-up ~4% a year
    window = min((cut - p.board_date).days / 30.4375, lost)
    p.followup_months = round(window, 2)
    p.pfs_event = p.pfs_months <= window
    p.os_event = p.os_months <= window


def _weibull(median: float, shape: float, lp: float, u: float) -> float:
    scale = median / math.log(2) ** (1 / shape)
    return scale * (-math.log(max(u, 1e-12)) / math.exp(lp)) ** (1 / shape)
