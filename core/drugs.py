"""Drug names: brand (and common abbreviation) -> generic, one table for the note NLP and FHIR coding."""
from __future__ import annotations

# Anticancer therapies and bone-targeted agents as they are written in notes; each key is also a
# therapy term of the note NLP (core.nlp.terms).
ONCOLOGY_BRANDS: dict[str, str] = {
    "tagrisso": "osimertinib", "tarceva": "erlotinib", "iressa": "gefitinib", "gilotrif": "afatinib",
    "alecensa": "alectinib", "xalkori": "crizotinib", "lorbrena": "lorlatinib", "alunbrig": "brigatinib",
    "lumakras": "sotorasib", "krazati": "adagrasib", "tafinlar": "dabrafenib", "mekinist": "trametinib",
    "tabrecta": "capmatinib", "tepmetko": "tepotinib", "retevmo": "selpercatinib", "gavreto": "pralsetinib",
    "keytruda": "pembrolizumab", "opdivo": "nivolumab", "tecentriq": "atezolizumab", "imfinzi": "durvalumab",
    "yervoy": "ipilimumab", "alimta": "pemetrexed", "taxol": "paclitaxel", "abraxane": "paclitaxel",
    "nab-paclitaxel": "paclitaxel", "taxotere": "docetaxel", "gemzar": "gemcitabine", "avastin": "bevacizumab",
    "erbitux": "cetuximab", "vectibix": "panitumumab", "xeloda": "capecitabine", "5-fu": "fluorouracil",
    "5-fluorouracil": "fluorouracil", "herceptin": "trastuzumab", "perjeta": "pertuzumab",
    "kadcyla": "trastuzumab emtansine", "t-dm1": "trastuzumab emtansine",
    "ado-trastuzumab emtansine": "trastuzumab emtansine", "trastuzumab emtansine": "trastuzumab emtansine",
    "enhertu": "trastuzumab deruxtecan", "t-dxd": "trastuzumab deruxtecan",
    "fam-trastuzumab deruxtecan": "trastuzumab deruxtecan", "trastuzumab deruxtecan": "trastuzumab deruxtecan",
    "ibrance": "palbociclib", "kisqali": "ribociclib", "verzenio": "abemaciclib", "piqray": "alpelisib",
    "lynparza": "olaparib", "trodelvy": "sacituzumab govitecan", "sacituzumab govitecan": "sacituzumab govitecan",
    "faslodex": "fulvestrant", "femara": "letrozole", "arimidex": "anastrozole", "aromasin": "exemestane",
    "braftovi": "encorafenib", "lonsurf": "trifluridine/tipiracil", "stivarga": "regorafenib",
    "zoledronic acid": "zoledronic acid", "xgeva": "denosumab", "rybrevant": "amivantamab",
}

# Supportive and other medications seen in FHIR MedicationRequests (not therapy terms of the NLP).
OTHER_BRANDS: dict[str, str] = {"lasix": "furosemide", "toprol": "metoprolol", "lupron": "leuprolide"}
BRAND_GENERIC: dict[str, str] = {**ONCOLOGY_BRANDS, **OTHER_BRANDS}
