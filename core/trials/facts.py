"""Patient facts for trial matching, loaded for many patients with a handful of SQL queries.

Each frame carries the provenance of the row that can decide a criterion, in the same
columns everywhere: ``ev_table``, ``ev_id``, ``source_uri``, ``locator``, ``observed_at``.
``pidx`` is the patient's position in ``PatientFacts.patients`` (0..n-1), so evaluators work
on numpy arrays aligned with that frame.

Conventions read from the store (documented here because other modules write them):

* diagnoses: ``patients.oncotree_code`` and ``conditions.oncotree_code`` (codes or names);
  ``patients.cancer_type`` (lung / breast / colorectal) only when no code is on file;
* age: from ``patients.birth_date`` on ``as_of`` (the date itself never leaves SQL), else
  bounded from ``age_at_diagnosis_years`` and ``diagnosis_date``;
* genes tested: ``tested_genes`` rows, any gene with a variant on file, and a genomics
  ``biomarkers`` row "<GENE> mutation" with status negative (a FHIR reported absence);
* biomarkers: ``biomarkers`` rows and biomarker / ECOG ``note_events`` (not negated, family,
  hypothetical or uncertain: "does not assess MSI" is no result) whose name maps onto a
  canonical biomarker (core/trials/normalize.py); MLH1 / MSH2 / MSH6 / PMS2 IHC combine into
  MMR status; the most recent informative result wins, at equal dates a structured row wins.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from core.trials import normalize as nz
from core.trials.fact_queries import EV_COLUMNS, Queries, fetch_frame, patient_filter
from core.trials.facts_biomarkers import load_biomarkers
from core.trials.facts_genomic import VariantIndex, load_tested, load_variants
from core.trials.oncotree import CANCER_TYPE_CODES, load_oncotree

logger = logging.getLogger(__name__)

BIG_FILTER = 2000  # longer patient lists are registered as a table


@dataclass
class PatientFacts:
    """Everything the evaluators read, for ``n`` patients (row ``pidx`` of ``patients``)."""

    as_of: date
    patients: pl.DataFrame     # pidx, patient_id, sex, age_min, age_max, age_basis + EV_COLUMNS
    diagnoses: pl.DataFrame    # pidx, code + EV_COLUMNS (most specific codes only)
    variants: pl.DataFrame     # pidx, gene, category, protein, exon, classification, cnv, partner, tier, priority + EV
    tested: pl.DataFrame       # pidx, gene, panel_name + EV_COLUMNS (a gene on two specimens: two rows)
    sequenced: np.ndarray      # bool[n]: any specimen or variant on file
    biomarkers: pl.DataFrame   # pidx, canon, value_num, status, name, value_text, unit + EV (one row per patient/canon)

    @property
    def n(self) -> int:
        return self.patients.height

    def index_of(self, patient_id: str) -> int:
        hits = self.patients.filter(pl.col("patient_id") == patient_id)["pidx"]
        if hits.len() == 0:
            raise LookupError(f"no patient {patient_id!r} in the store")
        return int(hits[0])

    def frame(self, name: str) -> pl.DataFrame:
        return getattr(self, name)

    # ---- indexes built once per batch (a polars call costs ~1 ms even on tiny frames) -------
    @cached_property
    def tested_by_gene(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """gene -> (pidx, row in ``tested``)."""
        return _partition(self.tested, "gene")

    @cached_property
    def biomarkers_by_canon(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """canonical biomarker -> (pidx, row in ``biomarkers``); one row per patient and biomarker."""
        return _partition(self.biomarkers, "canon")

    @cached_property
    def biomarker_arrays(self) -> dict[str, np.ndarray]:
        """``value_num`` and ``status`` of the biomarkers frame as numpy (converted once per batch)."""
        return {c: self.biomarkers[c].to_numpy() for c in ("value_num", "status")}

    @cached_property
    def diagnosis_codes(self) -> tuple[np.ndarray, list[str], np.ndarray]:
        """(pidx per diagnosis row, distinct codes, index of each row's code in the distinct codes)."""
        codes = self.diagnoses["code"].to_list()
        distinct = sorted(set(codes))
        pos = {c: i for i, c in enumerate(distinct)}
        return (self.diagnoses["pidx"].to_numpy(), distinct,
                np.fromiter((pos[c] for c in codes), dtype=np.int64, count=len(codes)))

    @cached_property
    def variant_index(self) -> VariantIndex:
        """The variants as integer-coded numpy columns (fast masks for many criteria)."""
        return VariantIndex.build(self.variants)


def _partition(frame: pl.DataFrame, key: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """key -> (pidx, row): keys become small integer codes, then one numpy argsort (no string sort)."""
    if frame.height == 0:
        return {}
    names = [k for k in frame[key].unique().to_list() if k is not None]
    code = frame.select(pl.col(key).replace_strict({k: i for i, k in enumerate(names)}, default=-1,
                                                   return_dtype=pl.Int32))[key].to_numpy()
    order = np.argsort(code, kind="stable")  # stable: rows keep their pidx order within a key
    sorted_codes = code[order]
    pidx = frame["pidx"].to_numpy()
    starts = np.searchsorted(sorted_codes, np.arange(len(names) + 1))
    return {k: (pidx[order[a:b]], order[a:b].astype(np.int64))
            for k, a, b in zip(names, starts[:-1], starts[1:])}


def load_facts(con: duckdb.DuckDBPyConnection, patient_ids: Sequence[str] | None = None, *,
               genes: Iterable[str] | None = None, as_of: date | None = None, detail: bool = True) -> PatientFacts:
    """Load the facts of ``patient_ids`` (default: every patient) in a few queries.

    Args:
        con: evidence-store connection (read-only is enough).
        patient_ids: patients to load; ``None`` loads all.
        genes: restrict ``tested_genes`` to these HUGO symbols (what the trials ask about);
            ``None`` loads every tested gene (fine for one patient, heavy for 100k).
        as_of: date on which ages are computed (default today).
        detail: also load ``source_uri`` / ``locator`` of every row (for per-criterion tables);
            bulk matching needs only ``ev_table`` / ``ev_id`` and skips them (null).
    """
    as_of = as_of or date.today()
    view = None
    if patient_ids is not None and len(patient_ids) > BIG_FILTER:
        # a long id list travels once, as a registered Arrow table, instead of once per query
        view = f"_trial_ids_{uuid.uuid4().hex[:8]}"
        con.register(view, pa.table({"patient_id": pa.array(list(patient_ids), pa.string())}))
    try:
        return _load(con, patient_ids, view, genes, as_of, detail)
    finally:
        if view is not None:
            con.unregister(view)


def _load(con: duckdb.DuckDBPyConnection, patient_ids: Sequence[str] | None, view: str | None,
          genes: Iterable[str] | None, as_of: date, detail: bool) -> PatientFacts:
    flt, params = patient_filter(patient_ids, view)
    q = Queries(con, flt, params, detail)
    patients = _patients(q, as_of)
    gene_list = None if genes is None else sorted({g.upper() for g in genes})
    variants = load_variants(q)
    tested = load_tested(q, gene_list, variants)
    seq = q.frame("SELECT DISTINCT ix.pidx FROM specimens t JOIN ix USING (patient_id)")
    sequenced = np.zeros(patients.height, dtype=bool)
    for frame in (seq, variants, tested):
        if frame.height:
            sequenced[frame["pidx"].to_numpy()] = True
    return PatientFacts(as_of=as_of, patients=patients, diagnoses=_diagnoses(q, patients),
                        variants=variants, tested=tested, sequenced=sequenced, biomarkers=load_biomarkers(q))


def _patients(q: Queries, as_of: date) -> pl.DataFrame:
    # birth_date is PHI: only the age computed from it leaves the database.
    df = fetch_frame(q.con, f"""
        SELECT p.patient_id, p.sex, p.cancer_type, p.oncotree_code,
               CASE WHEN p.birth_date IS NOT NULL THEN
                    year($as_of::DATE) - year(p.birth_date)
                    - CASE WHEN strftime($as_of::DATE, '%m%d') < strftime(p.birth_date, '%m%d') THEN 1 ELSE 0 END
               END AS age_exact,
               p.age_at_diagnosis_years AS age_dx,
               CASE WHEN p.diagnosis_date IS NOT NULL THEN date_diff('day', p.diagnosis_date, $as_of::DATE) END
                    AS days_since_dx,
               i.source_uri
        FROM patients p
        LEFT JOIN (SELECT patient_id, arg_min(source_uri, created_at) AS source_uri
                   FROM patient_identifiers GROUP BY patient_id) i USING (patient_id)
        WHERE {q.flt.replace('patient_id', 'p.patient_id', 1)}
        ORDER BY p.patient_id""", {**q.params, "as_of": as_of})
    # age now lies in [age_dx + elapsed, age_dx + 1 + elapsed); two days of slack keep calendar rounding
    # from ever narrowing the bounds (a wrong verdict), at worst it widens them (unknown)
    elapsed = pl.col("days_since_dx").cast(pl.Float64) / 365.25
    base = (pl.col("age_dx") + elapsed - 2 / 365.25).floor()
    top = (pl.col("age_dx") + elapsed + 1 + 2 / 365.25).floor()
    return df.with_row_index("pidx").with_columns(
        pl.col("pidx").cast(pl.Int64),
        pl.col("sex").replace_strict({v: nz.sex(v) for v in df["sex"].unique().to_list() if v is not None},
                                     default=None, return_dtype=pl.String).alias("sex"),
        pl.when(pl.col("age_exact").is_not_null()).then(pl.col("age_exact").cast(pl.Float64))
          .when(pl.col("age_dx").is_not_null() & pl.col("days_since_dx").is_not_null()).then(base)
          .when(pl.col("age_dx").is_not_null()).then(pl.col("age_dx").floor())
          .alias("age_min"),
        pl.when(pl.col("age_exact").is_not_null()).then(pl.col("age_exact").cast(pl.Float64))
          .when(pl.col("age_dx").is_not_null() & pl.col("days_since_dx").is_not_null()).then(top)
          .when(pl.col("age_dx").is_not_null()).then(pl.lit(float("inf")))
          .alias("age_max"),
        pl.when(pl.col("age_exact").is_not_null()).then(pl.lit("birth date"))
          .when(pl.col("age_dx").is_not_null() & pl.col("days_since_dx").is_not_null())
          .then(pl.lit("age at diagnosis and diagnosis date"))
          .when(pl.col("age_dx").is_not_null()).then(pl.lit("age at diagnosis only"))
          .alias("age_basis"),
        pl.lit("patients").alias("ev_table"),
        pl.col("patient_id").alias("ev_id"),
        pl.concat_str(pl.lit("patients/"), pl.col("patient_id")).alias("locator"),
        pl.lit(None, dtype=pl.Datetime).alias("observed_at"),
    ).drop("age_exact", "age_dx", "days_since_dx")


def _diagnoses(q: Queries, patients: pl.DataFrame) -> pl.DataFrame:
    cond = q.frame(f"""
        SELECT ix.pidx, t.oncotree_code AS code, 'conditions' AS ev_table, t.condition_id AS ev_id, {q.prov()}
        FROM conditions t JOIN ix USING (patient_id) WHERE t.oncotree_code IS NOT NULL""")
    from_patients = patients.filter(pl.col("oncotree_code").is_not_null()).select(
        "pidx", pl.col("oncotree_code").alias("code"), *EV_COLUMNS)
    have = set(cond["pidx"].to_list()) | set(from_patients["pidx"].to_list())
    fallback = patients.filter(~pl.col("pidx").is_in(list(have)) & pl.col("cancer_type").is_not_null()).select(
        "pidx", pl.col("cancer_type").str.to_lowercase().replace_strict(CANCER_TYPE_CODES, default=None,
                                                                         return_dtype=pl.String).alias("code"),
        *EV_COLUMNS).filter(pl.col("code").is_not_null())
    frames = [f.with_columns(pl.col("observed_at").cast(pl.Datetime("us")), pl.col("pidx").cast(pl.Int64))
              .select("pidx", "code", *EV_COLUMNS) for f in (cond, from_patients, fallback)]
    dx = pl.concat(frames, how="vertical_relaxed").unique(subset=["pidx", "code"], keep="first", maintain_order=True)
    # keep only the most specific codes of each patient (an NSCLC condition next to LUAD adds nothing)
    tree = load_oncotree()
    anc = {c: tree.ancestors(r) if (r := tree.resolve(c)) else [] for c in dx["code"].unique().to_list()}
    resolved = {c: tree.resolve(c) for c in anc}
    pairs = dx.select("pidx", pl.col("code").replace_strict(anc, return_dtype=pl.List(pl.String)).alias("anc")) \
        .explode("anc").drop_nulls().unique()
    dx = dx.with_columns(pl.col("code").replace_strict(resolved, default=None, return_dtype=pl.String).alias("node"))
    return dx.join(pairs, left_on=["pidx", "node"], right_on=["pidx", "anc"], how="anti")


