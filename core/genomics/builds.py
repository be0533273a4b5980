"""Genome builds and chromosome names: one spelling for each (GRCh37 / GRCh38, '7' not 'chr7')."""
from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum


class Build(StrEnum):
    GRCH37 = "GRCh37"
    GRCH38 = "GRCh38"


_ALIASES: tuple[tuple[str, Build], ...] = (
    (r"grch38|hg38|\bb38\b|hs38|assembly38|^38$", Build.GRCH38),
    (r"grch37|hg19|\bb37\b|hs37|g1k_v37|assembly37|^37$", Build.GRCH37),
)

# Chromosome lengths that differ between the builds (from the assemblies' own headers).
_LENGTHS: dict[tuple[str, int], Build] = {
    ("1", 249250621): Build.GRCH37, ("1", 248956422): Build.GRCH38,
    ("2", 243199373): Build.GRCH37, ("2", 242193529): Build.GRCH38,
    ("3", 198022430): Build.GRCH37, ("3", 198295559): Build.GRCH38,
    ("7", 159138663): Build.GRCH37, ("7", 159345973): Build.GRCH38,
    ("12", 133851895): Build.GRCH37, ("12", 133275309): Build.GRCH38,
    ("17", 81195210): Build.GRCH37, ("17", 83257441): Build.GRCH38,
    ("21", 48129895): Build.GRCH37, ("21", 46709983): Build.GRCH38,
    ("X", 155270560): Build.GRCH37, ("X", 156040895): Build.GRCH38,
}


def normalise_build(text: str | None) -> Build | None:
    """'hg19', 'GRCh37.p13', 'b37', '37' -> GRCh37; 'hg38', 'GRCh38' -> GRCh38; anything else -> None."""
    if not text:
        return None
    t = str(text).strip().lower()
    for pattern, build in _ALIASES:
        if re.search(pattern, t):
            return build
    return None


def normalise_chrom(chrom: str) -> str:
    """'chr7' -> '7', 'chrM' -> 'MT'; other names are kept as written."""
    c = chrom.strip()
    if c[:3].lower() == "chr":
        c = c[3:]
    return "MT" if c in ("M", "m") else c


def build_from_vcf_header(meta_lines: Iterable[str]) -> tuple[Build | None, str | None]:
    """Genome build stated by VCF ``##`` lines: (build, the line kind that said so) or (None, None).

    Looks, in order, at ``##reference=``, ``##assembly=``/``##genome_build=``, ``##contig=<...assembly=...>``,
    then at contig lengths that differ between GRCh37 and GRCh38.
    """
    reference = assembly = contig_assembly = by_length = None
    for line in meta_lines:
        low = line.lower()
        if low.startswith("##reference="):
            reference = reference or normalise_build(line.split("=", 1)[1])
        elif low.startswith(("##assembly=", "##genome_build=", "##genomebuild=", "##ncbi_build=")):
            assembly = assembly or normalise_build(line.split("=", 1)[1])
        elif low.startswith("##contig=<"):
            m = re.search(r"assembly=([^,>]+)", line, re.I)
            if m:
                contig_assembly = contig_assembly or normalise_build(m.group(1))
            mid = re.search(r"ID=([^,>]+)", line)
            mlen = re.search(r"length=(\d+)", line)
            if mid and mlen:
                by_length = by_length or _LENGTHS.get((normalise_chrom(mid.group(1)), int(mlen.group(1))))
    for build, how in ((reference, "##reference"), (assembly, "##assembly"),
                       (contig_assembly, "##contig assembly"), (by_length, "##contig length")):
        if build is not None:
            return build, how
    return None, None
