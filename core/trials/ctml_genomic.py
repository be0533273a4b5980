"""Genomic nodes of CTML: variant criteria, mutational signatures and MMR / MSI status."""
from __future__ import annotations

import re
from typing import Any, Protocol

from core.trials import normalize as nz
from core.trials.model import Criterion, GenomicSpec, Group, Leaf, Node

SIGNATURE_KEYS = {f"{s.lower()}_signature": s for s in nz.SIGNATURES}
GENOMIC_VARIANT_KEYS = {"hugo_symbol", "variant_category", "protein_change", "wildcard_protein_change", "exon",
                        "variant_classification", "cnv_call", "wildtype", "fusion_partner_hugo_symbol"}
IGNORED_GENOMIC = {"display_name"}
MMR_VALUES = {"mmr-deficient": nz.DEFICIENT, "mmr-proficient": nz.PROFICIENT,
              "msi-h": nz.DEFICIENT, "msi-l": nz.PROFICIENT, "mss": nz.PROFICIENT}


class Reporter(Protocol):
    """Where parsing problems go (core/trials/ctml.py collects them per trial)."""

    def err(self, path: str, reason: str) -> None: ...

    def warn(self, path: str, reason: str) -> None: ...

    def has_errors_under(self, path: str) -> bool: ...


def unsupported_leaf(p: Reporter, path: str, what: str, raw: str, node: str) -> Leaf:
    """A leaf that always evaluates as unknown, with a warning naming the path."""
    p.warn(path, f"{what} is not supported; this criterion evaluates as unknown")
    return Leaf(Criterion(path, node, "unsupported", (raw,), False, f"not evaluated: {raw}", raw))


def genomic_node(p: Reporter, obj: Any, path: str) -> Node | None:
    """A CTML genomic node: one variant leaf, or signature / MMR biomarker leaves."""
    if not isinstance(obj, dict) or not obj:
        p.err(path, "genomic node must be a non-empty mapping")
        return None
    lowered = {str(k).lower(): v for k, v in obj.items()}
    raw = ", ".join(f"{k}: {v}" for k, v in obj.items())
    biomarker_leaves: list[Node] = []
    biomarker_keys = [k for k in lowered if k in SIGNATURE_KEYS or k in ("mmr_status", "ms_status")]
    for k, v in lowered.items():
        kpath = f"{path}.{k}"
        if k in SIGNATURE_KEYS:
            canon = SIGNATURE_KEYS[k]
            negate, text = split_negation(v)
            val = "yes" if str(text).strip().lower() in ("yes", "true") else (
                "no" if str(text).strip().lower() in ("no", "false") else None)
            if val is None:
                p.err(kpath, f"expected Yes or No, found {text!r}")
                continue
            biomarker_leaves.append(Leaf(Criterion(kpath, "genomic", "biomarker_status", (canon, val), negate,
                                                   f"{'NOT ' if negate else ''}{canon.lower()} signature: {val}",
                                                   f"{k}: {v}")))
        elif k in ("mmr_status", "ms_status"):
            negate, text = split_negation(v)
            val = MMR_VALUES.get(str(text).strip().lower())
            if val is None:
                p.err(kpath, f"expected one of MMR-Deficient, MMR-Proficient, MSI-H, MSI-L, MSS; found {text!r}")
                continue
            biomarker_leaves.append(Leaf(Criterion(kpath, "genomic", "biomarker_status", (nz.MMR, val), negate,
                                                   f"{'NOT ' if negate else ''}{text} (MMR {val})", f"{k}: {v}")))
    if biomarker_keys:  # MatchMiner ignores hugo_symbol on signature / MMR nodes
        if not biomarker_leaves:
            return None
        return biomarker_leaves[0] if len(biomarker_leaves) == 1 else Group("and", tuple(biomarker_leaves), path)
    return _variant(p, lowered, path, raw)


def _variant(p: Reporter, g: dict[str, Any], path: str, raw: str) -> Node | None:
    negate = False
    vals: dict[str, str] = {}
    unsupported = []
    for k, v in g.items():
        if k in IGNORED_GENOMIC:
            continue
        if k not in GENOMIC_VARIANT_KEYS:
            unsupported.append(k)
            continue
        if v is None:
            continue
        neg, text = split_negation(v)
        negate = negate or neg
        vals[k] = text.strip()
    if unsupported:
        return unsupported_leaf(p, f"{path}.{unsupported[0]}", f"genomic key(s) {unsupported}", raw, "genomic")
    gene = vals.get("hugo_symbol")
    if gene is not None and gene.lower() in ("none", "null", ""):
        gene = None
    if gene is not None and gene.lower().replace(" ", "_") == "any_gene":
        gene = "any_gene"
    elif gene is not None:
        gene = gene.upper()
    cat = None
    if "variant_category" in vals:
        cat = nz.variant_category(vals["variant_category"])
        if cat is None:
            p.err(f"{path}.variant_category", f"unknown category {vals['variant_category']!r} (expected Mutation, "
                                                 "Copy Number Variation, Structural Variation or Any Variation)")
    cnv = None
    if "cnv_call" in vals:
        cnv = nz.TRIAL_CNV_CALLS.get(vals["cnv_call"].lower())
        if cnv is None:
            p.err(f"{path}.cnv_call", f"unknown CNV call {vals['cnv_call']!r} (expected High Amplification, "
                                         "Low Amplification, Gain, Homozygous Deletion or Heterozygous Deletion)")
        cat = cat or nz.CNV
    partner = vals.get("fusion_partner_hugo_symbol")
    if partner is not None:
        low = partner.lower().replace(" ", "_")
        partner = low if low in ("any_gene", "intergenic") else partner.upper()
        cat = cat or nz.SV
    protein = wildcard = None
    if "protein_change" in vals:
        protein = nz.short_protein_change(vals["protein_change"])
        if protein is None or not re.match(r"^p\.[A-Z*]\d+", protein):
            p.err(f"{path}.protein_change",
                  f"expected HGVS short form such as p.V600E, found {vals['protein_change']!r}")
    if "wildcard_protein_change" in vals:
        wildcard = nz.short_protein_change(vals["wildcard_protein_change"])
        if wildcard is None or not re.match(r"^p\.[A-Z*]\d+$", wildcard):
            p.err(f"{path}.wildcard_protein_change",
                     f"expected a residue such as p.V600, found {vals['wildcard_protein_change']!r}")
    exon = None
    if "exon" in vals:
        try:
            exon = int(float(vals["exon"]))
        except (ValueError, OverflowError):
            p.err(f"{path}.exon", f"expected an exon number, found {vals['exon']!r}")
    wildtype = None
    if "wildtype" in vals:
        w = vals["wildtype"].lower()
        if w not in ("true", "false"):
            p.err(f"{path}.wildtype", f"expected true or false, found {vals['wildtype']!r}")
        wildtype = w == "true"
    if gene is None and partner is None:
        p.err(f"{path}.hugo_symbol", "a genomic criterion needs hugo_symbol (or a fusion partner, "
                                        "a signature or mmr_status / ms_status)")
    if wildtype is not None and (gene in (None, "any_gene")):
        p.err(f"{path}.wildtype", "wildtype needs a specific hugo_symbol")
    if (protein or wildcard or exon is not None) and cat is None:
        cat = nz.MUTATION
    if p.has_errors_under(path):
        return None
    spec = GenomicSpec(gene=gene, category=cat, protein_change=protein, wildcard_protein_change=wildcard,
                       exon=exon, variant_classification=vals.get("variant_classification"), cnv_call=cnv,
                       fusion_partner=partner, wildtype=wildtype)
    return Leaf(Criterion(path, "genomic", "variant", (spec,), negate, describe_variant(spec, negate), raw))


def describe_variant(s: GenomicSpec, negate: bool = False) -> str:
    """Human wording of a genomic criterion, e.g. 'EGFR p.L858R mutation', 'NOT BRAF p.V600* mutation'."""
    gene = "any gene" if s.gene in (None, "any_gene") else s.gene
    if s.wildtype is not None:
        text = f"{gene} wild-type" if s.wildtype else f"{gene} altered (not wild-type)"
        return ("NOT " if negate else "") + text
    bits = [gene]
    if s.category == nz.SV:
        partner = {None: "any partner", "any_gene": "any partner", "intergenic": "intergenic"}.get(
            s.fusion_partner, s.fusion_partner)
        bits.append(f"fusion / rearrangement ({partner})")
    elif s.category == nz.CNV:
        bits.append(nz.CNV_LABELS.get(s.cnv_call or "", "copy-number alteration"))
    else:
        if s.protein_change:
            bits.append(s.protein_change)
        if s.wildcard_protein_change:
            bits.append(f"{s.wildcard_protein_change}* (any substitution)")
        if s.exon is not None:
            bits.append(f"exon {s.exon}")
        if s.variant_classification:
            bits.append(s.variant_classification.replace("_", " ").lower())
        bits.append("alteration" if s.category == nz.ANY else "mutation")
    return ("NOT " if negate else "") + " ".join(bits)


def split_negation(value: Any) -> tuple[bool, str]:
    text = "" if value is None else str(value).strip()
    if text.startswith("!"):
        return True, text[1:].strip()
    return False, text
