"""Therapeutic actionability of a variant in the OncoKB level scheme, from CIViC evidence.

Levels (OncoKB therapeutic levels) and their conventional colours:

    1  #33A02C  FDA-recognised biomarker for an approved drug in this indication
    2  #1F78B4  standard-care (guideline) biomarker in this indication
    3A #984EA3  compelling clinical evidence in this indication
    3B #BE98CE  standard-care or clinical evidence in another indication
    4  #424242  compelling biological (preclinical / case-level) evidence
    R1 #EE3424  standard-care biomarker of resistance in this indication
    R2 #F79A92  clinical or preclinical evidence of resistance

How CIViC evidence items are mapped (only ``evidence_type == Predictive`` with
``evidence_direction == Supports``; "Does Not Support", level E, prognostic, diagnostic
and predisposing items never set a level). "In this indication" means the item's disease
covers the patient's OncoTree code (``core/genomics/diseases.py``):

    Sensitivity  A (validated)      -> 1 in this indication, 3B in another
                 B (clinical)       -> 3A in this indication, 3B in another
                 C (case study)     -> 4
                 D (preclinical)    -> 4
    Resistance   A, B               -> R1 in this indication, R2 in another
                 C, D               -> R2

Gene-wide items ("MUTATION", "TRUNCATING MUTATION") count only in their own indication
(unless tumour-agnostic): "any TP53 mutation in CLL" says nothing about TP53 in lung cancer.

CIViC A in another indication maps to 3B, not 2: OncoKB reserves 2 for guideline
biomarkers *in this indication* and puts another indication's standard care at 3B.
CIViC cannot tell an FDA label from a guideline, so level 2 comes only from the curated
table ``data/knowledge/standard_of_care.tsv`` (FDA-label and guideline biomarkers of lung,
breast and colorectal cancer), which also supplies level 1 where the 2016 CIViC extract
predates an approval (for example EGFR L858R in NSCLC is CIViC level B only).
When the patient's tumour type is not on file every item counts as another indication,
and the note says so. A variant's level is its best sensitivity level; a variant with
only resistance evidence gets its best resistance level. The note lists, per level, the
drugs and the CIViC evidence ids (or curated row ids) behind it.

Not for clinical use: CIViC 2016 biomarkers (CC0) and a small curated table.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.config import PROJECT_ROOT
from core.genomics.alterations import AlterationRule, RuleKind, VariantFacts, parse_alteration
from core.genomics.diseases import codes_for, covers

KNOWLEDGE_DIR = PROJECT_ROOT / "data" / "knowledge"
CIVIC_PATH = KNOWLEDGE_DIR / "civic_biomarkers_2016.tsv"
SOC_PATH = KNOWLEDGE_DIR / "standard_of_care.tsv"

GENE_WIDE = frozenset({RuleKind.MUTATION, RuleKind.TRUNCATING})
SENSITIVE_LEVELS = ("1", "2", "3A", "3B", "4")
RESISTANCE_LEVELS = ("R1", "R2")
LEVEL_ORDER = SENSITIVE_LEVELS + RESISTANCE_LEVELS
LEVEL_COLOURS: dict[str, str] = {
    "1": "#33A02C", "2": "#1F78B4", "3A": "#984EA3", "3B": "#BE98CE", "4": "#424242",
    "R1": "#EE3424", "R2": "#F79A92",
}
LEVEL_MEANING: dict[str, str] = {
    "1": "FDA-recognised biomarker, this indication", "2": "standard-care biomarker, this indication",
    "3A": "clinical evidence, this indication", "3B": "evidence in another indication",
    "4": "biological evidence", "R1": "standard-care resistance, this indication", "R2": "evidence of resistance",
}


def civic_levels(evidence_level: str, clinical_significance: str) -> tuple[str | None, str | None]:
    """(level in this indication, level in another) for one CIViC Predictive/Supports item; (None, None) if unused.

    Args:
        evidence_level: CIViC level, 'A'..'E' or the long form 'B: Clinical evidence'.
        clinical_significance: 'Sensitivity', 'Resistance or Non-Response', ...
    """
    letter = evidence_level.strip()[:1].upper()
    sig = clinical_significance.strip().lower()
    if sig.startswith("sensitiv"):
        return {"A": ("1", "3B"), "B": ("3A", "3B"), "C": ("4", "4"), "D": ("4", "4")}.get(letter, (None, None))
    if sig.startswith("resist"):
        return {"A": ("R1", "R2"), "B": ("R1", "R2"), "C": ("R2", "R2"), "D": ("R2", "R2")}.get(letter, (None, None))
    return None, None


@dataclass(frozen=True)
class KnowledgeItem:
    """One piece of predictive evidence, ready to test against a variant."""

    ref_id: str                     # CIVIC_80 or SOC-01
    source: str                     # 'CIViC A' / 'FDA label' ...
    rule: AlterationRule
    disease: str
    disease_codes: frozenset[str]
    drugs: str
    level_in: str
    level_out: str | None           # None: the item says nothing outside its indication

    def level_for(self, oncotree_code: str | None) -> str | None:
        return self.level_in if covers(self.disease_codes, oncotree_code) else self.level_out


@dataclass(frozen=True)
class Actionability:
    level: str | None
    note: str | None
    matched: tuple[tuple[str, KnowledgeItem], ...] = ()  # (level given, item)

    @property
    def colour(self) -> str | None:
        return LEVEL_COLOURS.get(self.level or "")


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def civic_items(path: Path = CIVIC_PATH) -> list[KnowledgeItem]:
    """CIViC evidence rows that can set a level (Predictive, Supports, level A-D, a parseable alteration)."""
    out = []
    for r in _read_tsv(path):
        if r.get("evidence_type") != "Predictive" or r.get("evidence_direction") != "Supports":
            continue
        level_in, level_out = civic_levels(r.get("evidence_level", ""), r.get("clinical_significance", ""))
        rule = parse_alteration(r["genesymbol"], r["variant_name"])
        if level_in is None or level_out is None or rule is None:
            continue
        disease = r.get("disease_name", "")
        codes = codes_for(disease)
        if rule.kind in GENE_WIDE and "*" not in codes:
            level_out = None  # "any TP53 mutation in CLL" says nothing about TP53 R175H in lung cancer
        drugs = "" if r.get("drug_names") in (None, "NA") else r["drug_names"].strip()
        out.append(KnowledgeItem(r["civic_id"], f"CIViC {r['evidence_level'][:1]}", rule, disease, codes, drugs,
                                 level_in, level_out))
    return out


def soc_items(path: Path = SOC_PATH) -> list[KnowledgeItem]:
    """Curated standard-of-care rows: the level holds in the indication; elsewhere 3B (sensitivity) or R2."""
    out = []
    for r in _read_tsv(path):
        rule = parse_alteration(r["gene"], r["alteration"])
        if rule is None:
            raise ValueError(f"{path}: {r['soc_id']}: alteration {r['alteration']!r} is not in the rule grammar")
        level = r["level"].strip().upper()
        if level not in LEVEL_ORDER:
            raise ValueError(f"{path}: {r['soc_id']}: unknown level {level!r}")
        out.append(KnowledgeItem(r["soc_id"], r["reference"], rule, r["indication"], codes_for(r["indication"]),
                                 r["drugs"], level, "R2" if level.startswith("R") else "3B"))
    return out


@lru_cache(maxsize=2)
def knowledge_index(civic_path: Path = CIVIC_PATH, soc_path: Path = SOC_PATH) -> dict[str, tuple[KnowledgeItem, ...]]:
    """All knowledge items indexed by gene (fusions also under their named partner)."""
    idx: dict[str, list[KnowledgeItem]] = defaultdict(list)
    for item in soc_items(soc_path) + civic_items(civic_path):
        idx[item.rule.gene].append(item)
        if item.rule.partner:
            idx[item.rule.partner].append(item)
    return {g: tuple(v) for g, v in idx.items()}


def _rank(level: str) -> int:
    return LEVEL_ORDER.index(level)


@lru_cache(maxsize=4096)
def assess(facts: VariantFacts, oncotree_code: str | None) -> Actionability:
    """Best OncoKB-style level and a short note for one variant in a patient's tumour type.

    Args:
        facts: the variant (gene, category, protein change, classification, exon, cnv call, partner).
        oncotree_code: the patient's OncoTree code (LUAD, BRCA, COAD, ...) or None when unknown.

    Returns:
        ``Actionability`` with level None and note None when no evidence applies.
    """
    if not facts.gene:
        return Actionability(None, None)
    idx = knowledge_index()
    candidates = set(idx.get(facts.gene, ())) | set(idx.get(facts.sv_partner or "", ()))
    levelled = ((it.level_for(oncotree_code), it) for it in candidates if it.rule.matches(facts))
    matched = sorted(((lv, it) for lv, it in levelled if lv is not None), key=lambda t: (_rank(t[0]), t[1].ref_id))
    if not matched:
        return Actionability(None, None)
    sens = [lv for lv, _ in matched if lv in SENSITIVE_LEVELS]
    level = sens[0] if sens else matched[0][0]
    return Actionability(level, _note(matched, oncotree_code), tuple(matched))


def _note(matched: list[tuple[str, KnowledgeItem]], oncotree_code: str | None, max_len: int = 480) -> str:
    by_level: dict[str, list[KnowledgeItem]] = defaultdict(list)
    for lv, it in matched:
        by_level[lv].append(it)
    parts = []
    for lv in sorted(by_level, key=_rank):
        items = by_level[lv]
        drugs: list[str] = []
        for it in items:
            for d in (x.strip() for x in it.drugs.split(",")):
                if d and d not in drugs:
                    drugs.append(d)
        ids = [it.ref_id for it in items]
        more = f" +{len(ids) - 4}" if len(ids) > 4 else ""
        parts.append(f"{lv}: {', '.join(drugs[:5])}{' ...' if len(drugs) > 5 else ''} [{', '.join(ids[:4])}{more}]")
    note = "; ".join(parts)
    if not oncotree_code:
        note = "tumour type not on file, levels assume another indication; " + note
    return note if len(note) <= max_len else note[: max_len - 3] + "..."
