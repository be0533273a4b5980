"""Code systems and the small code tables the FHIR mapping relies on.

Tables are deliberately small and explicit (lung, breast, colorectal and the
usual tumour markers); anything not listed falls back to keyword rules on the
display text, and the mapping says when it did.
"""
from __future__ import annotations

import re

from core.drugs import BRAND_GENERIC

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10_WHO = "http://hl7.org/fhir/sid/icd-10"
HGNC = "http://www.genenames.org"
AJCC = "http://cancerstaging.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
UCUM = "http://unitsofmeasure.org"

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
MCODE_PRIMARY = MCODE + "mcode-primary-cancer-condition"
MCODE_SECONDARY = MCODE + "mcode-secondary-cancer-condition"
MCODE_HISTOLOGY = MCODE + "mcode-histology-morphology-behavior"
MCODE_TUMOR_MARKER = MCODE + "mcode-tumor-marker"
MCODE_TUMOR_MARKER_TEST = MCODE + "mcode-tumor-marker-test"
MCODE_GENETIC_VARIANT = MCODE + "mcode-cancer-genetic-variant"
MCODE_STAGE_GROUP = MCODE + "mcode-cancer-stage-group"
MCODE_CLINICAL_STAGE_GROUP = MCODE + "mcode-tnm-clinical-stage-group"
MCODE_ECOG = MCODE + "mcode-ecog-performance-status"
MCODE_DISEASE_STATUS = MCODE + "mcode-cancer-disease-status"
MCODE_PATIENT = MCODE + "mcode-cancer-patient"
MCODE_MEDICATION_STATEMENT = MCODE + "mcode-cancer-related-medication-statement"
MCODE_SURGICAL_PROCEDURE = MCODE + "mcode-cancer-related-surgical-procedure"
MCODE_RADIATION_PROCEDURE = MCODE + "mcode-radiotherapy-course-summary"
MCODE_PROCEDURE_INTENT = MCODE + "mcode-procedure-intent"

# ---- observations ------------------------------------------------------------------
LOINC_TMB = "94076-7"
LOINC_MSI = {"81695-9", "62862-8"}         # MSI [Interpretation]; MSI [Presence] by immune stain
LOINC_STAGE_GROUP = {"21908-9": "clinical", "21902-2": "pathological"}
LOINC_TNM = {  # code -> (prefix, axis)
    "21905-5": ("c", "T"), "21906-3": ("c", "N"), "21907-1": ("c", "M"),
    "21899-0": ("p", "T"), "21900-6": ("p", "N"), "21901-4": ("p", "M"),
}
LOINC_ECOG = "89247-1"
LOINC_KARNOFSKY = "89243-0"
LOINC_DISEASE_STATUS = {"97509-4", "88040-1"}
LOINC_GENETIC_VARIANT = {"69548-6", "81247-9"}  # genetic variant assessment; master HL7 genetic variant reporting panel
# Oncology labs that count as labs even when a sender forgets the laboratory category.
LOINC_ONCOLOGY_LABS = {"2039-6", "6875-9", "24108-3", "2532-0", "83112-3", "19197-0", "2857-1"}

# Tumour markers (mCODE TumorMarkerTest): LOINC -> (name, method)
TUMOR_MARKERS: dict[str, tuple[str, str | None]] = {
    "16112-5": ("ER", None), "40556-3": ("ER", "IHC"), "85337-4": ("ER", "IHC"), "85310-1": ("ER", "IHC"),
    "16113-3": ("PR", None), "40557-1": ("PR", "IHC"), "85339-0": ("PR", "IHC"),
    "48676-1": ("HER2", None), "85319-2": ("HER2", "IHC"), "18474-7": ("HER2", "IHC"), "72382-5": ("HER2", "IHC"),
    "85318-4": ("HER2", "FISH"), "49683-6": ("HER2", "FISH"), "74860-8": ("HER2", "FISH"),
    "85147-7": ("PD-L1", "IHC 22C3"), "83052-1": ("PD-L1", "IHC 22C3"), "83054-7": ("PD-L1", "IHC 22C3"),
    "83055-4": ("PD-L1", "IHC 28-8"),
    "85330-9": ("Ki-67", "IHC"), "85329-1": ("Ki-67", "IHC"), "29593-1": ("Ki-67", "IHC"),
}
# Keyword fallbacks on the code's display/text, checked in order.
MARKER_KEYWORDS: tuple[tuple[str, str], ...] = (
    (r"\bestrogen receptor|\boestrogen receptor|\bER\b", "ER"),
    (r"\bprogesterone receptor|\bPR\b|\bPgR\b", "PR"),
    (r"\bHER2\b|\bERBB2\b|HER-2", "HER2"),
    (r"PD-?L1|\bCD274\b", "PD-L1"),
    (r"\bKi-?67\b|\bMKI67\b", "Ki-67"),
    (r"tumor mutation(al)? burden|\bTMB\b", "TMB"),
    (r"microsatellite|\bMSI\b", "MSI"),
)

# ---- result values ------------------------------------------------------------------
STATUS_CODES: dict[str, str] = {
    # SNOMED qualifier values
    "10828004": "positive", "260385009": "negative", "42425007": "equivocal", "82334004": "indeterminate",
    "280416009": "indeterminate", "52101004": "positive", "2667000": "negative",
    # LOINC answers
    "LA6576-8": "positive", "LA6577-6": "negative", "LA11884-6": "indeterminate", "LA15173-0": "equivocal",
    "LA9633-4": "positive", "LA9634-2": "negative",  # Present / Absent
    # v3 ObservationInterpretation
    "POS": "positive", "NEG": "negative", "IND": "indeterminate", "DET": "positive", "ND": "negative",
}
STATUS_WORDS: tuple[tuple[str, str], ...] = (
    (r"^\s*(not detected|absent|negative|neg\b)", "negative"),
    (r"^\s*(equivocal|borderline)", "equivocal"),
    (r"^\s*(indeterminate|inconclusive|undetermined)", "indeterminate"),
    (r"^\s*(detected|present|positive|pos\b)", "positive"),
)
MSI_WORDS: tuple[tuple[str, str, str], ...] = (  # pattern -> (status, canonical label)
    (r"msi-?h|instability[- ]high|high", "positive", "MSI-H"),
    (r"msi-?l|instability[- ]low|low", "negative", "MSI-L"),
    (r"mss|stable", "negative", "MSS"),
)

ECOG_ANSWERS = {"LA9622-7": 0, "LA9623-5": 1, "LA9624-3": 2, "LA9625-0": 3, "LA9626-8": 4, "LA9627-6": 5}

DISEASE_STATUS: dict[str, str] = {
    "268910001": "response", "359746009": "stable", "271299001": "progression", "709137006": "undetermined",
    "550991000124107": "response", "551001000124108": "response", "103338009": "response",
    "103337004": "response", "399409002": "progression",
}
DISEASE_STATUS_WORDS: tuple[tuple[str, str], ...] = (
    (r"worse|progress", "progression"), (r"improv|remission|respon", "response"),
    (r"stable", "stable"), (r"undetermined|indeterminate", "undetermined"),
)

# ---- genomics ---------------------------------------------------------------------
LOINC_GENE_STUDIED = "48018-6"
LOINC_HGVS_C = "48004-6"
LOINC_HGVS_P = "48005-3"
LOINC_HGVS_G = "81290-9"
LOINC_DISCRETE_VARIANT = "81252-9"
LOINC_ASSEMBLY = "62374-4"
LOINC_ALLELE_FREQ = "81258-6"
LOINC_GENOMIC_SOURCE = "48002-0"
ASSEMBLY_ANSWERS = {"LA14029-5": "GRCh37", "LA26806-2": "GRCh38"}
GENOMIC_SOURCE_ANSWERS = {"LA6684-0": "somatic", "LA6683-2": "germline"}

HGNC_SYMBOLS: dict[str, str] = {
    "HGNC:3467": "ESR1", "HGNC:8975": "PIK3CA", "HGNC:3236": "EGFR", "HGNC:6407": "KRAS",
    "HGNC:1097": "BRAF", "HGNC:427": "ALK", "HGNC:3430": "ERBB2", "HGNC:11998": "TP53",
    "HGNC:7989": "NRAS", "HGNC:10261": "ROS1", "HGNC:7029": "MET", "HGNC:9967": "RET",
    "HGNC:1100": "BRCA1", "HGNC:1101": "BRCA2", "HGNC:583": "APC", "HGNC:11389": "STK11",
    "HGNC:9588": "PTEN", "HGNC:9884": "RB1", "HGNC:8031": "NTRK1", "HGNC:7127": "MLH1",
    "HGNC:17635": "CD274",
}
GENE_NAMES: dict[str, str] = {  # HGNC approved names seen in real files (and a common misspelling)
    "estrogen receptor 1": "ESR1",
    "phosphatidylinositol-4,5-bisphosphate 3-kinase catalytic subunit alpha": "PIK3CA",
    "phosphatidylinositol-4,5-biphosphate 3-kinase catalytic subunit alpha": "PIK3CA",
    "epidermal growth factor receptor": "EGFR", "kras proto-oncogene, gtpase": "KRAS",
    "b-raf proto-oncogene, serine/threonine kinase": "BRAF", "tumor protein p53": "TP53",
}
SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,14}$")

# RefSeq chromosome accession versions: GRCh37 versions; GRCh38 is one more for every primary chromosome.
_GRCH37_NC_VERSION = {1: 10, 2: 11, 3: 11, 4: 11, 5: 9, 6: 11, 7: 13, 8: 10, 9: 11, 10: 10, 11: 9, 12: 11,
                      13: 10, 14: 8, 15: 9, 16: 9, 17: 10, 18: 9, 19: 9, 20: 10, 21: 8, 22: 10, 23: 10, 24: 9}


def build_from_refseq(accession: str) -> tuple[str, str | None]:
    """Chromosome and genome build of an ``NC_0000NN.V`` accession (build ``None`` if unknown)."""
    m = re.match(r"NC_0000(\d\d)\.(\d+)$", accession)
    if not m:
        return "", None
    n, ver = int(m.group(1)), int(m.group(2))
    chrom = {23: "X", 24: "Y"}.get(n, str(n))
    base = _GRCH37_NC_VERSION.get(n)
    build = "GRCh37" if ver == base else "GRCh38" if base is not None and ver == base + 1 else None
    return chrom, build


AA3 = {"Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
       "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
       "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*", "Sec": "U", "Xaa": "X"}
_AA3_RE = re.compile("|".join(AA3))


def protein_short(hgvsp: str) -> str:
    """HGVS protein change in one-letter notation: ``NP_000233.1:p.(Leu858Arg)`` -> ``p.L858R``."""
    s = hgvsp.strip().split(":")[-1]
    if not s.startswith("p."):
        s = "p." + s
    s = s.replace("(", "").replace(")", "")
    return _AA3_RE.sub(lambda m: AA3[m.group(0)], s)


# ---- diagnoses ---------------------------------------------------------------------
# SNOMED CT / ICD-10 -> (cancer_type, OncoTree code). Morphology refines lung and breast below.
SNOMED_ONCOTREE: dict[str, tuple[str, str]] = {
    # breast
    "254837009": ("breast", "BRCA"), "372064008": ("breast", "BRCA"), "408643008": ("breast", "IDC"),
    "278054005": ("breast", "ILC"), "353431000119107": ("breast", "BRCA"),
    # colorectal
    "363406005": ("colorectal", "COAD"), "109838007": ("colorectal", "COAD"), "93761005": ("colorectal", "COAD"),
    "363351006": ("colorectal", "READ"), "93984006": ("colorectal", "READ"),
    # lung (Synthea's NSCLC/SCLC codes included)
    "254637007": ("lung", "NSCLC"), "424132000": ("lung", "NSCLC"), "425048006": ("lung", "NSCLC"),
    "422968005": ("lung", "NSCLC"), "423121009": ("lung", "NSCLC"), "254632001": ("lung", "SCLC"),
    "67811000119102": ("lung", "SCLC"), "67821000119109": ("lung", "SCLC"), "67831000119107": ("lung", "SCLC"),
    "67841000119103": ("lung", "SCLC"), "254626006": ("lung", "LUAD"), "254634000": ("lung", "LUSC"),
    "363358000": ("lung", "LUNG"), "93880001": ("lung", "LUNG"),
}
ICD10_ONCOTREE: tuple[tuple[str, tuple[str, str]], ...] = (  # prefix match, most specific first
    ("C50", ("breast", "BRCA")), ("C18", ("colorectal", "COAD")), ("C19", ("colorectal", "COADREAD")),
    ("C20", ("colorectal", "READ")), ("C34", ("lung", "LUNG")),
)
CANCER_WORDS = re.compile(r"malignan|carcinoma|cancer|sarcoma|lymphoma|leuk[a]?emia|melanoma|myeloma|"
                          r"neoplasm of .*(lung|breast|colon|rectum)", re.I)
SECONDARY_WORDS = re.compile(r"secondary malignant|metasta", re.I)
BENIGN_WORDS = re.compile(r"benign|in situ|polyp|history of|screening", re.I)


def oncotree_from_text(text: str) -> tuple[str, str | None]:
    """(cancer_type, OncoTree code) from a diagnosis or histology text; ``('other', None)`` if no rule fits."""
    t = text.lower()
    if "lung" in t or "bronch" in t:
        if "non-small" in t or "non small" in t:
            code = "NSCLC"
        elif "small cell" in t:
            code = "SCLC"
        else:
            code = "LUNG"
        if "adenocarcinoma" in t:
            code = "LUAD"
        elif "squamous" in t:
            code = "LUSC"
        return "lung", code
    if "breast" in t:
        if "lobular" in t:
            return "breast", "ILC"
        if "duct" in t:
            return "breast", "IDC"
        return "breast", "BRCA"
    if "rect" in t and "colo" not in t:
        return "colorectal", "READ"
    if "colon" in t or "colorectal" in t or "cecum" in t or "sigmoid" in t:
        return "colorectal", "COAD"
    return "other", None


def refine_with_histology(cancer_type: str, oncotree: str | None, histology: str | None) -> str | None:
    """Use morphology to refine a site-level code (lung adenocarcinoma -> LUAD, lobular breast -> ILC)."""
    if not histology:
        return oncotree
    h = histology.lower()
    if cancer_type == "lung" and oncotree in ("LUNG", "NSCLC"):
        if "adenocarcinoma" in h:
            return "LUAD"
        if "squamous" in h:
            return "LUSC"
        if "small cell" in h and "non" not in h:
            return "SCLC"
    if cancer_type == "breast" and oncotree == "BRCA":
        if "lobular" in h:
            return "ILC"
        if "duct" in h:
            return "IDC"
    return oncotree


# ---- staging ---------------------------------------------------------------------------
_ROMAN = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV"}
_STAGE_RE = re.compile(r"^(?:AJCC\s*)?(?:STAGE\s*)?(0|IV|III|II|I|[0-4])([ABC]\d?)?$")


def normalise_stage(text: str | None) -> str | None:
    """AJCC stage group as Roman numerals: ``3C`` / ``Stage IIIC`` -> ``IIIC``; ``None`` if not a stage group."""
    if not text:
        return None
    t = re.sub(r"\s+", " ", str(text).strip().upper()).replace("STAGE ", "STAGE")
    t = t.replace("STAGE", "STAGE ").strip()
    m = _STAGE_RE.match(t.replace(" ", "")) or _STAGE_RE.match(t)
    if not m:
        return None
    return _ROMAN.get(m.group(1), m.group(1)) + (m.group(2) or "")


def stage_code(stage: str) -> str:
    """cancerstaging.org code of a Roman stage group: ``IIIC`` -> ``3C``."""
    m = re.match(r"^(IV|III|II|I|0)(.*)$", stage)
    if not m:
        raise ValueError(f"not an AJCC stage group: {stage!r}")
    arabic = {"0": "0", "I": "1", "II": "2", "III": "3", "IV": "4"}[m.group(1)]
    return arabic + m.group(2)


# ---- treatments -------------------------------------------------------------------------
RADIATION_WORDS = re.compile(r"radiation|radiotherapy|brachytherapy|teletherapy|stereotactic|external beam|"
                             r"\bSBRT\b|\bIMRT\b", re.I)
ADMIN_PROCEDURES = {"428191000124101"}  # "Documentation of current medications": not a treatment
_DOSE_FORM = re.compile(
    r"\b(\d[\d.,/]*|mg|ml|mcg|hr|unt|injectable|injetable|injection|oral|tablet|capsule|solution|suspension|"
    r"product|extended|release|delayed|chewable|topical|cream|prefilled|syringe|pen|kit|pack|powder|"
    r"for|vial|infusion|intravenous|subcutaneous|transdermal|patch|inhal\w*)\b.*$")


def generic_drug_name(display: str) -> str:
    """Generic lower-case drug name from an RxNorm display.

    ``10 ML oxaliplatin 5 MG/ML Injection`` -> ``oxaliplatin``;
    ``24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]`` -> ``metoprolol succinate``.
    """
    t = display.replace("\u200b", "").strip().lower()
    brand = re.search(r"\[([^\]]+)\]", t)
    t = re.sub(r"\[[^\]]*\]", " ", t)
    t = re.sub(r"^(\s*[\d.,/]+\s*(ml|hr|mg|actuat|unt)\b)+", " ", t).strip()  # leading "10 ML", "24 HR"
    t = _DOSE_FORM.sub("", t).strip(" ,;-")
    t = re.sub(r"\s+", " ", t)
    if not t and brand:
        t = brand.group(1).strip()
    if not t:
        t = display.strip().lower()
    first = t.split(" ")[0]
    if first in BRAND_GENERIC:
        return BRAND_GENERIC[first]
    return t
