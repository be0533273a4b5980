"""Biomarker facts: one latest informative result per patient and canonical biomarker."""
from __future__ import annotations

import polars as pl

from core.trials import normalize as nz
from core.trials.fact_queries import EV_COLUMNS, Queries

NUMERIC_BIOMARKERS = (nz.TMB, nz.PDL1, nz.ECOG)
NUMERIC_RANGE = {nz.TMB: 1000.0, nz.PDL1: 100.0, nz.ECOG: 5.0}  # values outside are misreads, not results

MMR_PROTEINS = ("MLH1", "MSH2", "MSH6", "PMS2")


def _mmr_from_proteins(df: pl.DataFrame) -> pl.DataFrame:
    """MMR status from IHC of the four proteins: any loss is deficient; all four retained is proficient.

    The row of the deciding protein (the lost one, or the latest retained one) is the evidence.
    """
    prot = df.filter(pl.col("canon") == nz.MMR_PROTEIN).with_columns(
        pl.col("name").str.to_uppercase().str.extract(r"^(MLH1|MSH2|MSH6|PMS2)", 1).alias("protein"))
    if prot.height == 0:
        return df.clear()
    lost = prot.filter(pl.col("cat") == nz.DEFICIENT).unique(subset=["pidx"], keep="first", maintain_order=True)
    kept = prot.filter(pl.col("cat") == nz.PROFICIENT)
    complete = kept.group_by("pidx").agg(pl.col("protein").n_unique().alias("k")).filter(pl.col("k") == 4)["pidx"]
    intact = kept.filter(pl.col("pidx").is_in(complete.implode()) & ~pl.col("pidx").is_in(lost["pidx"].implode())) \
        .sort("observed_at", descending=True, nulls_last=True).unique(subset=["pidx"], keep="first")
    return pl.concat([lost, intact]).drop("protein").with_columns(pl.lit(nz.MMR).alias("canon"))


def load_biomarkers(q: Queries) -> pl.DataFrame:
    df = q.frame(f"""
        SELECT ix.pidx, t.name, t.value_num, t.value_text, t.unit, t.status, 'biomarkers' AS ev_table,
               t.biomarker_id AS ev_id, {q.prov()}, 0 AS source_rank
        FROM biomarkers t JOIN ix USING (patient_id)
        UNION ALL
        SELECT ix.pidx, coalesce(t.concept, t.concept_type) AS name, t.value_num, t.value_text, t.unit,
               NULL AS status, 'note_events' AS ev_table, t.event_id AS ev_id, {q.prov()}, 1 AS source_rank
        FROM note_events t JOIN ix USING (patient_id)
        WHERE NOT coalesce(t.is_family, FALSE) AND NOT coalesce(t.is_hypothetical, FALSE)
          AND NOT coalesce(t.is_uncertain, FALSE)
          -- a negated mention ("does not assess TMB or MSI", "ER not performed") is not a result
          AND NOT coalesce(t.is_negated, FALSE)
          AND (lower(t.concept_type) SIMILAR TO '.*(biomarker|ecog|performance).*'
               OR lower(t.concept) SIMILAR TO '.*(ecog|pd-?l1|msi|mmr|tmb|her2|estrogen|progesterone).*')
        """)
    canon = {v: nz.canonical_biomarker(v) for v in df["name"].unique().to_list() if v is not None}
    df = df.with_columns(pl.col("name").replace_strict(canon, default=None, return_dtype=pl.String).alias("canon"),
                         pl.col("observed_at").cast(pl.Datetime("us")))
    df = df.filter(pl.col("canon").is_not_null())
    combos = df.select("canon", "status", "value_text").unique()
    # the label ("MSI-H", "IHC 3+") is more specific than a positive / negative status
    combos = combos.with_columns(pl.Series("cat", [nz.categorical_status(c, t, s) for c, s, t in combos.rows()],
                                           dtype=pl.String))
    df = df.join(combos, on=["canon", "status", "value_text"], how="left", nulls_equal=True)
    # a number not glued to a letter ("PD-L1 TPS 60%" -> 60, never the 1 of "L1")
    num_re = r"(?:^|[^A-Za-z0-9.])(\d+(?:\.\d+)?)"
    number = pl.coalesce(
        pl.col("value_num"),
        pl.col("value_text").str.extract(num_re, 1).cast(pl.Float64, strict=False),
        pl.when(pl.col("canon") == nz.ECOG).then(pl.col("name").str.extract(num_re, 1).cast(pl.Float64, strict=False)))
    df = df.with_columns(
        number.alias("value_num"),
        # receptor percentages without a stated result: >= 1% stained nuclei is positive (ASCO/CAP)
        pl.when(pl.col("cat").is_null() & pl.col("canon").is_in([nz.ER, nz.PR]) & pl.col("value_num").is_not_null())
          .then(pl.when(pl.col("value_num") >= 1).then(pl.lit(nz.POSITIVE)).otherwise(pl.lit(nz.NEGATIVE)))
          .otherwise(pl.col("cat")).alias("status"),
    )
    df = pl.concat([df, _mmr_from_proteins(df)], how="vertical_relaxed")
    informative = pl.when(pl.col("canon").is_in(NUMERIC_BIOMARKERS)).then(
        pl.col("value_num").is_between(0, pl.col("canon").replace_strict(NUMERIC_RANGE, default=1e9,
                                                                         return_dtype=pl.Float64))
    ).otherwise(pl.col("status").is_not_null()).fill_null(False)
    df = df.filter(informative).sort(["pidx", "canon", "observed_at", "source_rank"],
                                     descending=[False, False, True, False], nulls_last=True)
    return df.unique(subset=["pidx", "canon"], keep="first", maintain_order=True).select(
        "pidx", "canon", "value_num", "status", "name", "value_text", "unit", *EV_COLUMNS)
