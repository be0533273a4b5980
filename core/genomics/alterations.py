"""Alteration names as knowledge bases write them ('V600E', 'V600', 'EXON 19 DELETION', 'AMPLIFICATION',
'EML4-ALK') parsed into rules that test a stored variant.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.genomics.consequences import NON_PROTEIN_ALTERING, TRUNCATING
from core.genomics.hgvs import protein_codon
from core.genomics.structural import DELETION_CALLS, CnvCall


@dataclass(frozen=True)
class VariantFacts:
    """What a rule may look at: the columns of one ``variants`` row."""

    gene: str | None
    category: str = "MUTATION"                 # MUTATION / CNV / SV
    protein_change: str | None = None          # p.V600E
    variant_classification: str | None = None  # MAF Variant_Classification
    exon: int | None = None
    cnv_call: str | None = None
    sv_partner: str | None = None


class RuleKind(StrEnum):
    EXACT = "exact"
    CODON = "codon"
    EXON = "exon"
    MUTATION = "mutation"
    TRUNCATING = "truncating"
    AMPLIFICATION = "amplification"
    DELETION = "deletion"
    FUSION = "fusion"


@dataclass(frozen=True)
class AlterationRule:
    gene: str
    kind: RuleKind
    values: frozenset[str] = frozenset()   # EXACT: 'V600E'; CODON: 'V600'
    exon_lo: int = 0
    exon_hi: int = 0
    exon_change: str = ""                   # DELETION / INSERTION / MUTATION / SKIPPING
    partner: str | None = None              # FUSION with a named partner

    def matches(self, v: VariantFacts) -> bool:
        """True when the variant ``v`` is an instance of this alteration."""
        if self.kind == RuleKind.FUSION:
            genes = {v.gene, v.sv_partner}
            return (v.category == "SV" and self.gene in genes
                    and (self.partner is None or self.partner in genes))
        if v.gene != self.gene:
            return False
        if self.kind == RuleKind.AMPLIFICATION:
            return v.category == "CNV" and v.cnv_call == CnvCall.AMPLIFICATION
        if self.kind == RuleKind.DELETION:
            return v.category == "CNV" and v.cnv_call in DELETION_CALLS
        if v.category != "MUTATION":
            return False
        pc = (v.protein_change or "").upper().removeprefix("P.")
        vc = v.variant_classification
        if self.kind == RuleKind.EXACT:
            return pc in self.values
        if self.kind == RuleKind.CODON:
            codon = protein_codon(v.protein_change)
            return codon is not None and f"{codon[0]}{codon[1]}" in self.values and not pc.endswith("=")
        if self.kind == RuleKind.MUTATION:
            return vc is not None and vc not in NON_PROTEIN_ALTERING
        if self.kind == RuleKind.TRUNCATING:
            return vc in TRUNCATING
        if self.kind == RuleKind.EXON:
            if v.exon is None or not (self.exon_lo <= v.exon <= self.exon_hi):
                return False
            return {
                "DELETION": vc == "In_Frame_Del",
                "INSERTION": vc == "In_Frame_Ins",
                "SKIPPING": vc in ("Splice_Site", "Splice_Region", "In_Frame_Del"),
            }.get(self.exon_change, vc is not None and vc not in NON_PROTEIN_ALTERING)
        return False


_EXON = re.compile(r"^EXON (\d+)(?:-(\d+))? (DELETION|INSERTION|MUTATION|SKIPPING MUTATION|SKIPPING)S?$")
_CODON = re.compile(r"^[A-Z]\d+$")
_EXACT = re.compile(r"^[A-Z*]\d+(?:_[A-Z*]\d+)?(?:[A-Z*]|DEL|DUP|INS[A-Z]+|DELINS[A-Z]+|[A-Z]?FS(?:\*\d+)?)$")
_FUSION = re.compile(r"^([A-Z0-9]+)(?:-|::)([A-Z0-9]+)(?: FUSION)?$")


def parse_alteration(gene: str, name: str) -> AlterationRule | None:
    """A rule for ``gene`` + alteration ``name``; None for names no variant row can show (expression, wild type)."""
    g = gene.strip().upper()
    n = " ".join(name.strip().upper().split()).removeprefix("P.")
    if n in ("MUTATION", "MUTATIONS", "ONCOGENIC MUTATION", "ONCOGENIC MUTATIONS", "ACTIVATING MUTATION"):
        return AlterationRule(g, RuleKind.MUTATION)
    if n in ("TRUNCATING MUTATION", "TRUNCATING MUTATIONS", "DELETERIOUS MUTATION", "LOSS-OF-FUNCTION",
             "LOSS OF FUNCTION"):
        return AlterationRule(g, RuleKind.TRUNCATING)
    if n == "AMPLIFICATION":
        return AlterationRule(g, RuleKind.AMPLIFICATION)
    if n in ("LOSS", "DELETION", "HOMOZYGOUS DELETION"):
        return AlterationRule(g, RuleKind.DELETION)
    if n in ("FUSION", "FUSIONS", f"{g} FUSION", f"{g} FUSIONS", "REARRANGEMENT"):
        return AlterationRule(g, RuleKind.FUSION)
    m = _EXON.match(n)
    if m:
        lo = int(m.group(1))
        return AlterationRule(g, RuleKind.EXON, exon_lo=lo, exon_hi=int(m.group(2) or lo),
                              exon_change=m.group(3).split()[0])
    parts = n.split("/")
    if all(_CODON.match(p) for p in parts):
        return AlterationRule(g, RuleKind.CODON, values=frozenset(parts))
    if _EXACT.match(parts[0]):
        first = parts[0]
        alts = [first] + [first[:-1] + p if re.fullmatch(r"[A-Z*]", p) else p for p in parts[1:]]
        if all(_EXACT.match(a) for a in alts):
            return AlterationRule(g, RuleKind.EXACT, values=frozenset(alts))
        return None
    m = _FUSION.match(n)
    if m and g in (m.group(1), m.group(2)):
        partner = m.group(2) if m.group(1) == g else m.group(1)
        return AlterationRule(g, RuleKind.FUSION, partner=partner)
    return None
