"""Which OncoTree codes a knowledge-base disease name covers (CIViC Disease Ontology names, curated families).

Deliberately small: the cohort is lung, breast and colorectal; other cancers are mapped
coarsely so that evidence from them counts as *another indication*, never as this one.
"""
from __future__ import annotations

NSCLC = frozenset({"NSCLC", "LUAD", "LUSC", "LCLC", "NSCLCPD", "LUAS", "LUMEC", "LUPC", "SARCL", "LECLC"})
LUNG = NSCLC | {"SCLC", "LNET", "LUNG", "LUCA"}
BREAST = frozenset({"BRCA", "IDC", "ILC", "BRCNOS", "BRCANOS", "MBC", "IMMC", "BREAST", "MDLC", "BRCA_TNBC"})
COLORECTAL = frozenset({"COADREAD", "COAD", "READ", "MACR", "CRC", "SRCCR", "BOWEL"})
MELANOMA = frozenset({"MEL", "SKCM", "ACRM", "MUCM", "SKIN"})
THYROID = frozenset({"THPA", "THFO", "THAP", "THME", "THPD", "THHC", "THYROID"})
OVARY = frozenset({"OVT", "HGSOC", "LGSOC", "SOC", "OVARY", "OCS"})
STOMACH = frozenset({"STAD", "STOMACH", "EGC", "ESCA", "GEJ"})

# Families a curated table may name instead of listing codes.
FAMILIES: dict[str, frozenset[str]] = {
    "NSCLC": NSCLC, "LUNG": LUNG, "BREAST": BREAST, "COLORECTAL": COLORECTAL, "MELANOMA": MELANOMA,
    "THYROID": THYROID, "OVARY": OVARY, "STOMACH": STOMACH,
}
ANY = frozenset({"*"})  # tumour-agnostic evidence

CIVIC_DISEASES: dict[str, frozenset[str]] = {
    "Cancer": ANY,
    "Non-small Cell Lung Carcinoma": NSCLC, "Lung Adenocarcinoma": frozenset({"LUAD"}),
    "Bronchogenic Lung Adenocarcinoma": frozenset({"LUAD"}), "Lung Squamous Cell Carcinoma": frozenset({"LUSC"}),
    "Lung Small Cell Carcinoma": frozenset({"SCLC"}), "Lung Cancer": LUNG, "Lung Carcinoma": LUNG,
    "Breast Cancer": BREAST, "Her2-receptor Positive Breast Cancer": BREAST,
    "Estrogen-receptor Positive Breast Cancer": BREAST, "Triple-receptor Negative Breast Cancer": BREAST,
    "Colorectal Cancer": COLORECTAL, "Colorectal Adenocarcinoma": COLORECTAL, "Colon Cancer": COLORECTAL,
    "Colon Carcinoma": COLORECTAL, "Colon Adenocarcinoma": COLORECTAL, "Colon Mucinous Adenocarcinoma": COLORECTAL,
    "Melanoma": MELANOMA, "Skin Melanoma": MELANOMA, "Mucosal Melanoma": MELANOMA,
    "Uveal Melanoma": frozenset({"UM"}), "Thyroid Cancer": THYROID, "Thyroid Carcinoma": THYROID,
    "Papillary Thyroid Carcinoma": frozenset({"THPA"}), "Thyroid Medullary Carcinoma": frozenset({"THME"}),
    "Ovarian Cancer": OVARY, "Ovarian Carcinoma": OVARY, "Epithelial Ovarian Cancer": OVARY,
    "Ovarian Serous Carcinoma": OVARY, "Gastric Adenocarcinoma": STOMACH, "Stomach Cancer": STOMACH,
    "Stomach Carcinoma": STOMACH, "Acute Myeloid Leukemia": frozenset({"AML"}),
    "Gastrointestinal Stromal Tumor": frozenset({"GIST"}), "Prostate Cancer": frozenset({"PRAD"}),
    "Glioblastoma Multiforme": frozenset({"GBM"}), "Head And Neck Squamous Cell Carcinoma": frozenset({"HNSC"}),
    "Pancreas Adenocarcinoma": frozenset({"PAAD"}), "Pancreatic Cancer": frozenset({"PAAD"}),
    "Pancreatic Ductal Adenocarcinoma": frozenset({"PAAD"}), "Endometrial Cancer": frozenset({"UCEC"}),
    "Renal Cell Carcinoma": frozenset({"RCC", "CCRCC", "PRCC"}), "Bladder Carcinoma": frozenset({"BLCA"}),
    "Cholangiocarcinoma": frozenset({"CHOL", "IHCH", "EHCH"}), "Hairy Cell Leukemia": frozenset({"HCL"}),
}


def codes_for(name: str) -> frozenset[str]:
    """OncoTree codes a disease name (CIViC name or family name or a comma list of codes) covers."""
    name = name.strip()
    if name in CIVIC_DISEASES:
        return CIVIC_DISEASES[name]
    out: set[str] = set()
    for part in name.split(","):
        p = part.strip().upper()
        if p in ("*", "ANY", "ANY_SOLID", "PAN-CANCER"):
            return ANY
        out |= FAMILIES.get(p, frozenset({p}) if p else frozenset())
    return frozenset(out)


def covers(codes: frozenset[str], oncotree_code: str | None) -> bool:
    """True when a patient with ``oncotree_code`` is in the disease's indication."""
    if not oncotree_code:
        return False
    return "*" in codes or oncotree_code.strip().upper() in codes
