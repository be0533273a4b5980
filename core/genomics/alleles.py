"""VCF alleles -> MAF-style alleles, the way vcf2maf writes them.

The store keeps MAF conventions for ``variants.pos/ref/alt`` so the same call read
from a VCF or from a MAF has the same coordinates: shared leading bases are removed,
an empty allele is ``-``, and an insertion sits at the base *before* it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MafAlleles:
    start: int          # Start_Position (1-based)
    end: int            # End_Position
    ref: str            # Reference_Allele ('-' for insertions)
    alt: str            # Tumor_Seq_Allele2 ('-' for deletions)
    variant_type: str   # SNP / DNP / TNP / ONP / INS / DEL

    @property
    def inframe(self) -> bool:
        """True when the length change is a multiple of three (in-frame indel or substitution)."""
        return abs(_len(self.ref) - _len(self.alt)) % 3 == 0


def _len(allele: str) -> int:
    return 0 if allele == "-" else len(allele)


def vcf_to_maf(pos: int, ref: str, alt: str) -> MafAlleles:
    """Normalise one VCF REF/ALT pair (alt a plain base string) to MAF alleles.

    >>> vcf_to_maf(34880555, "A", "ACCTCTT")
    MafAlleles(start=34880555, end=34880556, ref='-', alt='CCTCTT', variant_type='INS')
    >>> vcf_to_maf(41479182, "GT", "G")
    MafAlleles(start=41479183, end=41479183, ref='T', alt='-', variant_type='DEL')
    """
    ref, alt = ref.upper(), alt.upper()
    start = pos
    # strip shared leading bases (the VCF anchor base and any longer shared prefix)
    while ref and alt and ref[0] == alt[0] and ref != alt:
        ref, alt = ref[1:], alt[1:]
        start += 1
    ref = ref or "-"
    alt = alt or "-"
    if ref == "-":
        return MafAlleles(start - 1, start, ref, alt, "INS")
    if alt == "-":
        return MafAlleles(start, start + len(ref) - 1, ref, alt, "DEL")
    if len(ref) == len(alt):
        vtype = {1: "SNP", 2: "DNP", 3: "TNP"}.get(len(ref), "ONP")
        return MafAlleles(start, start + len(ref) - 1, ref, alt, vtype)
    vtype = "INS" if len(ref) < len(alt) else "DEL"
    return MafAlleles(start, start + len(ref) - 1, ref, alt, vtype)


def vep_allele(ref: str, alt: str, all_alts: list[str]) -> str:
    """The allele string VEP writes in CSQ ``Allele`` for this ALT (anchor base removed, '-' if empty)."""
    plain = [a for a in all_alts if a and a[0] != "<" and "[" not in a and "]" not in a]
    if plain and ref and all(a[0] == ref[0] for a in plain) and (len(ref) > 1 or any(len(a) > 1 for a in plain)):
        return alt[1:] or "-"
    return alt
