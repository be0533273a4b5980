"""The oncology vocabulary matched in notes: each ``Term`` names its ``concept_type`` (the
``note_events`` vocabulary), the normalised ``concept`` written to the store and the phrases
that mention it.

Phrases are matched case-insensitively; ``exact`` words (``ER``, ``MET``, ``RET``, ``HTN``...)
are also ordinary words or other abbreviations and are matched on their exact spelling.
Diagnoses carry OncoTree codes where one exists, drugs their lower-case generic name.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.drugs import ONCOLOGY_BRANDS


class ConceptType:
    """The ``note_events.concept_type`` vocabulary."""

    DIAGNOSIS = "diagnosis"
    HISTOLOGY = "histology"
    STAGE = "stage"
    PROCEDURE = "procedure"
    THERAPY = "therapy"
    RESPONSE = "response"
    ECOG = "ecog"
    SMOKING = "smoking"
    BIOMARKER = "biomarker"
    SYMPTOM = "symptom"
    IMAGING_FINDING = "imaging_finding"
    METASTASIS = "metastasis"
    FAMILY_HISTORY = "family_history"


CONCEPT_TYPES = tuple(v for k, v in vars(ConceptType).items() if k.isupper())


@dataclass(frozen=True)
class Term:
    """One concept and the phrases that mention it.

    Attributes:
        concept_type: a ``ConceptType`` value (the entity label, upper-cased, in spaCy).
        concept: normalised name written to ``note_events.concept``.
        phrases: matched case-insensitively.
        exact: matched on exact spelling (short or ambiguous forms: "ER", "MET").
        implied: value the phrase itself carries ("MSI-H" -> "high").
        needs_value: emit only when a value was found next to it ("ER" alone may be the emergency room).
        regex: a regular expression instead of phrases (aligned to token boundaries).
    """

    concept_type: str
    concept: str
    phrases: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    implied: str | None = None
    needs_value: bool = False
    regex: str | None = None


def _t(concept_type: str, concept: str, *phrases: str, exact: tuple[str, ...] = (), implied: str | None = None,
       needs_value: bool = False, regex: str | None = None) -> Term:
    return Term(concept_type, concept, tuple(phrases), exact, implied, needs_value, regex)


D, H, ST, PR, TH, RS, EC, SM, BM, SY, IM, MT = (
    ConceptType.DIAGNOSIS, ConceptType.HISTOLOGY, ConceptType.STAGE, ConceptType.PROCEDURE, ConceptType.THERAPY,
    ConceptType.RESPONSE, ConceptType.ECOG, ConceptType.SMOKING, ConceptType.BIOMARKER, ConceptType.SYMPTOM,
    ConceptType.IMAGING_FINDING, ConceptType.METASTASIS)

# Diagnoses carry OncoTree codes where one exists; other conditions a lower-case name.
_DIAGNOSES: tuple[Term, ...] = (
    _t(D, "LUAD", "lung adenocarcinoma", "adenocarcinoma of the lung", "adenocarcinoma of lung",
       "pulmonary adenocarcinoma", "adenocarcinoma of the right lung", "adenocarcinoma of the left lung",
       "lung adenocarcinomas"),
    _t(D, "LUSC", "squamous cell carcinoma of the lung", "lung squamous cell carcinoma", "squamous cell lung cancer",
       "squamous cell lung carcinoma", "squamous NSCLC", "squamous non-small cell lung cancer"),
    _t(D, "NSCLC", "non-small cell lung cancer", "non small cell lung cancer", "non-small-cell lung cancer",
       "non-small cell lung carcinoma", "non small cell lung carcinoma", "NSCLC"),
    _t(D, "SCLC", "small cell lung cancer", "small-cell lung cancer", "small cell lung carcinoma",
       "small cell carcinoma of the lung", "SCLC"),
    _t(D, "LUNG", "lung cancer", "lung carcinoma", "lung malignancy", "lung primary"),
    _t(D, "IDC", "invasive ductal carcinoma", "infiltrating ductal carcinoma", exact=("IDC",)),
    _t(D, "ILC", "invasive lobular carcinoma", "infiltrating lobular carcinoma", exact=("ILC",)),
    _t(D, "DCIS", "ductal carcinoma in situ", exact=("DCIS",)),
    _t(D, "BRCA", "breast cancer", "breast carcinoma", "breast adenocarcinoma", "carcinoma of the breast",
       "triple negative breast cancer", "triple-negative breast cancer", "TNBC", "breast malignancy"),
    _t(D, "COAD", "colon cancer", "colon adenocarcinoma", "adenocarcinoma of the colon", "colonic adenocarcinoma",
       "carcinoma of the colon", "cecal adenocarcinoma", "sigmoid adenocarcinoma", "adenocarcinoma of the cecum",
       *(f"adenocarcinoma of the {part} colon" for part in ("sigmoid", "ascending", "descending", "transverse",
                                                            "right", "left")),
       *(f"{part} colon cancer" for part in ("sigmoid", "ascending", "descending", "transverse", "right", "left"))),
    _t(D, "READ", "rectal cancer", "rectal adenocarcinoma", "adenocarcinoma of the rectum", "carcinoma of the rectum"),
    _t(D, "COADREAD", "colorectal cancer", "colorectal adenocarcinoma", "colorectal carcinoma", exact=("CRC",)),
    _t(D, "PAAD", "pancreatic cancer", "pancreatic adenocarcinoma"),
    _t(D, "PRAD", "prostate cancer", "prostate adenocarcinoma"),
    _t(D, "OV", "ovarian cancer", "ovarian carcinoma"),
    _t(D, "MEL", "melanoma"),
    _t(D, "cancer", "cancer", "malignancy", "carcinoma"),
    _t(D, "stroke", "stroke", "CVA", "cerebrovascular accident"),
    _t(D, "type 2 diabetes", "type 2 diabetes", "type II diabetes", "type 2 diabetes mellitus",
       "type II diabetes mellitus", "type 2 dm", "type II DM", "T2DM", "diabetes mellitus", "diabetes"),
    _t(D, "hypertension", "hypertension", exact=("HTN",)),
    _t(D, "hyperlipidemia", "hyperlipidemia", exact=("HLD",)),
    _t(D, "copd", "COPD", "chronic obstructive pulmonary disease", "emphysema"),
    _t(D, "coronary artery disease", "coronary artery disease", exact=("CAD",)),
    _t(D, "atrial fibrillation", "atrial fibrillation", "afib", "a-fib"),
    _t(D, "heart failure", "heart failure", "congestive heart failure", exact=("CHF",)),
    _t(D, "pulmonary embolism", "pulmonary embolism", exact=("PE",)),
    _t(D, "deep vein thrombosis", "deep vein thrombosis", exact=("DVT",)),
    _t(D, "pancreatitis", "pancreatitis"),
    _t(D, "pneumonia", "pneumonia"),
    _t(D, "pneumonitis", "pneumonitis"),
    _t(D, "colitis", "colitis"),
    _t(D, "hypothyroidism", "hypothyroidism"),
    _t(D, "chronic kidney disease", "chronic kidney disease", exact=("CKD",)),
    _t(D, "depression", "depression"),
    _t(D, "dementia", "dementia"),
)

_HISTOLOGY: tuple[Term, ...] = (
    _t(H, "adenocarcinoma", "adenocarcinoma", "adenocarcinoma in situ"),
    _t(H, "squamous cell carcinoma", "squamous cell carcinoma", "squamous carcinoma"),
    _t(H, "small cell carcinoma", "small cell carcinoma", "small-cell carcinoma"),
    _t(H, "non-small cell carcinoma", "non-small cell carcinoma", "non small cell carcinoma",
       "non-small-cell carcinoma", exact=("NSCC",)),
    _t(H, "large cell carcinoma", "large cell carcinoma", "large cell neuroendocrine carcinoma"),
    _t(H, "mucinous adenocarcinoma", "mucinous adenocarcinoma", "mucinous carcinoma"),
    _t(H, "signet ring cell carcinoma", "signet ring cell carcinoma", "signet ring cell"),
    _t(H, "neuroendocrine tumor", "neuroendocrine tumor", "carcinoid tumor", "carcinoid"),
    _t(H, "ductal carcinoma", "ductal carcinoma"),
    _t(H, "lobular carcinoma", "lobular carcinoma"),
    _t(H, "carcinoma in situ", "carcinoma in situ"),
)

_STAGE: tuple[Term, ...] = (
    _t(ST, "stage", "stage", "stage group", "AJCC stage", "clinical stage", "pathologic stage", "pathological stage",
       needs_value=True),
    _t(ST, "stage", "limited stage", "limited-stage", implied="limited"),
    _t(ST, "stage", "extensive stage", "extensive-stage", implied="extensive"),
    # TNM written as one word or spaced: pT2aN1M0, cT1c N0 M0, ypT0 ypN0
    _t(ST, "TNM", regex=r"\b(?:[cpy]{1,2})?T(?:[0-4][a-d]?|is|x)\s?(?:[cpy]{1,2})?N(?:[0-3][a-c]?|x)"
                        r"(?:\s?(?:[cpy]{1,2})?M(?:[01][a-c]?|x))?\b"),
)

_PROCEDURES: tuple[Term, ...] = (
    _t(PR, "biopsy", "biopsy", "core biopsy", "core needle biopsy", "needle biopsy", "CT-guided biopsy",
       "CT guided biopsy", "excisional biopsy", "FNA", "fine needle aspiration", "biopsied"),
    _t(PR, "ebus", "EBUS", "endobronchial ultrasound", "EBUS-TBNA"),
    _t(PR, "bronchoscopy", "bronchoscopy"),
    _t(PR, "mediastinoscopy", "mediastinoscopy"),
    _t(PR, "lobectomy", "lobectomy", "right upper lobectomy", "left upper lobectomy", "right lower lobectomy",
       "left lower lobectomy", "VATS lobectomy"),
    _t(PR, "pneumonectomy", "pneumonectomy"),
    _t(PR, "wedge resection", "wedge resection"),
    _t(PR, "segmentectomy", "segmentectomy"),
    _t(PR, "mastectomy", "mastectomy", "double mastectomy", "bilateral mastectomy", "modified radical mastectomy"),
    _t(PR, "lumpectomy", "lumpectomy", "partial mastectomy", "breast conserving surgery"),
    _t(PR, "sentinel lymph node biopsy", "sentinel lymph node biopsy", "sentinel node biopsy", "SLNB"),
    _t(PR, "axillary lymph node dissection", "axillary lymph node dissection", "axillary dissection", "ALND"),
    _t(PR, "colectomy", "colectomy", "hemicolectomy", "right hemicolectomy", "left hemicolectomy",
       "sigmoid colectomy", "sigmoidectomy"),
    _t(PR, "low anterior resection", "low anterior resection", "abdominoperineal resection", exact=("LAR",)),
    _t(PR, "colonoscopy", "colonoscopy"),
    _t(PR, "ercp", "ERCP"),
    _t(PR, "sphincterotomy", "sphincterotomy"),
    _t(PR, "picc line", "PICC line", "PICC"),
    _t(PR, "port placement", "port placement", "port-a-cath placement", "mediport placement"),
    _t(PR, "thoracentesis", "thoracentesis"),
    _t(PR, "paracentesis", "paracentesis"),
    _t(PR, "pleurodesis", "pleurodesis"),
    _t(PR, "resection", "resection", "surgical resection", "tumor resection"),
    _t(PR, "surgery", "surgery"),
    _t(PR, "next-generation sequencing", "next-generation sequencing", "next generation sequencing", "NGS",
       "molecular profiling", "genomic profiling"),
)

_DRUGS = ("osimertinib erlotinib gefitinib afatinib dacomitinib amivantamab lazertinib alectinib crizotinib "
          "lorlatinib brigatinib ceritinib entrectinib larotrectinib repotrectinib sotorasib adagrasib dabrafenib "
          "trametinib encorafenib binimetinib capmatinib tepotinib selpercatinib pralsetinib pembrolizumab "
          "nivolumab atezolizumab durvalumab ipilimumab tremelimumab cemiplimab dostarlimab carboplatin cisplatin "
          "oxaliplatin pemetrexed paclitaxel docetaxel gemcitabine etoposide vinorelbine irinotecan topotecan "
          "lurbinectedin fluorouracil capecitabine leucovorin bevacizumab ramucirumab cetuximab panitumumab "
          "regorafenib trifluridine trastuzumab pertuzumab tucatinib lapatinib neratinib tamoxifen letrozole "
          "anastrozole exemestane fulvestrant elacestrant palbociclib ribociclib abemaciclib alpelisib capivasertib "
          "everolimus olaparib talazoparib sacituzumab doxorubicin cyclophosphamide eribulin goserelin "
          "leuprolide denosumab zoledronic").split()
_THERAPY: tuple[Term, ...] = (
    *(_t(TH, d, d) for d in _DRUGS if d not in {"trastuzumab", "sacituzumab", "zoledronic"}),
    _t(TH, "trastuzumab", "trastuzumab"),
    *(_t(TH, generic, brand) for brand, generic in ONCOLOGY_BRANDS.items()),
    _t(TH, "folfox", "FOLFOX", "mFOLFOX6", "FOLFOX6"),
    _t(TH, "folfiri", "FOLFIRI"),
    _t(TH, "folfirinox", "FOLFIRINOX"),
    _t(TH, "capox", "CAPOX", "XELOX", "CAPEOX"),
    _t(TH, "chemotherapy", "chemotherapy", "chemo", "chemoradiation", "chemoradiotherapy", "adjuvant chemotherapy",
       "neoadjuvant chemotherapy", "platinum doublet", "platinum-based chemotherapy"),
    _t(TH, "radiotherapy", "radiation", "radiation therapy", "radiotherapy", "XRT", "SBRT", "SRS",
       "stereotactic radiosurgery", "whole brain radiation", "WBRT", "palliative radiation", "IMRT"),
    _t(TH, "immunotherapy", "immunotherapy", "checkpoint inhibitor", "immune checkpoint inhibitor"),
    _t(TH, "endocrine therapy", "endocrine therapy", "hormone therapy", "hormonal therapy", "aromatase inhibitor"),
    _t(TH, "targeted therapy", "targeted therapy", "TKI", "tyrosine kinase inhibitor"),
)

_RESPONSE: tuple[Term, ...] = (
    _t(RS, "complete response", "complete response", "complete remission", "complete metabolic response",
       "complete pathologic response", "pathologic complete response", exact=("pCR",), implied="CR"),
    _t(RS, "partial response", "partial response", "partial remission", "partial metabolic response",
       implied="PR"),
    _t(RS, "stable disease", "stable disease", implied="SD"),
    _t(RS, "progressive disease", "progressive disease", "disease progression", "progression of disease",
       "progression", "progressed", "progressing", implied="PD"),
    _t(RS, "mixed response", "mixed response", implied="mixed"),
    _t(RS, "no evidence of disease", "no evidence of disease", "NED", implied="NED"),
    _t(RS, "recurrence", "recurrence", "recurrent disease", "relapse", implied="recurrence"),
)

_ECOG: tuple[Term, ...] = (
    _t(EC, "ECOG", "ECOG", "ECOG PS", "ECOG performance status", "performance status", "Zubrod",
       "WHO performance status", needs_value=True),
)

_SMOKING: tuple[Term, ...] = (
    _t(SM, "smoking", "smoker", "smokers", "smoking", "smokes", "smoked", "smoke", "tobacco", "tobacco use",
       "cigarettes", "cigarette", "pack-year", "pack-years", "pack year", "pack years", "packs per day", "ppd",
       "nonsmoker", "non-smoker", "ex-smoker", "never-smoker", "cigars", "vaping"),
)

_BIOMARKERS: tuple[Term, ...] = (
    _t(BM, "EGFR", "EGFR"),
    _t(BM, "ALK", "EML4-ALK", exact=("ALK",)),
    _t(BM, "ROS1", "ROS1", "ROS-1"),
    _t(BM, "KRAS", "KRAS"),
    _t(BM, "NRAS", "NRAS"),
    _t(BM, "BRAF", "BRAF"),
    _t(BM, "MET", "c-MET", exact=("MET",)),
    _t(BM, "RET", exact=("RET",)),
    _t(BM, "NTRK", "NTRK", "NTRK1", "NTRK2", "NTRK3"),
    _t(BM, "ERBB2", "ERBB2"),
    _t(BM, "HER2", "HER2", "HER-2", "HER2/neu", "HER-2/neu", "HER2neu"),
    _t(BM, "PIK3CA", "PIK3CA"),
    _t(BM, "ESR1", "ESR1"),
    _t(BM, "BRCA1", "BRCA1"),
    _t(BM, "BRCA2", "BRCA2"),
    _t(BM, "BRCA", "BRCA", "BRCA1/2"),
    _t(BM, "STK11", "STK11"),
    _t(BM, "KEAP1", "KEAP1"),
    _t(BM, "TP53", "TP53", "p53"),
    _t(BM, "APC", exact=("APC",), needs_value=True),
    _t(BM, "PD-L1", "PD-L1", "PDL1", "PD L1", "PDL-1", "programmed death ligand 1",
       "programmed death-ligand 1"),
    _t(BM, "ER", "estrogen receptor", "oestrogen receptor", exact=("ER",), needs_value=True),
    _t(BM, "PR", "progesterone receptor", exact=("PR", "PgR"), needs_value=True),
    _t(BM, "Ki-67", "Ki-67", "Ki67", "MIB-1"),
    _t(BM, "TTF-1", "TTF-1", "TTF1"),
    _t(BM, "napsin A", "napsin A", "napsin-A", "napsin"),
    _t(BM, "p40", "p40"),
    _t(BM, "CK7", "CK7"),
    _t(BM, "CK20", "CK20"),
    _t(BM, "CDX2", "CDX2", "CDX-2"),
    _t(BM, "MSI", "microsatellite instability", "microsatellite status", exact=("MSI",)),
    _t(BM, "MSI", "MSI-H", "MSI-high", "MSI high", "microsatellite instability-high",
       "microsatellite instability high", "microsatellite unstable", implied="high"),
    _t(BM, "MSI", "MSI-L", "MSI-low", implied="low"),
    _t(BM, "MSI", "microsatellite stable", "microsatellite-stable", exact=("MSS",), implied="stable"),
    _t(BM, "MMR", "mismatch repair", "MMR", "MMR proteins", "mismatch repair proteins"),
    _t(BM, "MMR", "dMMR", "mismatch repair deficient", "mismatch repair-deficient", "MMR-deficient",
       "MMR deficient", implied="deficient"),
    _t(BM, "MMR", "pMMR", "mismatch repair proficient", "mismatch repair-proficient", "MMR-proficient",
       "MMR proficient", implied="proficient"),
    _t(BM, "MLH1", "MLH1"),
    _t(BM, "MSH2", "MSH2"),
    _t(BM, "MSH6", "MSH6"),
    _t(BM, "PMS2", "PMS2"),
    _t(BM, "TMB", "TMB", "tumor mutational burden", "tumour mutational burden", "tumor mutation burden"),
    _t(BM, "TMB", "TMB-high", "TMB-H", "TMB high", implied="high"),
    _t(BM, "TMB", "TMB-low", "TMB-L", "TMB low", implied="low"),
    _t(BM, "CEA", "carcinoembryonic antigen", exact=("CEA",)),
    _t(BM, "CA 19-9", "CA 19-9", "CA19-9"),
    _t(BM, "CA 15-3", "CA 15-3", "CA15-3"),
)

_SYMPTOMS: tuple[Term, ...] = tuple(
    _t(SY, name, name, *alts) for name, *alts in (
        ("pain", "pain"), ("abdominal pain", "abd pain"), ("chest pain",), ("back pain",), ("bone pain",),
        ("headache", "headaches"), ("cough", "coughing"), ("hemoptysis",),
        ("dyspnea", "shortness of breath", "SOB", "dyspnea on exertion", "breathlessness"),
        ("wheezing",), ("fatigue", "tiredness", "malaise"), ("weight loss", "unintentional weight loss"),
        ("anorexia", "decreased appetite", "poor appetite", "loss of appetite"), ("nausea",), ("vomiting", "emesis"),
        ("diarrhea",), ("constipation",), ("fever", "fevers", "febrile"), ("chills",),
        ("night sweats",), ("dysphagia",), ("hoarseness",), ("rectal bleeding", "hematochezia", "blood in stool",
                                                             "bright red blood per rectum", "BRBPR"),
        ("melena",), ("jaundice",), ("neuropathy", "peripheral neuropathy", "numbness", "tingling"),
        ("rash",), ("edema", "swelling"), ("dizziness",), ("confusion",), ("seizure", "seizures"),
        ("weakness",), ("palpable mass", "breast lump", "lump"), ("nipple discharge",), ("mucositis",),
    )
)

_IMAGING: tuple[Term, ...] = (
    _t(IM, "mass", "mass", "masses", "spiculated mass", "lung mass", "pulmonary mass", "breast mass"),
    _t(IM, "nodule", "nodule", "nodules", "pulmonary nodule", "lung nodule", "spiculated nodule",
       "ground-glass nodule", "ground glass nodule", "part-solid nodule"),
    _t(IM, "lesion", "lesion", "lesions"),
    _t(IM, "lymphadenopathy", "lymphadenopathy", "adenopathy", "enlarged lymph node", "enlarged lymph nodes",
       "hilar lymphadenopathy", "mediastinal lymphadenopathy"),
    _t(IM, "pleural effusion", "pleural effusion", "pleural effusions", "effusion"),
    _t(IM, "pericardial effusion", "pericardial effusion"),
    _t(IM, "ascites", "ascites"),
    _t(IM, "opacity", "opacity", "opacities", "ground-glass opacity", "ground glass opacity", "GGO"),
    _t(IM, "consolidation", "consolidation"),
    _t(IM, "atelectasis", "atelectasis"),
    _t(IM, "calcification", "calcification", "calcifications", "microcalcifications"),
    _t(IM, "hypermetabolic focus", "hypermetabolic", "FDG-avid", "FDG avid", "hypermetabolic activity"),
    _t(IM, "pancreatic duct dilatation", "pancreatic duct dilatation", "pancreatic duct dilitation",
       "pancreatic ductal dilatation"),
    _t(IM, "bowel obstruction", "bowel obstruction", "small bowel obstruction", "SBO"),
)

_METASTASIS: tuple[Term, ...] = (
    _t(MT, "metastasis", "metastasis", "metastases", "metastatic disease", "metastatic", "mets",
       "metastatic lesion", "metastatic lesions", "metastatic focus", "distant metastasis", "distant metastases",
       "metastasized", "metastatic spread", "carcinomatosis", "peritoneal carcinomatosis", "leptomeningeal disease"),
)

# Phrases that contain a target word but are not that concept; matched so that the longer phrase wins, then dropped.
IGNORE = "_ignore"
_IGNORED: tuple[Term, ...] = (
    _t(IGNORE, IGNORE, "progression-free survival", "progression free survival", "time to progression",
       "risk of progression", "ECOG-ACRIN", "tumor board", "tumour board", "cancer center", "cancer centre",
       "cancer institute", "mass effect", "pain medication", "pain medications", "pain control",
       "smoke detector", "radiation oncology", "radiation oncologist", "surgical oncology", "stage of change",
       "staged", "chemo teaching", "family meeting"),
)

TERMS: tuple[Term, ...] = (_IGNORED + _DIAGNOSES + _HISTOLOGY + _STAGE + _PROCEDURES + _THERAPY + _RESPONSE
                           + _ECOG + _SMOKING + _BIOMARKERS + _SYMPTOMS + _IMAGING + _METASTASIS)
