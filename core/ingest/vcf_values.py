"""Numbers out of VCF FORMAT / INFO values as cyvcf2 hands them over (numpy arrays with htslib's missing codes)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

MISSING_INT = np.iinfo(np.int32).min        # htslib missing value in integer FORMAT arrays (min + 1: end of vector)


def number(v: Any) -> float | None:
    """A float from an INFO/header value (first of a tuple); None when missing, not numeric or NaN."""
    if v is None:
        return None
    try:
        x = float(v[0] if isinstance(v, tuple) else v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def cell(arr: np.ndarray | None, row: int, col: int) -> float | None:
    """One FORMAT value of one sample as a float; None when absent or missing."""
    if arr is None or row >= arr.shape[0] or col >= arr.shape[1]:
        return None
    v = arr[row, col]
    if arr.dtype.kind == "i":
        return None if v <= MISSING_INT + 1 else float(v)
    if arr.dtype.kind == "f":
        return None if math.isnan(v) else float(v)
    return None


def counts(ad: np.ndarray | None, dp: np.ndarray | None, af: np.ndarray | None, row: int,
            allele: int) -> tuple[int | None, int | None, float | None]:
    """(depth, alt_count, vaf) as vcf2maf reports them: depth = DP, else the sum of AD; VAF = AF, else AD."""
    alt_count = cell(ad, row, allele)
    ref_count = cell(ad, row, 0)
    depth = cell(dp, row, 0)
    if depth is None and ad is not None:
        vals = [cell(ad, row, j) for j in range(ad.shape[1])]
        known = [v for v in vals if v is not None]
        depth = sum(known) if known else None
    vaf = cell(af, row, allele - 1)
    if vaf is None and alt_count is not None:
        denom = (ref_count + alt_count) if ref_count is not None else depth
        vaf = alt_count / denom if denom else None
    return (int(depth) if depth is not None else None, int(alt_count) if alt_count is not None else None,
            round(vaf, 4) if vaf is not None else None)


def msi_label(text: str) -> str | None:
    """'MSI-H' / 'MSI-L' / 'MSS' from the ways a report writes them; None when unrecognised."""
    t = text.strip().upper().replace("_", "-")
    if t in ("MSI-H", "MSIH", "MSI-HIGH", "HIGH", "UNSTABLE"):
        return "MSI-H"
    if t in ("MSI-L", "MSIL", "MSI-LOW", "LOW"):
        return "MSI-L"
    if t in ("MSS", "STABLE", "MS-STABLE"):
        return "MSS"
    return None
