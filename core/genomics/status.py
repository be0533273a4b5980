"""Not tested is not negative: a gene is *altered*, *wild type* or *not tested* for a patient.

    altered     a stored variant of the gene (or a fusion naming it as partner) that changes the
                protein, copies or structure: MAF classes Silent, Intron, UTR, Flank, IGR, RNA,
                Splice_Region and calls whose FILTER is not PASS do not count.
    wild type   no such variant, and the gene is on the panel (``tested_genes``) of one of the
                patient's specimens whose every call is annotated (a call nobody annotated,
                annotation_source 'none', could be in this gene, so it blocks *wild type*).
    not tested  neither: the gene was never sequenced (or cannot be ruled out), so nothing may be
                concluded; trial criteria on it are *unknown*.
"""
from __future__ import annotations

from enum import StrEnum

import duckdb

from core.genomics.consequences import NON_PROTEIN_ALTERING


class GeneStatus(StrEnum):
    ALTERED = "altered"
    WILD_TYPE = "wild type"
    NOT_TESTED = "not tested"


_NON_ALTERING = tuple(sorted(NON_PROTEIN_ALTERING))
_ALTERED_SQL = f"""
    SELECT 1 FROM variants
    WHERE patient_id = ? AND (upper(hugo_symbol) = ? OR upper(sv_partner) = ?)
      AND (filter IS NULL OR filter IN ('PASS', '.'))
      AND (variant_category IN ('CNV', 'SV')
           OR variant_classification IS NULL
           OR variant_classification NOT IN ({", ".join("?" for _ in _NON_ALTERING)}))
    LIMIT 1
"""


# A specimen tests the gene when its panel lists it and no call of it lacks a gene in every source.
_TESTED_SQL = """
    SELECT 1 FROM tested_genes t
    WHERE t.patient_id = ? AND upper(t.gene) = ?
      AND NOT EXISTS (
          SELECT 1 FROM variants u
          WHERE u.specimen_id = t.specimen_id AND u.hugo_symbol IS NULL AND u.variant_category = 'MUTATION'
            AND NOT EXISTS (SELECT 1 FROM variants a
                            WHERE a.specimen_id = u.specimen_id AND a.chrom = u.chrom AND a.pos = u.pos
                              AND a.ref = u.ref AND a.alt = u.alt AND a.hugo_symbol IS NOT NULL))
    LIMIT 1
"""


def gene_status(con: duckdb.DuckDBPyConnection, patient_id: str, gene: str) -> GeneStatus:
    """'altered' | 'wild type' | 'not tested' for ``gene`` (HUGO symbol, case-insensitive) in one patient.

    A call that names the gene but has no MAF classification counts as altered (it cannot be
    shown to be silent); a call without a gene (unannotated, not a known hotspot) names no gene.
    """
    g = gene.strip().upper()
    if con.execute(_ALTERED_SQL, [patient_id, g, g, *_NON_ALTERING]).fetchall():
        return GeneStatus.ALTERED
    tested = con.execute(_TESTED_SQL, [patient_id, g]).fetchall()
    return GeneStatus.WILD_TYPE if tested else GeneStatus.NOT_TESTED


def gene_statuses(con: duckdb.DuckDBPyConnection, patient_id: str, genes: list[str]) -> dict[str, GeneStatus]:
    """``gene_status`` for several genes (same rules, one call per gene)."""
    return {g: gene_status(con, patient_id, g) for g in genes}
