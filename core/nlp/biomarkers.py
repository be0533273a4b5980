"""Biomarker results written around the marker's name.

ConText's packaged rules look for cues *before* a target ("negative for ALK"); pathology
and oncology notes mostly write the result *after* it: "EGFR mutation was not detected",
"PD-L1 TPS 60%", "ER positive (95%), PR negative, HER2 1+ (negative)", "KRAS G12C detected",
"MSI-high". ``biomarker_result`` reads both sides of one marker mention:

* ``before``: the text between the previous marker and this one ("negative for ", "no ");
* ``after``: the text from the marker to the next marker group or the sentence end.

Result vocabulary (``value_text``): ``positive``, ``negative``, ``equivocal``, ``pending``,
``not tested``, ``high`` / ``low`` / ``stable`` (MSI, TMB, PD-L1, HER2-low), ``deficient`` /
``proficient`` (MMR), ``lost`` / ``intact`` (MLH1, MSH2, MSH6, PMS2), ``loss`` ("STK11 loss"), or the variant itself
("L858R", "exon 19 deletion", "fusion", "amplification") when one is named and not negated.
Numbers go to ``value_num`` with ``unit``: ``%`` (TPS, ER/PR, Ki-67), ``CPS``, ``IHC``
(HER2 0-3+), ``mut/Mb`` (TMB), or the lab unit of a tumour marker (CEA).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_WINDOW = 120  # characters after a marker searched for its result

_SIGN = re.compile(r"^\s?(?:\(\s*)?(?P<sign>[+-]|pos|neg)(?:\s*\))?(?=$|[\s/,;.)])", re.I)
_POLARITY = re.compile(
    r"(?P<not_tested>\bnot\s+(?:been\s+)?(?:performed|tested|done|assessed|evaluable|evaluated|available|sent)\b"
    r"|\binsufficient\b|(?-i:\bQNS\b)|\bfailed\b|\bunable\s+to\s+(?:be\s+)?(?:assess|perform|determin)\w*)"
    r"|(?P<pending>\bpending\b|\bin\s+progress\b|\bawaited\b|\bsent\s+(?:out|off|for)\b|\bwas\s+sent\b)"
    r"|(?P<negative>\bnot\s+(?:been\s+)?(?:detected|identified|found|seen|present|amplified|mutated|rearranged|"
    r"expressed|overexpressed)\b|\bnegative\b|\bneg\b|\bnon-?amplified\b|\bunamplified\b"
    r"|\bno\s+(?:[\w-]+\s+){0,3}?(?:detected|identified|found|seen)\b|\babsent\b|\bundetected\b"
    r"|\bwild[\s-]?type\b|(?-i:\bWT\b)|\bunmutated\b|\bnon-?mutated\b|\bnone\s+detected\b)"
    r"|(?P<equivocal>\bequivocal\b|\bindeterminate\b|\bborderline\b|\binconclusive\b)"
    r"|(?P<high>\bhigh\b|(?-i:(?<=-)H\b))"
    r"|(?P<low>\blow\b)"
    r"|(?P<stable>\bstable\b|(?-i:\bMSS\b))"
    r"|(?P<deficient>\bdeficient\b|\bdeficiency\b|\bloss\b|\blost\b)"
    r"|(?P<proficient>\bproficient\b|\bintact\b|\bretained\b|\bpreserved\b)"
    r"|(?P<positive>\bpositive\b|\bpos\b|\bdetected\b|\bidentified\b|\bpresent\b|\bamplified\b|\bamplification\b"
    r"|\bmutated\b|\bmutant\b|\brearranged\b|\boverexpress(?:ed|ion)\b)",
    re.I)
_NEG_BEFORE = re.compile(
    r"(?:\bnegative\s+for|\bneg\s+for|\bno|\bwithout|\babsence\s+of|\bnot\s+(?:detected|identified)\s*(?::|for)?"
    r"|\bwild[\s-]?type|\bnon-?mutated|\bunmutated)\s+(?:(?:an?|any|the|evidence\s+of|targetable|actionable|known|"
    r"pathogenic|sensitizing|activating|detectable|definite|other)\s+){0,3}$", re.I)
_POS_BEFORE = re.compile(
    r"(?:\bpositive\s+for|\bpos\s+for|\bharbou?r(?:s|ing|ed)?|\bcarr(?:ies|ying|ied)|\bwith|\bha(?:s|ve|d)"
    r"|\bmutant|\bmutated|\bdetected:?)\s+(?:(?:an?|the|known|activating|sensitizing|pathogenic|targetable)\s+){0,2}$",
    re.I)
_TESTING = re.compile(r"^\s*(?:mutation(?:al)?\s+)?(?:testing|test|tests|analysis|sequencing|assay|studies)\b", re.I)
_LOSS_BEFORE = re.compile(r"\b(?:loss|lack|absence)\s+of\s+(?:(?:nuclear\s+)?expression\s+(?:of\s+)?)?$", re.I)

_PROTEIN = re.compile(
    r"(?<![\w.])(?:p\.)?\(?(?P<change>[ACDEFGHIKLMNPQRSTVWY]\d{1,4}(?:_[ACDEFGHIKLMNPQRSTVWY]\d{1,4})?"
    r"(?:[ACDEFGHIKLMNPQRSTVWY*]|fs\*?\d*|delins[A-Z]+|del|dup|ins[A-Z]*))\)?(?![\w])")
_PROTEIN3 = re.compile(r"\bp\.\(?(?P<ref>[A-Z][a-z]{2})(?P<pos>\d{1,4})(?P<alt>[A-Z][a-z]{2}|\*|fs)")
_EXON = re.compile(r"\bex(?:on)?\s?(?P<n>\d{1,2})\s?(?P<kind>deletions?|del|insertions?|ins|skipping|skip|"
                   r"mutations?|alterations?|duplications?|dup)\b", re.I)
_STRUCTURAL = re.compile(r"\b(?P<fusion>fusions?|rearrangements?|rearranged|translocation)\b"
                         r"|\b(?P<amp>amplification|amplified)\b", re.I)
_PERCENT = re.compile(r"(?P<cmp><|>|≤|≥|less\s+than|greater\s+than)?\s*(?P<num>\d+(?:\.\d+)?)\s*%")
_CPS = re.compile(r"\bCPS\s*(?:of|=|:|score\s*(?:of)?)?\s*(?P<cmp><|>|≤|≥)?\s*(?P<num>\d+(?:\.\d+)?)", re.I)
_IHC = re.compile(r"(?<![\d.])(?P<score>[0-3])\s?\+")
_TMB = re.compile(r"(?P<num>\d+(?:\.\d+)?)\s*(?:mut(?:ation)?s?\s*/\s*mb|mutations?\s+per\s+(?:mega[\s-]?base|mb))",
                  re.I)
_LAB = re.compile(r"^\W{0,3}(?:(?:level|value|was|is|of|at|=|:|in\s+the|around|approximately|~)\W{0,2})*"
                  r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>ng/ml|u/ml|units?/ml|iu/ml)?", re.I)

_AA3 = {"Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G", "His": "H",
        "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W",
        "Tyr": "Y", "Val": "V", "Ter": "*", "*": "*", "fs": "fs"}
_EXON_KIND = {"del": "deletion", "ins": "insertion", "ski": "skipping", "dup": "duplication", "mut": "mutation",
              "alt": "alteration"}

MMR_PROTEINS = frozenset({"MLH1", "MSH2", "MSH6", "PMS2"})
PERCENT_MARKERS = frozenset({"PD-L1", "ER", "PR", "Ki-67"})
LAB_MARKERS = frozenset({"CEA", "CA 19-9", "CA 15-3"})
# results that close the question: no variant is read after them
_FINAL = frozenset({"negative", "not tested", "pending", "equivocal"})


@dataclass(frozen=True)
class MarkerResult:
    value_text: str | None = None
    value_num: float | None = None
    unit: str | None = None

    @property
    def empty(self) -> bool:
        return self.value_text is None and self.value_num is None


def _variant(window: str) -> str | None:
    """The first named variant in the window: protein change, exon event, fusion or amplification."""
    found: list[tuple[int, str]] = []
    if m := _PROTEIN.search(window):
        found.append((m.start(), m.group("change")))
    if m := _PROTEIN3.search(window):
        if m.group("ref") in _AA3 and m.group("alt") in _AA3:
            found.append((m.start(), f"{_AA3[m.group('ref')]}{m.group('pos')}{_AA3[m.group('alt')]}"))
    if m := _EXON.search(window):
        kind = _EXON_KIND[m.group("kind").lower()[:3]]
        found.append((m.start(), f"exon {int(m.group('n'))} {kind}"))
    if m := _STRUCTURAL.search(window):
        found.append((m.start(), "fusion" if m.group("fusion") else "amplification"))
    return min(found)[1] if found else None


def _polarity(concept: str, window: str) -> str | None:
    matches = [(m.lastgroup, m.group()) for m in _POLARITY.finditer(window)]
    if not matches:
        return None
    if concept == "HER2":  # ISH decides an equivocal IHC: "2+ (equivocal), FISH not amplified"
        for kind, text in matches:
            if "amplif" in text.lower():
                return kind
    return matches[0][0]


def _normalise(concept: str, polarity: str | None) -> str | None:
    """Map generic result words onto each marker's own vocabulary."""
    if polarity is None:
        return None
    polarity = polarity.replace("_", " ")
    if concept in MMR_PROTEINS:
        return {"deficient": "lost", "negative": "lost", "proficient": "intact", "positive": "intact"}.get(
            polarity, polarity)
    if concept == "MMR":
        return {"negative": "proficient", "positive": "deficient"}.get(polarity, polarity)
    if concept == "MSI":
        return {"positive": "high", "negative": "stable"}.get(polarity, polarity)
    return {"deficient": "loss"}.get(polarity, polarity)  # "STK11 loss"


def biomarker_result(concept: str, before: str, after: str, implied: str | None = None) -> MarkerResult:
    """The result of one marker mention.

    Args:
        concept: normalised marker name ("EGFR", "PD-L1", "HER2", "MSI", ...).
        before: text preceding the mention in its sentence (after any previous marker).
        after: text following the mention, up to the next marker group or the sentence end.
        implied: the value the mention itself carries ("MSI-H" -> "high").

    Returns:
        A ``MarkerResult``; empty when the text states no result ("EGFR testing was ordered").
    """
    after = after[:MAX_WINDOW]
    polarity = _polarity(concept, after)
    if m := _SIGN.match(after):  # "ER+/PR-": the sign right after the name
        polarity = "positive" if m.group("sign").lower() in ("+", "pos") else "negative"
    elif polarity in ("not_tested", "pending"):
        pass
    elif _NEG_BEFORE.search(before):  # "negative for ALK", "no KRAS mutation detected"
        polarity = "not_tested" if _TESTING.match(after) and polarity is None else "negative"
    elif concept in MMR_PROTEINS and _LOSS_BEFORE.search(before):  # "loss of MLH1"
        polarity = "deficient"
    elif polarity is None and _POS_BEFORE.search(before):  # "positive for EGFR exon 19 deletion"
        polarity = "positive"

    value_num: float | None = None
    unit: str | None = None
    if concept == "TMB" and (m := _TMB.search(after)):
        value_num, unit = float(m.group("num")), "mut/Mb"
        if polarity in (None, "positive"):
            polarity = "high" if value_num >= 10 else "low"
    elif concept == "HER2" and (m := _IHC.search(after)):
        value_num, unit = float(m.group("score")), "IHC"
        if polarity is None:
            polarity = {0: "negative", 1: "negative", 2: "equivocal", 3: "positive"}[int(value_num)]
    elif concept == "PD-L1" and (m := _CPS.search(after)):
        value_num, unit = float(m.group("num")), "CPS"
        if polarity is None:
            polarity = "positive" if value_num >= 1 else "negative"
    elif concept in PERCENT_MARKERS and (m := _PERCENT.search(after)):
        num, below = float(m.group("num")), (m.group("cmp") or "").startswith(("<", "less"))
        if below and num <= 1:
            polarity = polarity or "negative"
        else:
            value_num, unit = num, "%"
            if polarity is None and concept != "Ki-67":
                polarity = "positive" if num >= 1 else "negative"
    elif concept in LAB_MARKERS and (m := _LAB.search(after)):
        value_num = float(m.group("num"))
        unit_text = (m.group("unit") or "").lower()
        unit = None if not unit_text else "ng/mL" if unit_text == "ng/ml" else "U/mL"

    value_text = _normalise(concept, polarity)
    if value_text not in _FINAL and concept not in MMR_PROTEINS | {"MMR", "MSI", "TMB", "PD-L1", "ER", "PR", "Ki-67"}:
        variant = _variant(after)
        if variant == "amplification" and concept == "HER2":
            variant = None
            value_text = value_text or "positive"
        if variant and (value_text in (None, "positive")):
            value_text = variant
    if value_text is None and implied:
        value_text = implied
    return MarkerResult(value_text, value_num, unit)
