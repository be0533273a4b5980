"""Reading variants back: one row per call even when a VCF and a MAF both reported it."""
from __future__ import annotations

import duckdb
import polars as pl

from core.store.queries import frame

# Annotated rows win over unannotated ones; MAF (vcf2maf) over in-VCF annotation over hotspot lookup.
_SOURCE_RANK = "CASE annotation_source WHEN 'MAF' THEN 0 WHEN 'CSQ' THEN 1 WHEN 'ANN' THEN 2 WHEN 'EFF' THEN 3 " \
               "WHEN 'hotspot' THEN 4 ELSE 5 END"


# One call: a CNV/SV row per gene stays separate; a small variant is one call whatever its annotation.
_CALL = "PARTITION BY specimen_id, genome_build, chrom, pos, ref, alt, variant_category, " \
        "CASE WHEN variant_category = 'MUTATION' THEN '' ELSE coalesce(hugo_symbol, '') END"


def distinct_variants(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    """The patient's variants, one row per (specimen, build, chrom, pos, ref, alt, category), best-annotated kept.

    Columns are those of ``variants`` plus ``n_sources`` (how many files reported the call).
    """
    return frame(con, f"""
        SELECT * EXCLUDE (rk) FROM (
            SELECT *, row_number() OVER w AS rk, count(*) OVER w2 AS n_sources
            FROM variants WHERE patient_id = ?
            WINDOW w AS ({_CALL} ORDER BY hugo_symbol IS NULL, {_SOURCE_RANK}, source_uri), w2 AS ({_CALL})
        ) WHERE rk = 1
        ORDER BY actionability_level NULLS LAST, hugo_symbol NULLS LAST, chrom, pos""", [patient_id])
