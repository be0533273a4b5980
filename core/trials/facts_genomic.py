"""Genomic facts: variants (normalised, ranked by tier) and genes known to be sequenced."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from core.trials import normalize as nz
from core.trials.fact_queries import EV_COLUMNS, Queries

TIER_PRIORITY = {"1": 50, "2": 60, "3A": 80, "3B": 80, "3": 80, "4": 90}  # MatchMiner's tier sort values
CNV_PRIORITY = {nz.HOMDEL: 70, nz.AMP: 71, nz.GAIN: 72, nz.HETDEL: 73}
UNTIERED_PRIORITY = 95


@dataclass(frozen=True)
class VariantIndex:
    """Integer codes for gene / partner / category / CNV call, plus the raw columns for the rarer tests."""

    pidx: np.ndarray
    gene: np.ndarray          # int32 code, -1 for null
    partner: np.ndarray       # int32 code, -1 for null
    category: np.ndarray      # object: MUTATION / CNV / SV
    cnv: np.ndarray           # object
    protein_altering: np.ndarray  # bool: not a silent / non-coding call
    codes: dict[str, int]     # symbol -> code (genes and partners share one code space)
    columns: dict[str, np.ndarray]  # protein, exon, classification (object / float)

    @classmethod
    def build(cls, v: pl.DataFrame) -> VariantIndex:
        symbols = sorted(set(v["gene"].drop_nulls().to_list()) | set(v["partner"].drop_nulls().to_list()))
        codes = {g: i for i, g in enumerate(symbols)}
        coded = v.select(
            pl.col("gene").replace_strict(codes, default=-1, return_dtype=pl.Int32).alias("g"),
            pl.col("partner").replace_strict(codes, default=-1, return_dtype=pl.Int32).alias("p"),
            (~pl.col("classification").fill_null("").is_in(list(nz.NON_PROTEIN_CLASSES))).alias("alt"))
        return cls(pidx=v["pidx"].to_numpy(), gene=coded["g"].to_numpy(), partner=coded["p"].to_numpy(),
                   category=v["category"].to_numpy(), cnv=v["cnv"].to_numpy(),
                   protein_altering=coded["alt"].to_numpy(), codes=codes,
                   columns={c: v[c].to_numpy() for c in ("protein", "exon", "classification")})

    def code(self, symbol: str) -> int:
        return self.codes.get(symbol, -2)  # -2 matches nothing


def load_variants(q: Queries) -> pl.DataFrame:
    df = q.frame(f"""
        SELECT ix.pidx, upper(trim(t.hugo_symbol)) AS gene, t.variant_category, t.variant_classification,
               coalesce(t.protein_change, t.hgvsp) AS protein_raw, t.exon, t.cnv_call,
               upper(trim(t.sv_partner)) AS partner, t.actionability_level, t.origin,
               'variants' AS ev_table, t.variant_id AS ev_id, {q.prov()}
        FROM variants t JOIN ix USING (patient_id)
        WHERE t.filter IS NULL OR upper(t.filter) IN ('PASS', '.', '')
        ORDER BY ix.pidx""")
    cats = {v: nz.variant_category(v) for v in df["variant_category"].unique().to_list() if v is not None}
    cnvs = {v: nz.cnv_call(v) for v in df["cnv_call"].unique().to_list() if v is not None}
    prot = {v: nz.short_protein_change(v) for v in df["protein_raw"].unique().to_list() if v is not None}
    df = df.with_columns(
        pl.col("cnv_call").replace_strict(cnvs, default=None, return_dtype=pl.String).alias("cnv"),
        pl.col("protein_raw").replace_strict(prot, default=None, return_dtype=pl.String).alias("protein"),
        pl.col("variant_category").replace_strict(cats, default=None, return_dtype=pl.String).alias("category0"),
        pl.col("exon").cast(pl.Int64, strict=False),
        pl.col("observed_at").cast(pl.Datetime("us")),
    )
    df = df.with_columns(
        pl.coalesce(
            pl.col("category0"),
            pl.when(pl.col("cnv").is_not_null()).then(pl.lit(nz.CNV))
              .when(pl.col("partner").is_not_null()).then(pl.lit(nz.SV))
              .otherwise(pl.lit(nz.MUTATION))).alias("category"),
        pl.col("variant_classification").alias("classification"),
        pl.col("actionability_level").cast(pl.String).str.to_uppercase().alias("tier"),
    )
    prio = pl.when(pl.col("category") == nz.CNV).then(
        pl.col("cnv").replace_strict(CNV_PRIORITY, default=UNTIERED_PRIORITY, return_dtype=pl.Int64))
    prio = pl.coalesce(pl.col("tier").replace_strict(TIER_PRIORITY, default=None, return_dtype=pl.Int64), prio,
                       pl.lit(UNTIERED_PRIORITY))
    out = df.with_columns(prio.cast(pl.Int16).alias("priority")).select(
        "pidx", "gene", "category", "protein", "exon", "classification", "cnv", "partner", "tier", "origin",
        "priority", *EV_COLUMNS).sort("pidx", "priority")
    return out.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))  # evaluators filter, rows stay


def load_tested(q: Queries, genes: list[str] | None, variants: pl.DataFrame) -> pl.DataFrame:
    """(pidx, gene) pairs known to be sequenced, with the row showing it.

    Not deduplicated: a gene on two specimens gives two rows, any of which is valid evidence
    (deduplicating 700k rows costs more than the evaluators' indexing, which tolerates repeats).
    """
    semi = "" if genes is None else "SEMI JOIN (SELECT unnest($genes::VARCHAR[]) AS g) g ON upper(t.gene) = g.g"
    extra = None if genes is None else {"genes": genes}
    panel = "t.panel_name" if q.detail else "NULL::VARCHAR AS panel_name"
    df = q.frame(f"""
        SELECT ix.pidx, upper(t.gene) AS gene, {panel}, 'tested_genes' AS ev_table,
               t.specimen_id || '/' || t.gene AS ev_id, {q.prov()}
        FROM tested_genes t JOIN ix USING (patient_id) {semi}""", extra)
    # a genomics report stating "no <GENE> mutation" (FHIR reported absence) also shows the gene was tested
    neg = q.frame(f"""
        SELECT ix.pidx, upper(split_part(trim(t.name), ' ', 1)) AS gene, 'reported negative' AS panel_name,
               'biomarkers' AS ev_table, t.biomarker_id AS ev_id, {q.prov()}
        FROM biomarkers t JOIN ix USING (patient_id)
        WHERE t.modality = 'genomics' AND lower(t.status) = 'negative'
          AND regexp_matches(trim(t.name), '^[A-Za-z0-9-]+ mutation$')""")
    # a gene with a variant on file was sequenced, even when its panel list is missing
    implied = variants.filter(pl.col("gene").is_not_null()).select(
        "pidx", "gene", pl.lit(None, dtype=pl.String).alias("panel_name"), *EV_COLUMNS)
    if genes is not None:
        neg = neg.filter(pl.col("gene").is_in(genes))
        implied = implied.filter(pl.col("gene").is_in(genes))
    cols = implied.columns
    return pl.concat([df.select(cols), neg.select(cols), implied], how="vertical_relaxed") \
        .with_columns(pl.col("observed_at").cast(pl.Datetime("us")))
