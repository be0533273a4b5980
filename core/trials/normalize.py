"""Vocabulary shared by the CTML parser and the patient facts: one spelling per concept.

Trials and sources spell the same thing many ways ("Copy Number Variation", "CNV",
"Amplification", "High level amplification"; "MSI-H", "dMMR"; "p.Val600Glu", "V600E").
Everything is mapped here to one canonical value, so the evaluators compare like with like.
"""
from __future__ import annotations

import re

AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
    "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*", "Sec": "U",
}
AA3_PATTERN = "|".join(AA3)

# Variant categories (MatchMiner's VARIANT_CATEGORY values)
MUTATION, CNV, SV, ANY = "MUTATION", "CNV", "SV", "ANY"
VARIANT_CATEGORIES = {
    "mutation": MUTATION, "mutations": MUTATION, "snv": MUTATION, "indel": MUTATION,
    "copy number variation": CNV, "copy number alteration": CNV, "cnv": CNV, "cna": CNV,
    "structural variation": SV, "structural variant": SV, "sv": SV, "fusion": SV, "rearrangement": SV,
    "any variation": ANY, "any": ANY,
}

# CNV calls: trial spellings (MatchMiner) and sample spellings map to one of four values.
AMP, GAIN, HOMDEL, HETDEL = "AMP", "GAIN", "HOMDEL", "HETDEL"
DEL = "DEL"  # a sample-side deletion of unknown zygosity: neither HOMDEL nor HETDEL can be decided
TRIAL_CNV_CALLS = {
    "high amplification": AMP, "amplification": AMP, "high level amplification": AMP, "amp": AMP,
    "low amplification": GAIN, "gain": GAIN,
    "homozygous deletion": HOMDEL, "deletion": HOMDEL, "deep deletion": HOMDEL,
    "heterozygous deletion": HETDEL, "shallow deletion": HETDEL, "loss": HETDEL,
}
CNV_LABELS = {AMP: "high amplification", GAIN: "gain (low amplification)", HOMDEL: "homozygous deletion",
              HETDEL: "heterozygous deletion", DEL: "deletion (zygosity not reported)"}

# MAF classes that do not change the protein: never count as a "Mutation" match.
NON_PROTEIN_CLASSES = ("Silent", "3'UTR", "5'UTR", "Intron", "3'Flank", "5'Flank", "IGR", "RNA",
                       "synonymous_variant", "intron_variant")

# Canonical biomarker names (biomarkers.name / note_events.concept are mapped onto these).
TMB, MMR, PDL1, ER, PR, HER2, ECOG = "TMB", "MMR", "PDL1_TPS", "ER", "PR", "HER2", "ECOG"
MMR_PROTEIN = "MMR_PROTEIN"  # one of MLH1 / MSH2 / MSH6 / PMS2 by IHC; combined into MMR in core/trials/facts.py
SIGNATURES = ("TOBACCO", "APOBEC", "POLE", "TEMOZOLOMIDE", "UVA")
BIOMARKER_PATTERNS: tuple[tuple[str, str], ...] = (
    # (canonical, regex on the lower-cased name); first match wins
    (TMB, r"^(tmb|tumou?r[ _-]*mutation(al)?[ _-]*(burden|load))"),
    (MMR, r"^(msi|ms[ _-]?status|microsatellite|mmr|d?mmr|mismatch[ _-]*repair|p?mmr)"),
    (MMR_PROTEIN, r"^(mlh1|msh2|msh6|pms2)\b(?!.*(mutation|variant))"),
    ("PDL1_CPS", r"pd-?l1.*\bcps\b|combined positive score"),  # not a TPS: never compared with one
    (PDL1, r"pd-?l1|cd274 (ihc|expression)"),
    (HER2, r"^(her-?2|erbb2 (ihc|ish|status|protein))"),
    (ER, r"^(er|er[ _-]status|estrogen receptor|oestrogen receptor|esr1? (ihc|status))\b"),
    (PR, r"^(pr|pgr|pr[ _-]status|progesterone receptor)\b"),
    (ECOG, r"ecog|performance status"),
    ("TOBACCO", r"^(tobacco|tabacco|smoking)[ _-]*(signature|status)"),
    ("APOBEC", r"^apobec[ _-]*(signature|status)"),
    ("POLE", r"^pole[ _-]*(signature|status)"),
    ("TEMOZOLOMIDE", r"^temozolomide[ _-]*(signature|status)"),
    ("UVA", r"^(uva?|uv[ _-]light)[ _-]*(signature|status)"),
)
BIOMARKER_LABELS = {TMB: "TMB", MMR: "MSI/MMR", PDL1: "PD-L1 TPS", ER: "ER", PR: "PR", HER2: "HER2",
                    ECOG: "ECOG", **{s: f"{s.lower()} signature" for s in SIGNATURES}}
BIOMARKER_TESTS = {TMB: "test TMB", MMR: "test MSI/MMR", PDL1: "test PD-L1 (TPS)", ER: "test ER (IHC)",
                   PR: "test PR (IHC)", HER2: "test HER2 (IHC/ISH)", ECOG: "assess ECOG performance status",
                   **{s: f"test {s.lower()} signature" for s in SIGNATURES}}
BIOMARKER_UNITS = {TMB: " mut/Mb", PDL1: "%", ECOG: ""}

# Categorical results, by canonical biomarker: (regex on lower-cased text, value); first match wins.
POSITIVE, NEGATIVE, EQUIVOCAL = "positive", "negative", "equivocal"
DEFICIENT, PROFICIENT = "deficient", "proficient"
YES, NO = "yes", "no"
_NEG = r"(negative|neg\b|not detected|absent|^-$|^no$|^0$|^false$)"
STATUS_PATTERNS: dict[str, tuple[tuple[str, str], ...]] = {
    ER: ((_NEG, NEGATIVE), (r"(positive|pos\b|^\+$|detected|^yes$|^true$|low)", POSITIVE)),
    PR: ((_NEG, NEGATIVE), (r"(positive|pos\b|^\+$|detected|^yes$|^true$|low)", POSITIVE)),
    # ISH result outranks IHC (2+ then amplified is positive); HER2-low counts as negative.
    HER2: ((r"(not amplified|non-?amplified)", NEGATIVE), (r"(amplified|3\+)", POSITIVE),
           (r"(equivocal|2\+|borderline)", EQUIVOCAL), (r"(negative|neg\b|^0$|1\+|^0\+|low)", NEGATIVE),
           (r"(positive|pos\b|^yes$|^true$)", POSITIVE)),
    MMR_PROTEIN: ((r"(intact|retained|preserved|normal|positive)", PROFICIENT),
                  (r"(loss|lost|absent|deficient|negative)", DEFICIENT)),
    MMR: ((r"(msi-?l\b|msi-?low|mss\b|\bstable|proficient|pmmr|intact|retained|preserved|normal)", PROFICIENT),
          (r"(msi-?h|high|unstable|instability|deficient|dmmr|loss|lost|absent)", DEFICIENT)),
    **{s: ((r"(^no$|absent|negative|not detected|^false$)", NO), (r"(^yes$|present|positive|detected|^true$)", YES))
       for s in SIGNATURES},
}


def canonical_biomarker(name: str | None) -> str | None:
    """Canonical biomarker for a source name ("PD-L1 TPS", "Tumor mutational burden", "MSI status")."""
    if not name:
        return None
    low = str(name).strip().lower()
    for canon, pattern in BIOMARKER_PATTERNS:
        if re.search(pattern, low):
            return canon
    return None


def categorical_status(canon: str, *texts: str | None) -> str | None:
    """Categorical result (positive / negative / deficient / ...) from the first informative text."""
    patterns = STATUS_PATTERNS.get(canon)
    if not patterns:
        return None
    for text in texts:
        if text is None:
            continue
        low = str(text).strip().lower()
        for pattern, value in patterns:
            if re.search(pattern, low):
                return value
    return None


def short_protein_change(text: str | None) -> str | None:
    """HGVS protein change in one-letter form with the ``p.`` prefix (p.Val600Glu -> p.V600E)."""
    if text is None:
        return None
    s = str(text).strip()
    if not s or s in (".", "-"):
        return None
    if ":" in s:  # ENSP00000288602.6:p.Val600Glu
        s = s.rsplit(":", 1)[1]
    s = s.replace("(", "").replace(")", "")
    if not s.startswith("p."):
        s = "p." + s
    return re.sub(AA3_PATTERN, lambda m: AA3[m.group(0)], s)


def variant_category(text: str | None) -> str | None:
    if text is None:
        return None
    return VARIANT_CATEGORIES.get(str(text).strip().lower())


def cnv_call(text: str | None) -> str | None:
    """Canonical CNV call from a trial or sample spelling (also GISTIC-style 2 / -2)."""
    if text is None:
        return None
    low = str(text).strip().lower()
    if low in ("deletion", "del"):
        return DEL
    if low in TRIAL_CNV_CALLS:
        return TRIAL_CNV_CALLS[low]
    if low in ("2", "+2"):
        return AMP
    if low in ("1", "+1"):
        return GAIN
    if low == "-2":
        return HOMDEL
    if low == "-1":
        return HETDEL
    if "homo" in low or "deep" in low:
        return HOMDEL
    if "hetero" in low or "shallow" in low:
        return HETDEL
    if "gain" in low or "low" in low:
        return GAIN
    if "amp" in low:
        return AMP
    if low == "loss":
        return HETDEL
    if "del" in low:
        return DEL
    return None


def sex(text: str | None) -> str | None:
    """'Male' / 'Female' or None."""
    if text is None:
        return None
    low = str(text).strip().lower()
    if low in ("f", "female", "woman", "w"):
        return "Female"
    if low in ("m", "male", "man"):
        return "Male"
    return None
