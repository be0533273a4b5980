"""medspaCy rules for oncology notes: TargetRules from ``terms.TERMS``, ConText modifiers, section headers.

ConText modifiers are medspaCy's packaged defaults with every token pattern expanded into
plain phrases (the token Matcher's ``IN`` predicates cost ~40 ms a note; phrases well under
1 ms), plus oncology cues ("s/p", "cannot exclude", "not detected", planned therapy...).
"""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

from medspacy.context import ConTextRule
from medspacy.section_detection import SectionRule
from medspacy.target_matcher import TargetRule

from core.nlp.terms import CONCEPT_TYPES, IGNORE, TERMS, ConceptType, Term

__all__ = ["CONCEPT_TYPES", "IGNORE", "TERMS", "ConceptType", "context_rules", "exact_rules", "section_rules",
           "target_rules"]


def _meta(term: Term) -> dict:
    return {"concept": term.concept, "implied": term.implied, "needs_value": term.needs_value}


def target_rules() -> list[TargetRule]:
    """medspaCy TargetRules for the case-insensitive phrases of ``TERMS`` (PhraseMatcher on LOWER).

    Each rule's metadata carries ``concept``, ``implied`` and ``needs_value``.
    """
    return [TargetRule(phrase, term.concept_type.upper(), metadata=_meta(term))
            for term in TERMS for phrase in term.phrases]


def exact_rules() -> list[tuple[re.Pattern[str], dict[str, TargetRule] | TargetRule]]:
    """Regexes for the exact-spelling words and the regex terms, each with its TargetRule(s).

    The words share one alternation (the rule is looked up by the matched text): medspaCy's
    RegexMatcher rebuilds the doc text for every rule (~0.3 ms each), and Python's regex engine
    slows down ~20x on an alternation of named groups.
    """
    by_word = {w: TargetRule(w, t.concept_type.upper(), metadata=_meta(t)) for t in TERMS for w in t.exact}
    words = "|".join(re.escape(w) for w in sorted(by_word, key=len, reverse=True))
    out: list[tuple[re.Pattern[str], dict[str, TargetRule] | TargetRule]] = [
        (re.compile(rf"(?<![\w-])(?:{words})(?![\w])"), by_word)]
    for t in TERMS:
        if t.regex:
            out.append((re.compile(t.regex), TargetRule(t.concept, t.concept_type.upper(), pattern=t.regex,
                                                        metadata=_meta(t))))
    return out


# ---- ConText ---------------------------------------------------------------------------------------------------
_RESOURCES = Path(__import__("medspacy").__file__).resolve().parents[1] / "resources" / "en"  # packaged rule files
_CONTEXT_DEFAULTS = _RESOURCES / "context_rules.json"

_THERAPY_LIKE = {"THERAPY", "PROCEDURE", "IMAGING_FINDING", "BIOMARKER"}

# (phrase, category, direction, allowed types or None)
_ONCOLOGY_MODIFIERS: tuple[tuple[str, str, str, set[str] | None], ...] = (
    # negation
    *((p, "NEGATED_EXISTENCE", "BACKWARD", None) for p in (
        "not detected", "was not detected", "were not detected", "not identified", "was not identified",
        "were not identified", "not seen", "not present", "is absent", "are absent", "absent", "resolved",
        "has resolved", "have resolved", "no longer seen", "no longer present", "not visualized",
        "were negative", "is negative", "are negative", "was negative")),
    *((p, "NEGATED_EXISTENCE", "FORWARD", None) for p in (
        "no evidence of", "no signs of", "no sign of", "no definite", "no suspicious", "no new", "no residual",
        "no recurrent", "negative for", "free of", "without evidence of", "no radiographic evidence of",
        "no pathologic", "denied", "denies", "not on", "never had", "never developed", "no known", "ruled out for",
        "not receiving", "is not receiving")),
    # uncertainty
    *((p, "POSSIBLE_EXISTENCE", "FORWARD", None) for p in (
        "possible", "possibly", "probable", "probably", "likely", "suspicious for", "suspicious of",
        "concerning for", "concerning of", "worrisome for", "suggestive of", "cannot exclude", "can not exclude",
        "cannot rule out", "can not rule out", "could not exclude", "questionable", "suspected", "suspect",
        "presumed", "presumptive", "may represent", "could represent", "might represent", "may reflect",
        "differential includes", "differential diagnosis includes", "indeterminate", "equivocal for",
        "borderline", "rule out", "r/o", "versus", "favor", "favour", "favoring", "most consistent with")),
    *((p, "POSSIBLE_EXISTENCE", "BACKWARD", None) for p in (
        "cannot be excluded", "can not be excluded", "cannot be ruled out", "not excluded", "not ruled out",
        "is suspected", "are suspected", "is possible", "is likely", "is questioned")),
    # history
    *((p, "HISTORICAL", "FORWARD", None) for p in (
        "history of", "hx of", "h/o", "s/p", "status post", "in the past", "past history of",
        "past medical history of", "personal history of", "was previously treated with", "previously treated with",
        "completed")),
    # "previously 5.6 cm, consistent with partial response": these reach only the next few words
    *((p, "HISTORICAL", "FORWARD:4", None) for p in ("previous", "previously", "prior", "remote", "formerly")),
    # hypothetical / planned
    *((p, "HYPOTHETICAL", "FORWARD", _THERAPY_LIKE) for p in (
        "plan to", "plan for", "plans to", "planned", "planning", "will start", "will begin", "will receive",
        "will undergo", "will initiate", "would start", "to start", "to begin", "recommend", "recommended",
        "recommends", "recommendation", "consider", "considering", "candidate for", "eligible for",
        "would benefit from", "discussed", "discuss", "referral for", "refer for", "referred for", "schedule",
        "scheduled for", "to be scheduled", "order", "ordered", "will order", "will send", "sent for",
        "if", "in case of", "should", "options include", "option of", "offered")),
    *((p, "HYPOTHETICAL", "BACKWARD", _THERAPY_LIKE) for p in (
        "is planned", "was recommended", "is recommended", "to be scheduled", "was discussed", "was offered")),
    # family
    *((p, "FAMILY", "FORWARD", None) for p in (
        "family history of", "family history", "fhx", "fh of", "strong family history of",
        "family hx", "maternal", "paternal", "maternal aunt", "paternal aunt", "maternal grandmother",
        "paternal grandmother", "maternal grandfather", "paternal grandfather", "maternal uncle",
        "paternal uncle", "first-degree relative", "first degree relative", "relatives")),
    # not modifiers: stop a negation or history cue from reaching further
    *((p, "PSEUDO", "PSEUDO", None) for p in (
        "no change", "no significant change", "no interval change", "not only", "no further", "no increase",
        "no decrease", "gram negative", "without difficulty", "not certain whether", "no longer smokes",
        "no longer smoking", "history of present illness", "history and physical", "prior to", "since then",
        "post-operative", "post operative", "postoperative", "triple negative", "triple-negative")),
    *((p, "TERMINATE", "TERMINATE", None) for p in (
        "but", "however", "although", "though", "except", "aside from", "apart from", "whereas", "yet",
        "nevertheless", "now with")),
)


_NOT_BLOOD_RELATIVES = {"husband", "wife", "partner", "spouse", "family", "families", "fam"}


def _expand_pattern(pattern: list[dict]) -> list[str]:
    """All phrases a token pattern of LOWER equals / IN lists with optional tokens can match."""
    choices: list[list[str]] = []
    for tok in pattern:
        lower = tok.get("LOWER")
        words = list(lower["IN"]) if isinstance(lower, dict) else [lower]
        if tok.get("OP") == "?":
            words.append("")
        choices.append(words)
    out = {" ".join(w for w in combo if w).replace(" n't", "n't") for combo in itertools.product(*choices)}
    return sorted(p for p in out if p)


def context_rules() -> list[ConTextRule]:
    """medspaCy's default ConText rules as phrases, then the oncology modifiers."""
    raw = json.loads(_CONTEXT_DEFAULTS.read_text())["context_rules"]
    rules: list[ConTextRule] = []
    seen: set[tuple[str, str, str]] = set()

    def add(phrase: str, category: str, direction: str, allowed: set[str] | None = None) -> None:
        direction, _, scope = direction.partition(":")  # "FORWARD:3": at most 3 tokens of scope
        key = (phrase.lower(), category, direction)
        if key in seen:
            return
        seen.add(key)
        rules.append(ConTextRule(phrase, category, direction=direction, allowed_types=allowed,
                                 max_scope=int(scope) if scope else None))

    for r in raw:
        phrases = _expand_pattern(r["pattern"]) if r.get("pattern") else [r["literal"]]
        for p in phrases:
            if r["category"] == "FAMILY" and p.split()[0] in _NOT_BLOOD_RELATIVES:
                continue  # "lives with her husband, former smoker" is not family history
            add(p, r["category"], r["direction"])
    for phrase, category, direction, allowed in _ONCOLOGY_MODIFIERS:
        add(phrase, category, direction, allowed)
    return rules


# ---- sections -----------------------------------------------------------------------------------------------------
# Oncology headers the packaged rules lack; categories reuse medspaCy's where one fits.
_SECTIONS: tuple[tuple[str, str], ...] = (
    ("Major Surgical or Invasive Procedure:", "procedures"), ("Procedure:", "procedures"),
    ("Procedures:", "procedures"), ("Operations:", "procedures"),
    ("Oncologic History:", "oncologic_history"), ("Oncology History:", "oncologic_history"),
    ("Oncological History:", "oncologic_history"), ("Cancer History:", "oncologic_history"),
    ("Treatment History:", "oncologic_history"), ("Interval History:", "history_of_present_illness"),
    ("History of Present Illness:", "history_of_present_illness"),
    ("Past Surgical History:", "past_medical_history"), ("PSH:", "past_medical_history"),
    ("Family Hx:", "family_history"), ("FHx:", "family_history"), ("FH:", "family_history"),
    ("Social Hx:", "social_history"),
    ("Pathology:", "pathology"), ("Pathology Report:", "pathology"), ("Final Diagnosis:", "pathology"),
    ("Diagnosis:", "pathology"), ("Gross Description:", "pathology"), ("Microscopic Description:", "pathology"),
    ("Immunohistochemistry:", "pathology"), ("IHC:", "pathology"), ("Synoptic Report:", "pathology"),
    ("Molecular Testing:", "molecular_testing"), ("Molecular Pathology:", "molecular_testing"),
    ("Molecular Results:", "molecular_testing"), ("Molecular:", "molecular_testing"),
    ("Biomarkers:", "molecular_testing"), ("Biomarker Testing:", "molecular_testing"),
    ("Genomic Testing:", "molecular_testing"), ("Genomics:", "molecular_testing"),
    ("NGS Results:", "molecular_testing"),
    ("Findings:", "imaging"), ("Impression:", "observation_and_plan"), ("Assessment and Plan:", "observation_and_plan"),
    ("Assessment & Plan:", "observation_and_plan"), ("Assessment:", "observation_and_plan"),
    ("Plan:", "observation_and_plan"), ("Recommendations:", "observation_and_plan"),
    ("Review of Systems:", "review_of_systems"), ("ROS:", "review_of_systems"),
    ("Current Medications:", "medications"), ("Medications:", "medications"),
    ("Performance Status:", "functional_status"), ("Comparison:", "imaging"), ("Technique:", "imaging"),
    ("Clinical History:", "history_of_present_illness"), ("Indication:", "reason_for_examination"),
    ("Reason for Consultation:", "reason_for_examination"), ("Reason for Visit:", "reason_for_examination"),
)


_SECTION_DEFAULTS = _RESOURCES / "section_patterns.json"


def section_rules() -> list[SectionRule]:
    """medspaCy's packaged section headers plus the oncology ones above."""
    raw = json.loads(_SECTION_DEFAULTS.read_text())["section_rules"]
    rules = [SectionRule(r["literal"], r["category"]) for r in raw]
    known = {r["literal"].lower() for r in raw}
    rules += [SectionRule(lit, cat) for lit, cat in _SECTIONS if lit.lower() not in known]
    return rules
