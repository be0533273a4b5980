"""The feature registry: every model input with its modality, meaning and unit, plus display helpers."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

MODALITIES: tuple[str, ...] = ("imaging", "notes", "genomics", "clinical")  # labs are part of clinical
N_EMBEDDING_PCS = 8
GENES: tuple[str, ...] = ("EGFR", "KRAS", "ALK", "BRAF", "TP53", "STK11", "KEAP1", "PIK3CA", "ERBB2",
                          "BRCA1", "BRCA2", "NRAS", "ESR1", "APC", "RB1", "MET")
SENSITIVE_LEVELS = ("1", "2", "3A", "LEVEL_1", "LEVEL_2", "LEVEL_3A")
MARGIN_SCORE = {"smooth": 0.0, "well-defined": 0.0, "circumscribed": 0.0, "lobulated": 1.0,
                "irregular": 2.0, "spiculated": 2.0, "ill-defined": 2.0}
# lab feature -> (LOINC codes, name fragments)
LABS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "clin_lab_albumin": (("1751-7",), ("albumin",), "g/dL"),
    "clin_lab_ldh": (("2532-0", "14804-9"), ("lactate dehydrogenase", "ldh"), "U/L"),
    "clin_lab_hemoglobin": (("718-7",), ("hemoglobin", "haemoglobin"), "g/dL"),
    "clin_lab_cea": (("2039-6",), ("carcinoembryonic", "cea"), "ng/mL"),
    "clin_lab_ca15_3": (("6875-9",), ("ca 15-3", "ca15-3"), "U/mL"),
}
LAB_LOOKBACK_DAYS = 180
# Not a model input: how unusual the patient's imaging embedding is (percentile among the
# projection's fitting patients), used by the out-of-distribution review trigger.
OOD_COLUMN = "imaging_ood_percentile"
FIT_PROJECTION = "fit"  # patient_features: fit the embedding PCA on the store


@dataclass(frozen=True)
class Feature:
    """One model input: its modality, meaning and unit."""

    name: str
    modality: str
    description: str
    unit: str = ""
    kind: str = "numeric"   # numeric / binary (1 yes, 0 no) / ordinal / count


def _features() -> tuple[Feature, ...]:
    f: list[Feature] = []
    for i in range(1, N_EMBEDDING_PCS + 1):
        f.append(Feature(f"img_emb_pc{i}", "imaging", f"principal component {i} of the image-encoder embedding "
                                                      "(latest study, mean over series)"))
    f += [
        Feature("img_max_long_axis_mm", "imaging", "largest lesion long axis at the latest measured study", "mm"),
        Feature("img_sum_long_axis_mm", "imaging", "sum of lesion long axes at the latest measured study", "mm"),
        Feature("img_n_lesions", "imaging", "number of measured lesions at the latest study", kind="count"),
        Feature("img_margin_score", "imaging", "worst lesion margin: 0 smooth, 1 lobulated, 2 spiculated/irregular",
                kind="ordinal"),
        Feature("img_growth_per_month", "imaging", "log change of the sum of long axes per month since the "
                                                   "previous measured study (NaN with one study)", "log/month"),
        Feature("note_ecog", "notes", "latest ECOG performance status mentioned in notes (0-4)", kind="ordinal"),
        Feature("note_weight_loss", "notes", "weight loss affirmed in notes (1) or not (0)", kind="binary"),
        Feature("note_n_symptoms", "notes", "distinct current symptoms affirmed in notes (negated, family and "
                                            "hypothetical mentions excluded)", kind="count"),
        Feature("note_smoking_status", "notes", "smoking status from notes: 0 never, 1 former, 2 current",
                kind="ordinal"),
        Feature("note_pack_years", "notes", "smoking pack-years from notes (never smoker = 0)", "pack-years"),
        Feature("note_pdl1_tps", "notes", "PD-L1 tumour proportion score reported in a note", "%"),
        Feature("note_er_positive", "notes", "oestrogen receptor positive per pathology note", kind="binary"),
        Feature("note_her2_positive", "notes", "HER2 positive per pathology note", kind="binary"),
    ]
    for g in GENES:
        f.append(Feature(f"gen_{g}", "genomics", f"{g} altered (1), tested and not altered (0), not tested (NaN)",
                         kind="binary"))
    f += [
        Feature("gen_actionable_driver", "genomics", "any variant with a sensitivity actionability level 1-3A",
                kind="binary"),
        Feature("gen_n_variants", "genomics", "number of reported non-silent variants", kind="count"),
        Feature("gen_tmb", "genomics", "tumour mutational burden from sequencing", "mut/Mb"),
        Feature("gen_msi_high", "genomics", "MSI-high by sequencing (1), stable (0), not reported (NaN)",
                kind="binary"),
        Feature("clin_age_years", "clinical", "age at the index date", "years"),
        Feature("clin_female", "clinical", "sex female (1) / male (0)", kind="binary"),
        Feature("clin_stage", "clinical", "stage group I-IV as 1-4", kind="ordinal"),
        Feature("clin_lung", "clinical", "cancer type lung", kind="binary"),
        Feature("clin_breast", "clinical", "cancer type breast", kind="binary"),
        Feature("clin_colorectal", "clinical", "cancer type colorectal", kind="binary"),
        Feature("clin_small_cell", "clinical", "small cell histology (SCLC)", kind="binary"),
        Feature("clin_squamous", "clinical", "squamous histology (LUSC)", kind="binary"),
        Feature("clin_er_positive", "clinical", "oestrogen receptor positive (structured record)", kind="binary"),
        Feature("clin_her2_positive", "clinical", "HER2 positive (structured record)", kind="binary"),
        Feature("clin_pdl1_tps", "clinical", "PD-L1 tumour proportion score (structured record)", "%"),
    ]
    for name, (_, frags, unit) in LABS.items():
        f.append(Feature(name, "clinical", f"latest {frags[0]} within {LAB_LOOKBACK_DAYS} days", unit))
    return tuple(f)


FEATURES: tuple[Feature, ...] = _features()
FEATURE_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}


def feature_names(modality: str | None = None) -> list[str]:
    """Feature columns (of one modality, or all) in registry order."""
    return [f.name for f in FEATURES if modality is None or f.modality == modality]


def presence_column(modality: str) -> str:
    return f"present_{modality}"


def feature_display(name: str, value: float | None) -> str:
    """Human-readable value of a feature for attributions ('not tested', 'stage IV', '38 mm')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not tested" if name.startswith("gen_") else "missing"
    f = FEATURE_BY_NAME.get(name)
    if name == "clin_stage":
        return {1.0: "I", 2.0: "II", 3.0: "III", 4.0: "IV"}.get(float(value), f"{value:g}")
    if name == "note_smoking_status":
        return {0.0: "never", 1.0: "former", 2.0: "current"}.get(float(value), f"{value:g}")
    if f is not None and f.kind == "binary":
        if name.startswith("gen_") and name[4:] in GENES:
            return "altered" if value else "not altered"
        return "yes" if value else "no"
    if f is not None and f.kind in ("count", "ordinal"):
        return f"{value:g}"
    unit = f.unit if f is not None and f.unit != "log/month" else ""
    return f"{value:.3g}" + (f" {unit}" if unit else "")


def as_matrix(features: pl.DataFrame, names: list[str]) -> np.ndarray:
    """Float64 matrix of ``names`` (rows follow ``features``), NaN kept."""
    return features.select(names).to_numpy().astype(np.float64)
