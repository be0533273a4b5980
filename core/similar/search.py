"""Similar historical cases of a patient, what happened to them, and where they sit on the cohort map.

Neighbours are always historical cases (``patients.cohort = 'historical'``), never the
patient itself: current board cases are queries, not neighbours. Results carry the
pseudonymous ``patient_id`` and clinical attributes only; no names, MRNs or dates.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from core.similar.case_index import CaseIndex, case_index
from core.similar.index import search
from core.similar.outcomes import GroupOutcomes, summarise_groups
from core.similar.profile import compare_profiles
from core.similar.representation import CaseKind

logger = logging.getLogger(__name__)

MAX_K = 100
NEIGHBOUR_GROUP = "similar cases"
COHORT_GROUP = "all historical cases"


class NoCaseVector(LookupError):
    """The patient has no case vector of this kind (unknown patient, or no imaging for ``kind='imaging'``)."""

    def __init__(self, patient_id: str, kind: str) -> None:
        hint = " (no imaging on file: use kind='fused')" if kind == CaseKind.IMAGING else ""
        super().__init__(f"patient {patient_id} has no {kind} case vector{hint}")
        self.patient_id, self.kind = patient_id, kind


@dataclass(frozen=True)
class SimilarFilters:
    """Restrict the neighbours.

    Attributes:
        same_cancer_type: only cases of the patient's cancer type.
        same_driver: only cases sharing a driver gene with the patient; for a patient
            sequenced without a driver, cases sequenced without one. A patient not
            sequenced has no driver to match: the filter then raises ``ValueError``.
        driver_gene: only cases with a driver in this gene (e.g. "EGFR").
        treated_with: only cases with a treatment whose name contains this text
            (case-insensitive; any line, e.g. "osimertinib", "pembrolizumab").
        same_stage: only cases of the patient's stage group.
    """

    same_cancer_type: bool = False
    same_driver: bool = False
    driver_gene: str | None = None
    treated_with: str | None = None
    same_stage: bool = False

    def describe(self) -> str:
        parts = [name for name, on in (("same cancer type", self.same_cancer_type), ("same driver", self.same_driver),
                                       ("same stage", self.same_stage)) if on]
        if self.driver_gene:
            parts.append(f"{self.driver_gene} driver")
        if self.treated_with:
            parts.append(f"treated with {self.treated_with}")
        return ", ".join(parts) or "none"


def _allowed(ci: CaseIndex, query: dict, filters: SimilarFilters | None) -> np.ndarray | None:
    """Boolean mask over the indexed cases (index rows), or None for no filter."""
    if filters is None or filters.describe() == "none":
        return None
    hist = ci.cases.filter(pl.col("index_row") >= 0).sort("index_row")
    cond = pl.lit(True)
    if filters.same_cancer_type:
        cond = cond & (pl.col("cancer_type") == (query.get("cancer_type") or ""))
    if filters.same_stage:
        cond = cond & (pl.col("stage_group") == (query.get("stage_group") or ""))
    if filters.same_driver:
        genes = list(query.get("driver_genes") or [])
        if genes:
            cond = cond & pl.col("driver_genes").list.eval(pl.element().is_in(genes)).list.any()
        elif query.get("sequenced"):
            cond = cond & pl.col("sequenced") & (pl.col("driver_genes").list.len() == 0)
        else:
            raise ValueError("same-driver filter: this patient was not sequenced, so there is no driver to match; "
                             "use driver_gene='EGFR' (for example) instead")
    if filters.driver_gene:
        cond = cond & pl.col("driver_genes").list.contains(filters.driver_gene.strip().upper())
    if filters.treated_with:
        text = filters.treated_with.strip().lower()
        cond = cond & pl.col("therapies").list.eval(pl.element().str.to_lowercase().str.contains(text, literal=True)).list.any()
    return hist.select(cond.fill_null(False).alias("ok"))["ok"].to_numpy()


def nearest(ci: CaseIndex, patient_id: str, k: int = 10, filters: SimilarFilters | None = None) -> list[tuple[int, float]]:
    """(position in ``ci.cases``, cosine similarity) of the top-``k`` historical neighbours, best first.

    Unfiltered queries go through the faiss index; filtered ones are exact over the
    allowed cases (a filtered subset is small, and approximate indexes lose recall under
    restrictive filters).

    Raises:
        NoCaseVector: the patient has no vector of this index's kind.
    """
    pos = ci.position(patient_id)
    if pos is None:
        raise NoCaseVector(patient_id, ci.meta.kind)
    k = max(1, min(int(k), MAX_K))
    q = ci.vectors[pos]
    query = ci.cases.row(pos, named=True)
    self_row = int(ci.cases["index_row"][pos])
    allowed = _allowed(ci, query, filters)
    if allowed is None:
        scores, rows = search(ci.index, q, k + 1)
        pairs = [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0 and r != self_row]
    else:
        if 0 <= self_row < len(allowed):
            allowed = allowed.copy()
            allowed[self_row] = False
        cand = np.nonzero(allowed)[0]
        if len(cand) == 0:
            return []
        sims = ci.vectors[ci.indexed_pos[cand]] @ q
        top = np.argsort(-sims, kind="stable")[:k]
        pairs = [(int(cand[i]), float(sims[i])) for i in top]
    return [(int(ci.indexed_pos[r]), s) for r, s in pairs[:k]]


NEIGHBOUR_COLUMNS = ("rank", "patient_id", "similarity", "cancer_type", "oncotree_code", "stage_group", "age_band",
                     "drivers", "imaging", "why_similar", "what_differs", "n_shared", "first_line_therapy",
                     "pfs_months", "pfs_event", "progressed_12m", "os_months", "os_event", "best_response")


def similar_cases(con: duckdb.DuckDBPyConnection, patient_id: str, k: int = 10, kind: CaseKind | str = CaseKind.FUSED,
                  filters: SimilarFilters | None = None, *, index: CaseIndex | None = None) -> pl.DataFrame:
    """Top-``k`` similar historical cases of ``patient_id`` with why they are similar and how they did.

    Args:
        con: evidence-store connection (read-only is fine).
        patient_id: the query patient (current or historical).
        k: number of neighbours (1-100).
        kind: ``fused`` (all modalities) or ``imaging`` (imaging features + image embedding).
        filters: optional ``SimilarFilters``.
        index: a loaded ``CaseIndex`` (default: ``case_index(con, kind)``, built on first use).

    Returns:
        one row per neighbour, best first, columns ``NEIGHBOUR_COLUMNS``: similarity is the
        cosine of the case vectors (-1..1); drivers a comma-separated list ('' = none found,
        null = not sequenced); why_similar / what_differs are '; '-separated phrases; pfs /
        os in months from the neighbour's board date with event flags (False = censored);
        progressed_12m 1 / 0 / null (the model's target); best_response text or null.

    Raises:
        NoCaseVector: the patient has no case vector of this kind.
        ValueError: ``same_driver`` for a patient who was not sequenced.
    """
    ci = index if index is not None else case_index(con, kind)
    hits = nearest(ci, patient_id, k, filters)
    query = ci.cases.row(ci.position(patient_id), named=True)
    rows = []
    for rank, (pos, sim) in enumerate(hits, start=1):
        case = ci.cases.row(pos, named=True)
        cmp = compare_profiles(query, case)
        img = ", ".join(v for v in (case.get("margin"), case.get("size_band")) if v) or None
        drivers = ", ".join(case.get("drivers") or []) if case.get("sequenced") or case.get("drivers") else None
        rows.append({"rank": rank, "patient_id": case["patient_id"], "similarity": round(sim, 4),
                     "cancer_type": case.get("cancer_type"), "oncotree_code": case.get("oncotree_code"),
                     "stage_group": case.get("stage_group"), "age_band": case.get("age_band"), "drivers": drivers,
                     "imaging": img, "why_similar": cmp.why_similar, "what_differs": cmp.what_differs,
                     "n_shared": len(cmp.shared), "first_line_therapy": case.get("first_line_therapy"),
                     "pfs_months": _round(case.get("pfs_months")), "pfs_event": case.get("pfs_event"),
                     "progressed_12m": case.get("progressed_12m"), "os_months": _round(case.get("os_months")),
                     "os_event": case.get("os_event"), "best_response": case.get("best_response")})
    schema = {"rank": pl.Int64, "patient_id": pl.Utf8, "similarity": pl.Float64, "cancer_type": pl.Utf8,
              "oncotree_code": pl.Utf8, "stage_group": pl.Utf8, "age_band": pl.Utf8, "drivers": pl.Utf8,
              "imaging": pl.Utf8, "why_similar": pl.Utf8, "what_differs": pl.Utf8, "n_shared": pl.Int64,
              "first_line_therapy": pl.Utf8, "pfs_months": pl.Float64, "pfs_event": pl.Boolean,
              "progressed_12m": pl.Int8, "os_months": pl.Float64, "os_event": pl.Boolean, "best_response": pl.Utf8}
    return pl.DataFrame(rows, schema=schema)


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 1)


@dataclass(frozen=True)
class NeighbourOutcomes:
    """Outcomes of a patient's similar cases against the whole historical cohort."""

    neighbours: pl.DataFrame     # similar_cases() frame
    km: pl.DataFrame             # outcomes.KM_SCHEMA: groups NEIGHBOUR_GROUP and COHORT_GROUP, endpoints pfs / os
    medians: pl.DataFrame        # outcomes.MEDIAN_SCHEMA
    rates: pl.DataFrame          # outcomes.RATE_SCHEMA: objective response, progression within 12 months
    filters: str                 # SimilarFilters.describe()


def neighbour_outcomes(con: duckdb.DuckDBPyConnection, patient_id: str, k: int = 10,
                       kind: CaseKind | str = CaseKind.FUSED, filters: SimilarFilters | None = None, *,
                       index: CaseIndex | None = None) -> NeighbourOutcomes:
    """Kaplan-Meier (PFS and OS, 95% log-log bands) and response rates (Wilson 95%) of the neighbours vs the cohort.

    Same arguments and errors as ``similar_cases``. The cohort group is every historical
    case with follow-up (unfiltered), so the page can say "similar cases did better / worse
    than the clinic's cases overall".
    """
    ci = index if index is not None else case_index(con, kind)
    nb = similar_cases(con, patient_id, k, kind, filters, index=ci)
    hist = ci.cases.filter(pl.col("index_row") >= 0)
    near = hist.filter(pl.col("patient_id").is_in(nb["patient_id"].to_list()))
    g: GroupOutcomes = summarise_groups({NEIGHBOUR_GROUP: near, COHORT_GROUP: hist})
    return NeighbourOutcomes(nb, g.km, g.medians, g.rates, (filters or SimilarFilters()).describe())


@dataclass(frozen=True)
class EmbeddingMap:
    """2-D map of the cohort's case vectors with one patient and its neighbours highlighted."""

    points: pl.DataFrame   # patient_id, x, y, role, cancer_type, outcome, cohort, similarity
    method: str            # 'UMAP' or 'PCA' (fewer than 15 cases, or very large cohorts)
    kind: str


ROLE_ORDER = ("this patient", "similar case", "historical case", "current case")


def outcome_class(progressed_12m: int | None, cohort: str | None) -> str:
    if cohort != "historical":
        return "current case (no outcome yet)"
    if progressed_12m is None:
        return "follow-up < 12 months"
    return "progressed within 12 months" if progressed_12m == 1 else "no progression within 12 months"


def embedding_map(con: duckdb.DuckDBPyConnection, patient_id: str | None = None, k: int = 10,
                  kind: CaseKind | str = CaseKind.FUSED, filters: SimilarFilters | None = None, *,
                  index: CaseIndex | None = None) -> EmbeddingMap:
    """Cohort map (coordinates cached with the index) with ``patient_id`` and its ``k`` neighbours marked.

    Returns:
        ``EmbeddingMap`` whose ``points`` has one row per case with a vector: role is one of
        ``ROLE_ORDER``; outcome is the 12-month progression class; similarity is set for
        neighbours only. ``method`` says whether UMAP or PCA drew the map.
    """
    ci = index if index is not None else case_index(con, kind)
    sims: dict[str, float] = {}
    if patient_id is not None:
        for pos, s in nearest(ci, patient_id, k, filters):
            sims[ci.cases["patient_id"][pos]] = s
    pts = ci.cases.select(
        "patient_id", pl.col("map_x").alias("x"), pl.col("map_y").alias("y"), "cancer_type", "cohort",
        "progressed_12m")
    role = (pl.when(pl.col("patient_id") == (patient_id or "")).then(pl.lit("this patient"))
            .when(pl.col("patient_id").is_in(list(sims))).then(pl.lit("similar case"))
            .when(pl.col("cohort") == "historical").then(pl.lit("historical case"))
            .otherwise(pl.lit("current case")))
    pts = pts.with_columns(
        role.alias("role"),
        pl.struct("progressed_12m", "cohort").map_elements(
            lambda r: outcome_class(r["progressed_12m"], r["cohort"]), return_dtype=pl.Utf8).alias("outcome"),
        pl.col("patient_id").replace_strict(sims, default=None, return_dtype=pl.Float64).alias("similarity"),
    ).select("patient_id", "x", "y", "role", "cancer_type", "outcome", "cohort", "similarity")
    return EmbeddingMap(pts, ci.meta.map_method, ci.meta.kind)
