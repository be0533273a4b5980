"""Copy-number and structural-variant records in a VCF: which they are and what they call.

A record is a CNV when its SVTYPE / symbolic ALT is DEL, DUP, AMP, CNV, GAIN or LOSS (or it
carries a copy number, CN); it is an SV when it is a breakend (BND), an inversion, a
translocation or is annotated ``gene_fusion``. Anything else is a small variant (MUTATION).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class VariantCategory(StrEnum):
    MUTATION = "MUTATION"
    CNV = "CNV"
    SV = "SV"


# Values of variants.variant_category as MatchMiner CTML writes them (for the trial matcher).
CTML_CATEGORY: dict[str, str] = {"MUTATION": "Mutation", "CNV": "Copy Number Variation", "SV": "Structural Variation"}


class CnvCall(StrEnum):
    AMPLIFICATION = "Amplification"          # high-level gain (CN >= 5 or <AMP>); CTML 'High level amplification'
    GAIN = "Gain"                            # CN 3-4 or <DUP> without a copy number
    HETEROZYGOUS_DELETION = "Heterozygous deletion"  # CN 1
    HOMOZYGOUS_DELETION = "Homozygous deletion"      # CN 0
    DELETION = "Deletion"                    # <DEL> without a copy number


DELETION_CALLS = frozenset({CnvCall.HETEROZYGOUS_DELETION, CnvCall.HOMOZYGOUS_DELETION, CnvCall.DELETION})
CNV_TYPES = frozenset({"DEL", "DUP", "AMP", "CNV", "GAIN", "LOSS", "DUP:TANDEM"})
SV_TYPES = frozenset({"BND", "INV", "TRA", "CTX", "FUSION", "INS"})
PARTNER_KEYS = ("SV_PARTNER", "PARTNER_GENE", "FUSION_PARTNER", "GENE_B", "GENE2", "PARTNER")
GENE_KEYS = ("GENE", "GENES", "SYMBOL", "GENE_A", "GENE1", "Gene_Name", "GENE_NAME")


@dataclass(frozen=True)
class StructuralCall:
    category: VariantCategory
    svtype: str
    cnv_call: str | None = None
    copy_number: float | None = None


def svtype_of(alt: str, info_svtype: str | None) -> str | None:
    """SV type from INFO SVTYPE, a symbolic ALT (<DEL>, <DUP:TANDEM>) or breakend notation; None for small variants."""
    if info_svtype:
        return str(info_svtype).upper()
    if alt.startswith("<") and alt.endswith(">"):
        inner = alt[1:-1].upper()
        return inner if inner == "DUP:TANDEM" else inner.split(":")[0]
    if "[" in alt or "]" in alt:
        return "BND"
    return None


def cnv_call_for(svtype: str, copy_number: float | None) -> str | None:
    """The cnv_call of a CNV record; None for a copy-neutral segment (CN 2)."""
    if copy_number is not None and not math.isnan(copy_number):
        cn = copy_number
        if cn >= 5:
            return CnvCall.AMPLIFICATION
        if cn > 2.5:
            return CnvCall.GAIN
        if cn < 0.5:
            return CnvCall.HOMOZYGOUS_DELETION
        if cn < 1.5:
            return CnvCall.HETEROZYGOUS_DELETION
        return None
    if svtype == "AMP":
        return CnvCall.AMPLIFICATION
    if svtype in ("DUP", "GAIN", "DUP:TANDEM"):
        return CnvCall.GAIN
    if svtype in ("DEL", "LOSS"):
        return CnvCall.DELETION
    return None


def classify(alt: str, info_svtype: str | None, copy_number: float | None,
             fusion_annotated: bool = False) -> StructuralCall | None:
    """CNV / SV classification of one ALT allele, or None for an ordinary small variant."""
    svtype = svtype_of(alt, info_svtype)
    if fusion_annotated or svtype in SV_TYPES:
        return StructuralCall(VariantCategory.SV, svtype or "FUSION")
    if svtype in CNV_TYPES or (copy_number is not None and (svtype or alt in ("", ".", "*"))):
        st = svtype or "CNV"
        return StructuralCall(VariantCategory.CNV, st, cnv_call_for(st, copy_number), copy_number)
    return None
