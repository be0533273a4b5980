"""HGVS protein notation: the short one-letter form (p.V600E) the store and CTML use."""
from __future__ import annotations

import re
from functools import lru_cache

AA3TO1: dict[str, str] = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Asx": "B", "Cys": "C", "Glu": "E", "Gln": "Q", "Glx": "Z",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Xaa": "X", "Xxx": "X", "Ter": "*", "Sec": "U", "Pyl": "O",
}
_AA3 = re.compile("|".join(AA3TO1))
_SAME = re.compile(r"^p\.([A-Z*])(\d+)\1$")          # p.S60S -> p.S60=
_POS_ONLY = re.compile(r"^p\.([A-Z*])(\d+)$")        # EFF synonymous 'S60' -> p.S60=
_CPOS = re.compile(r"^c\.(-?\*?)(\d+)")


def strip_accession(hgvs: str | None) -> str | None:
    """'ENSP00000288602.6:p.Val600Glu' -> 'p.Val600Glu'; URL escapes (%3D) decoded; '' -> None."""
    if not hgvs:
        return None
    h = hgvs.split(":", 1)[1] if ":" in hgvs and not hgvs.startswith(("p.", "c.")) else hgvs
    h = h.replace("%3D", "=").replace("%3d", "=").strip()
    return h or None


@lru_cache(maxsize=65536)
def short_protein(hgvsp: str | None, *, synonymous: bool = False) -> str | None:
    """One-letter protein change: 'p.Val600Glu' -> 'p.V600E', 'p.Asn139GlnfsTer5' -> 'p.N139Qfs*5'.

    Args:
        hgvsp: HGVS p. notation, three- or one-letter, with or without the 'p.' prefix and parentheses.
        synonymous: the caller knows the change is silent (an EFF 'S60' then reads 'p.S60=').
    """
    h = strip_accession(hgvsp)
    if not h or h in ("p.?", "p.=", "?"):
        return h
    h = h.replace("(", "").replace(")", "")
    if not h.startswith("p."):
        h = "p." + h
    h = _AA3.sub(lambda m: AA3TO1[m.group(0)], h)
    m = _SAME.match(h)
    if m:
        return f"p.{m.group(1)}{m.group(2)}="
    if synonymous and _POS_ONLY.match(h):
        return h + "="
    return h


def splice_protein(hgvsc: str | None) -> str | None:
    """vcf2maf's protein label for a splice-site variant: 'c.3028+1G>T' -> 'p.X1010_splice'."""
    if not hgvsc:
        return None
    m = _CPOS.match(strip_accession(hgvsc) or "")
    if not m or m.group(1):
        return None
    c_pos = max(int(m.group(2)), 1)
    return f"p.X{round((c_pos + c_pos % 3) / 3)}_splice"


def protein_codon(protein_change: str | None) -> tuple[str, int] | None:
    """('V', 600) for 'p.V600E'; None when the change does not start with a residue and a number."""
    if not protein_change:
        return None
    m = re.match(r"^p\.([A-Z*])(\d+)", protein_change)
    return (m.group(1), int(m.group(2))) if m else None
