"""Functional annotations written into VCF INFO by SnpEff (ANN, legacy EFF) and VEP (CSQ).

Each parser returns one ``Annotation`` per transcript entry; ``choose`` picks the one the
variant is reported by: protein-coding biotype first, then the most severe consequence,
then (like vcf2maf) the canonical transcript of that gene when one is flagged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from core.genomics.consequences import biotype_priority, effect_priority, eff_to_so
from core.genomics.hgvs import short_protein, splice_protein, strip_accession

FUSION_TERMS = frozenset({"gene_fusion", "bidirectional_gene_fusion"})


@dataclass(frozen=True)
class Annotation:
    source: str                      # ANN / CSQ / EFF
    gene: str | None
    consequences: tuple[str, ...]    # SO terms, most severe first
    impact: str | None = None
    transcript: str | None = None
    biotype: str | None = None
    hgvsc: str | None = None
    hgvsp: str | None = None         # as written (three-letter when the annotator wrote it so)
    protein_change: str | None = None  # short one-letter form, p.V600E (set by ``choose``)
    exon: int | None = None
    canonical: bool = False
    partner: str | None = None       # fusion partner gene (gene_fusion annotations)

    @property
    def consequence(self) -> str | None:
        return self.consequences[0] if self.consequences else None

    @property
    def priority(self) -> tuple[int, int, int]:
        return (biotype_priority(self.biotype), effect_priority(self.consequences), 0 if self.canonical else 1)


@lru_cache(maxsize=4096)
def _so_terms(text: str) -> tuple[str, ...]:
    terms = [t.strip() for t in re.split(r"[&+]", text) if t.strip()]
    return tuple(sorted(terms, key=lambda t: effect_priority([t])))


def _rank_number(text: str | None) -> int | None:
    """'21/28' -> 21."""
    if not text:
        return None
    m = re.match(r"^\s*(\d+)", text)
    return int(m.group(1)) if m else None


def _exon(consequence: str | None, exon_rank: int | None, intron_rank: int | None) -> int | None:
    """Exon a consequence belongs to; a splice donor in intron n belongs to exon n, an acceptor to exon n+1."""
    if consequence == "splice_donor_variant" and intron_rank is not None:
        return intron_rank
    if consequence == "splice_acceptor_variant" and intron_rank is not None:
        return intron_rank + 1
    if consequence in ("intron_variant", "upstream_gene_variant", "downstream_gene_variant", "intergenic_region",
                       "intergenic_variant"):
        return None
    return exon_rank


def _protein(consequence: str | None, hgvsp: str | None, hgvsc: str | None) -> str | None:
    p = short_protein(hgvsp, synonymous=consequence in ("synonymous_variant", "stop_retained_variant",
                                                         "start_retained_variant"))
    if not p and consequence in ("splice_donor_variant", "splice_acceptor_variant"):
        p = splice_protein(hgvsc)
    return p


def _genes(name: str) -> tuple[str | None, str | None]:
    parts = [g for g in name.split("&") if g] if name else []
    if not parts:
        return None, None
    return parts[0], (parts[1] if len(parts) > 1 else None)


def parse_ann(value: str, alt: str | None, n_alts: int = 1) -> list[Annotation]:
    """SnpEff ANN entries for one ALT.

    Fields: ``Allele|Annotation|Impact|Gene_Name|Gene_ID|Feature_Type|Feature_ID|BioType|Rank|HGVS.c|HGVS.p|...``
    """
    out = []
    for entry in value.split(","):
        f = entry.split("|")
        if len(f) < 11:
            continue
        if alt is not None and n_alts > 1 and f[0] != alt:
            continue
        terms = _so_terms(f[1])
        cons = terms[0] if terms else None
        gene, partner = _genes(f[3])
        rank = _rank_number(f[8])
        feature = f[5].lower()
        intron = rank if feature == "intron" or cons in ("splice_donor_variant", "splice_acceptor_variant") else None
        exon = _exon(cons, rank if intron is None else None, intron)
        hgvsc, hgvsp = strip_accession(f[9]), strip_accession(f[10])
        out.append(Annotation("ANN", gene, terms, f[2] or None, f[6] or None, f[7] or None, hgvsc, hgvsp,
                              None, exon, False, partner))
    return out


def csq_fields(description: str) -> list[str]:
    """Field names of a VEP CSQ header Description ('... Format: Allele|Consequence|...')."""
    m = re.search(r"Format:\s*([^\"']+)", description)
    return [x.strip() for x in m.group(1).strip().strip('"').split("|")] if m else []


def parse_csq(value: str, fields: list[str], allele: str | None, n_alts: int = 1) -> list[Annotation]:
    """VEP CSQ entries, field order from the header's ``Format:``."""
    idx = {name: i for i, name in enumerate(fields)}

    def get(f: list[str], name: str) -> str | None:
        i = idx.get(name)
        return (f[i] or None) if i is not None and i < len(f) else None

    out = []
    for entry in value.split(","):
        f = entry.split("|")
        if allele is not None and n_alts > 1 and get(f, "Allele") not in (allele, None):
            continue
        terms = _so_terms(get(f, "Consequence") or "")
        cons = terms[0] if terms else None
        gene = get(f, "SYMBOL") or get(f, "Gene")
        hgvsc, hgvsp = strip_accession(get(f, "HGVSc")), strip_accession(get(f, "HGVSp"))
        exon = _exon(cons, _rank_number(get(f, "EXON")), _rank_number(get(f, "INTRON")))
        canonical = (get(f, "CANONICAL") or "").upper() == "YES" or get(f, "PICK") == "1"
        out.append(Annotation("CSQ", gene, terms, get(f, "IMPACT"), get(f, "Feature"), get(f, "BIOTYPE"), hgvsc,
                              hgvsp, None, exon, canonical))
    return out


_EFF = re.compile(r"([A-Za-z0-9_+&]+)\(([^)]*)\)")


def parse_eff(value: str) -> list[Annotation]:
    """Legacy SnpEff EFF entries (all ALTs).

    Form: ``Effect(Impact|Class|Codon_Change|AA_Change|AA_Len|Gene|BioType|Coding|Transcript|Exon...)``
    """
    out = []
    for m in _EFF.finditer(value):
        terms = _so_terms("&".join(eff_to_so(e) for e in m.group(1).split("+")))
        f = m.group(2).split("|")
        f += [""] * (10 - len(f))
        cons = terms[0] if terms else None
        aa = f[3]
        hgvsc = None
        if "/" in aa:  # SnpEff 4.0 EFF with -hgvs: 'p.Gly12Cys/c.34G>T'
            aa, hgvsc = aa.split("/", 1)
        hgvsp = aa or None
        exon = _exon(cons, _rank_number(f[9]), _rank_number(f[9]) if cons in (
            "splice_donor_variant", "splice_acceptor_variant") else None)
        out.append(Annotation("EFF", f[5] or None, terms, f[0] or None, f[8] or None, f[6] or None, hgvsc or None,
                              hgvsp, None, exon))
    return out


def choose(annotations: list[Annotation]) -> Annotation | None:
    """The annotation to report: best biotype, most severe consequence, then the gene's canonical transcript.

    The parsers leave ``protein_change`` empty; it is derived here for the chosen entry only
    (SnpEff and VEP write one entry per transcript, often a dozen per record).
    """
    if not annotations:
        return None
    best = min(annotations, key=lambda a: a.priority)
    canonical = [a for a in annotations if a.canonical and a.gene == best.gene]
    if canonical and not best.canonical:
        best = min(canonical, key=lambda a: a.priority)
    return replace(best, protein_change=_protein(best.consequence, best.hgvsp, best.hgvsc))
