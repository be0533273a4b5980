"""Shared vocabulary for biomarker mentions and results (features and discrepancy detection)."""
from __future__ import annotations

import re

_BIOMARKER_KEYS = {
    "pd-l1": "pdl1", "pdl1": "pdl1", "pd-l1 tps": "pdl1", "pd-l1 (22c3)": "pdl1",
    "er": "er", "estrogen receptor": "er", "oestrogen receptor": "er",
    "pr": "pr", "progesterone receptor": "pr",
    "her2": "her2", "her-2": "her2", "her2/neu": "her2", "erbb2": "her2",
    "tmb": "tmb", "tumor mutational burden": "tmb", "tumour mutational burden": "tmb",
    "msi": "msi", "microsatellite instability": "msi", "mmr": "msi", "msi status": "msi",
}


def biomarker_key(name: str) -> str:
    """Normalise a biomarker name ('PD-L1 TPS', 'Estrogen receptor', 'MSI') to a short key."""
    n = (name or "").strip().lower()
    if n in _BIOMARKER_KEYS:
        return _BIOMARKER_KEYS[n]
    for k, v in _BIOMARKER_KEYS.items():
        if n.startswith(k + " ") or n.startswith(k + "("):
            return v
    return n


_NEGATIVE_WORDS = ("not detected", "negative", "neg", "absent", "wild-type", "wild type", "wildtype", "no mutation",
                   "not identified", "not amplified", "stable", "mss", "msi-l", "proficient", "pmmr", "retained",
                   "intact")
_POSITIVE_WORDS = ("positive", "detected", "present", "amplified", "mutated", "mutation", "msi-h", "high",
                   "deficient", "dmmr", "loss", "3+", "pos")


def result_positive(text: str | None, num: float | None = None) -> float | None:
    """1.0 for a positive result, 0.0 for a negative one, None when unclear (e.g. HER2 2+)."""
    t = (text or "").lower()
    if "2+" in t or "equivocal" in t or "indeterminate" in t:
        return None
    if re.search(r"(^|[^0-9+])(0|1\+)(\s|$|[^0-9%])", t) and "%" not in t:
        return 0.0
    for w in _NEGATIVE_WORDS:
        if re.search(rf"(^|\W){re.escape(w)}(\W|$)", t):
            return 0.0
    for w in _POSITIVE_WORDS:
        if re.search(rf"(^|\W){re.escape(w)}(\W|$)", t):
            return 1.0
    if num is not None:
        return 1.0 if num >= 1 else 0.0
    return None
