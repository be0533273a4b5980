"""Values next to non-biomarker mentions: ECOG score, stage, TNM, smoking, lesion size,
metastatic site, therapy status and the relative in a family history.

Each function reads plain strings (the text after a mention, or its sentence with the
mention's offsets), so they are testable without spaCy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_ECOG = re.compile(
    r"^\W{0,3}(?:(?:ps|performance|status|score|scale|grade|was|is|of|remains|currently|now|\(ecog\)|ecog)\W{0,3})*"
    r"(?P<a>[0-4])(?!\d|\.\d)(?:\s*(?:-|to|/)\s*(?P<b>[0-4])(?!\d))?", re.I)

_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV", "0": "0"}
_STAGE = re.compile(r"^\W{0,2}(?:(?:is|was|of|group|:)\W{0,2})*(?P<stage>0|IV|I{1,3}|[0-4])(?P<sub>[ABCabc][0-9]?)?"
                    r"(?![\w])")

_SMOKING_STATUS = (
    ("never", re.compile(r"\bnever[\s-]smok\w*|\bnever\s+(?:been\s+a\s+)?smoker|\bnon-?smoker|\blifelong\s+non"
                         r"|\bnever\s+(?:used\s+)?tobacco|\bhas\s+never\s+smoked|\bnever\s+smoked", re.I)),
    ("former", re.compile(r"\bformer|\bex-?smoker|\bquit\b|\bquitting|\bstopped\s+smoking|\bprior\s+smok|"
                          r"\bpreviously\s+smoked|\bremote\s+(?:history|smok|tobacco)|\bhistory\s+of\s+(?:smoking|"
                          r"tobacco)|\bsmoked\b|\bno\s+longer\s+smok", re.I)),
    ("current", re.compile(r"\bcurrent(?:ly)?\b|\bactive\s+smoker|\bstill\s+smok|\bcontinues\s+to\s+smoke|"
                           r"\bsmokes\b|\bdaily\s+smoker|\b\d+(?:\.\d+)?\s*ppd\b|\bpacks?\s+per\s+day", re.I)),
)
_PACK_YEARS = re.compile(
    r"(?P<num>\d+(?:\.\d+)?)(?:\s*(?:-|to)\s*(?P<num2>\d+(?:\.\d+)?))?\s*[- ]?(?:pack[\s-]?y(?:ea)?rs?|pk[\s-]?yrs?|"
    r"py\b)", re.I)

_SIZE = re.compile(
    r"(?P<a>\d+(?:\.\d+)?)\s*(?:(?P<unit_a>cm|mm)\s*)?(?:x|×|by)\s*(?P<b>\d+(?:\.\d+)?)\s*"
    r"(?:(?:x|×|by)\s*(?P<c>\d+(?:\.\d+)?)\s*)?(?P<unit>cm|mm)\b"
    r"|(?P<single>\d+(?:\.\d+)?)\s*-?\s*(?P<unit_s>cm|mm|centimeters?|millimeters?)\b", re.I)
_NEAR_BEFORE = 40  # characters before a mention searched for its size ("3.2 cm spiculated mass")
_NEAR_AFTER = 70  # ... and after it ("mass measuring 3.2 x 2.1 cm")

_SITES = (
    ("brain", r"brain|cerebral|intracranial|cerebellar|CNS"), ("liver", r"liver|hepatic"),
    ("bone", r"bone|osseous|skeletal|spine|spinal|vertebra\w*|rib|pelvi\w+|sacr\w+|femur|femoral|humer\w+"),
    ("adrenal", r"adrenal"), ("lung", r"lung|pulmonary|contralateral lung"), ("pleura", r"pleura\w*"),
    ("lymph node", r"lymph nodes?|nodal|node"), ("peritoneum", r"peritone\w+|omental|omentum"),
    ("leptomeninges", r"leptomeningeal|meningeal"), ("pericardium", r"pericardial"), ("skin", r"skin|cutaneous"),
    ("ovary", r"ovar\w+"),
)
_SITE_RE = re.compile("|".join(f"(?P<s{i}>\\b(?:{p})\\b)" for i, (_, p) in enumerate(_SITES)), re.I)

_THERAPY_STATUS = (
    ("started", r"start(?:ed|ing|s)?|initiat(?:ed|ing|e)|began|begin|commenc\w+|cycle 1\b|C1D1"),
    ("ongoing", r"continu\w+|ongoing|remains on|currently on|still on|tolerating|cycle \d+|on maintenance|"
                r"maintenance"),
    ("completed", r"complet\w+|finish\w+"),
    ("discontinued", r"discontinu\w+|stopp?ed|stop|ceased|switched from|off of"),
    ("held", r"held|holding|on hold|paused"),
)
_THERAPY_RE = re.compile("|".join(f"(?P<t{i}>\\b(?:{p})\\b)" for i, (_, p) in enumerate(_THERAPY_STATUS)), re.I)

_RELATIVES = re.compile(
    r"\b(?P<rel>mother|father|sister|brother|daughter|son|aunt|uncle|cousin|niece|nephew|grandmother|grandfather|"
    r"grandparent|mom|dad|sibling|twin|parent|half-sister|half-brother)s?\b", re.I)
_RELATIVE_QUALIFIER = re.compile(r"\b(maternal|paternal)\s+$", re.I)


@dataclass(frozen=True)
class Value:
    text: str | None = None
    num: float | None = None
    unit: str | None = None


def ecog(after: str) -> Value | None:
    """ECOG score after "ECOG" / "performance status" ("ECOG PS 1", "ECOG 0-1": the worse bound)."""
    m = _ECOG.match(after[:60])
    if not m:
        return None
    a, b = int(m.group("a")), m.group("b")
    if b is not None:
        return Value(f"{a}-{b}", float(max(a, int(b))))
    return Value(str(a), float(a))


def stage(after: str, implied: str | None = None) -> Value | None:
    """Stage group after "stage" ("stage IIIA", "Stage 4" -> "IV"); ``implied`` for limited/extensive stage."""
    if implied:
        return Value(implied)
    m = _STAGE.match(after[:30])
    if not m:
        return None
    group = _ROMAN.get(m.group("stage"), m.group("stage").upper())
    return Value(group + (m.group("sub") or "").upper())


def tnm(text: str) -> Value:
    """Normalised TNM as written: prefixes lower case, categories upper case, no spaces ("pT2a N1 M0" -> "pT2aN1M0")."""
    compact = re.sub(r"\s+", "", text)
    out = re.sub(r"(?<![A-Za-z])([cpy]{0,2})([TNMtnm])", lambda m: m.group(1).lower() + m.group(2).upper(), compact)
    return Value(out)


def smoking(sentence: str) -> Value:
    """Smoking status (never / former / current) and pack-years stated in a sentence."""
    status = None
    first = len(sentence) + 1
    for name, regex in _SMOKING_STATUS:
        m = regex.search(sentence)
        if m and m.start() < first and not (name == "current" and status == "never"):
            status, first = name, m.start()
    py = _PACK_YEARS.search(sentence)
    if py:
        num = float(py.group("num2") or py.group("num"))
        return Value(status, num, "pack-years")
    return Value(status)


def lesion_size(sentence: str, start: int, end: int) -> Value | None:
    """The size nearest a finding mention, as its longest dimension in mm ("3.2 x 2.1 cm" -> 32.0)."""
    best: tuple[int, Value] | None = None
    for m in _SIZE.finditer(sentence):
        if m.end() <= start:
            dist = start - m.end()
            if dist > _NEAR_BEFORE:
                continue
        elif m.start() >= end:
            dist = m.start() - end
            if dist > _NEAR_AFTER:
                continue
        else:
            dist = 0
        if m.group("single"):
            unit = m.group("unit_s").lower()
            dims = [float(m.group("single"))]
        else:
            unit = m.group("unit").lower()
            dims = [float(m.group(k)) for k in ("a", "b", "c") if m.group(k)]
        factor = 10.0 if unit.startswith("c") else 1.0
        value = Value(m.group().strip(), round(max(dims) * factor, 1), "mm")
        if best is None or dist < best[0]:
            best = (dist, value)
    return best[1] if best else None


def metastatic_site(sentence: str, start: int, end: int) -> str | None:
    """The organ named nearest a metastasis mention ("brain metastases", "metastases to the liver")."""
    lo, hi = max(0, start - 40), min(len(sentence), end + 50)
    best: tuple[int, str] | None = None
    for m in _SITE_RE.finditer(sentence, lo, hi):
        dist = start - m.end() if m.end() <= start else m.start() - end if m.start() >= end else 0
        name = _SITES[int(m.lastgroup[1:])][0]
        if best is None or dist < best[0]:
            best = (dist, name)
    return best[1] if best else None


def therapy_status(sentence: str, start: int, end: int) -> str | None:
    """started / ongoing / completed / discontinued / held, from the verb nearest a therapy mention."""
    best: tuple[int, str] | None = None
    for m in _THERAPY_RE.finditer(sentence):
        dist = start - m.end() if m.end() <= start else m.start() - end if m.start() >= end else 0
        if dist > 60:
            continue
        name = _THERAPY_STATUS[int(m.lastgroup[1:])][0]
        if best is None or dist < best[0]:
            best = (dist, name)
    return best[1] if best else None


def relative(sentence: str, start: int) -> str | None:
    """The relative a family-history mention belongs to ("mother", "maternal aunt"), nearest before it."""
    best: tuple[int, str] | None = None
    for m in _RELATIVES.finditer(sentence):
        dist = abs(start - m.start())
        rel = {"mom": "mother", "dad": "father"}.get(m.group("rel").lower(), m.group("rel").lower())
        q = _RELATIVE_QUALIFIER.search(sentence, 0, m.start())
        if q:
            rel = f"{q.group(1).lower()} {rel}"
        if best is None or dist < best[0]:
            best = (dist, rel)
    return best[1] if best else None
