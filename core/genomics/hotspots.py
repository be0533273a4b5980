"""The curated hotspot table (data/knowledge/hotspots.tsv): annotation for unannotated calls.

Rows are VCF-style (anchor base kept for indels) for GRCh37 and GRCh38; lookups compare
MAF-normalised alleles so any left-aligned representation of the same call matches.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.config import PROJECT_ROOT
from core.genomics.alleles import vcf_to_maf
from core.genomics.builds import normalise_build, normalise_chrom

HOTSPOTS_PATH = PROJECT_ROOT / "data" / "knowledge" / "hotspots.tsv"
COLUMNS = ("genome_build", "chrom", "pos", "ref", "alt", "hugo_symbol", "protein_change", "hgvsc",
           "variant_classification", "exon")


@dataclass(frozen=True)
class Hotspot:
    genome_build: str
    chrom: str
    pos: int
    ref: str
    alt: str
    hugo_symbol: str
    protein_change: str
    hgvsc: str
    variant_classification: str
    exon: int | None


@lru_cache(maxsize=4)
def load_hotspots(path: Path = HOTSPOTS_PATH) -> dict[tuple[str, str, int, str, str], Hotspot]:
    """Hotspots keyed by (build, chrom, MAF start, MAF ref, MAF alt).

    Raises:
        ValueError: a row with a wrong column set or an unknown build (the table is curated: fail loudly).
    """
    out: dict[tuple[str, str, int, str, str], Hotspot] = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: columns must be {' '.join(COLUMNS)}")
        for lineno, row in enumerate(reader, start=2):
            build = normalise_build(row["genome_build"])
            if build is None:
                raise ValueError(f"{path} line {lineno}: unknown genome_build")
            h = Hotspot(str(build), normalise_chrom(row["chrom"]), int(row["pos"]), row["ref"], row["alt"],
                        row["hugo_symbol"], row["protein_change"], row["hgvsc"], row["variant_classification"],
                        int(row["exon"]) if row["exon"] else None)
            m = vcf_to_maf(h.pos, h.ref, h.alt)
            out[(h.genome_build, h.chrom, m.start, m.ref, m.alt)] = h
    return out


def lookup(build: str | None, chrom: str, pos: int, ref: str, alt: str, *,
           path: Path = HOTSPOTS_PATH) -> Hotspot | None:
    """The hotspot at a VCF-style call on ``build``, or None (also None when the build is unknown)."""
    b = normalise_build(build)
    if b is None:
        return None
    m = vcf_to_maf(pos, ref, alt)
    return load_hotspots(path).get((str(b), normalise_chrom(chrom), m.start, m.ref, m.alt))
