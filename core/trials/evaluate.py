"""Leaf evaluators: one criterion against all loaded patients at once (numpy / polars).

Every evaluator returns a ``LeafResult``: per patient a three-valued status (see ``Tri``),
a ``Reason`` code saying why, the row of the facts frame that decided it (its provenance is
in that row) and, for met genomic / biomarker criteria, MatchMiner's sort value.

Not tested is unknown, never not met: a gene absent from every panel of the patient, a
biomarker never measured, an age or sex not on file all give UNKNOWN with a test to resolve.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np

from core.trials import normalize as nz
from core.trials.facts import PatientFacts
from core.trials.facts_genomic import VariantIndex
from core.trials.model import Criterion, GenomicSpec, Tri
from core.trials.oncotree import Relation, load_oncotree

NO_PRIORITY = 999
MMR_PRIORITY, TMB_PRIORITY, SIGNATURE_PRIORITY, WILDTYPE_PRIORITY = 20, 30, 40, 100


class Reason(IntEnum):
    NONE = 0
    VARIANT_FOUND = 1        # variants row
    GENE_TESTED = 2          # tested row: gene sequenced, no matching variant
    GENE_NOT_TESTED = 3      # sequenced, but the gene is on none of the patient's panels
    NO_SEQUENCING = 4        # no specimen / sequencing on file
    BIOMARKER = 5            # biomarkers row decides
    BIOMARKER_MISSING = 6
    BIOMARKER_EQUIVOCAL = 7  # biomarkers row, result equivocal
    AGE = 8                  # patients row
    AGE_MISSING = 9
    AGE_BOUNDED = 10         # patients row: only bounds of the age are known and they straddle the limit
    SEX = 11
    SEX_MISSING = 12
    DIAGNOSIS = 13           # diagnoses row
    DIAGNOSIS_MISSING = 14
    DIAGNOSIS_UNRESOLVED = 15  # diagnoses row: less specific than the criterion, or outside the OncoTree subset
    UNSUPPORTED = 16
    GENE_ALTERED = 17        # variants row (wildtype criteria)
    VARIANT_AMBIGUOUS = 18   # variants row: a call that may or may not be the one asked for (deletion zygosity)


FRAME_OF_REASON: dict[Reason, str] = {
    Reason.VARIANT_FOUND: "variants", Reason.GENE_ALTERED: "variants", Reason.VARIANT_AMBIGUOUS: "variants",
    Reason.GENE_TESTED: "tested",
    Reason.BIOMARKER: "biomarkers", Reason.BIOMARKER_EQUIVOCAL: "biomarkers",
    Reason.AGE: "patients", Reason.AGE_BOUNDED: "patients", Reason.SEX: "patients",
    Reason.DIAGNOSIS: "diagnoses", Reason.DIAGNOSIS_UNRESOLVED: "diagnoses",
}


@dataclass
class LeafResult:
    status: np.ndarray    # int8[n]: -1 not met, 0 unknown, 1 met
    reason: np.ndarray    # int8[n]: Reason
    row: np.ndarray       # int32[n]: row of FRAME_OF_REASON[reason] in the facts, -1 if none
    priority: np.ndarray  # int16[n]: MatchMiner sort value where met, NO_PRIORITY elsewhere

    def negated(self) -> LeafResult:
        """Kleene NOT: met <-> not met, unknown stays unknown; a negated match has no sort value."""
        return LeafResult(-self.status, self.reason, self.row, np.full_like(self.priority, NO_PRIORITY))


def _blank(n: int, reason: Reason) -> LeafResult:
    return LeafResult(np.zeros(n, np.int8), np.full(n, int(reason), np.int8), np.full(n, -1, np.int32),
                      np.full(n, NO_PRIORITY, np.int16))


def evaluate(facts: PatientFacts, c: Criterion) -> LeafResult:
    """Evaluate one criterion (negation applied) for every patient of ``facts``."""
    res = evaluate_positive(facts, c.key, c.params)
    return res.negated() if c.negate else res


def evaluate_positive(facts: PatientFacts, key: str, params: tuple) -> LeafResult:
    """The criterion without its negation; ``(key, params)`` is a cache key across arms."""
    fn = EVALUATORS.get(key)
    if fn is None:
        return _blank(facts.n, Reason.UNSUPPORTED)
    return fn(facts, *params)


# ---- genomic ----------------------------------------------------------------------------

def variant_mask(v: VariantIndex, s: GenomicSpec) -> np.ndarray:
    """Boolean mask over the variants of ``v`` matching the spec (cheap integer tests first)."""
    n = len(v.pidx)
    cat = s.category or nz.ANY
    if cat == nz.SV:
        def side(col: np.ndarray, want: str | None) -> np.ndarray:
            if want is None:
                return np.ones(n, bool)
            if want == "any_gene":
                return col >= 0
            if want == "intergenic":
                return col == -1
            return col == v.code(want)
        forward = side(v.gene, s.gene) & side(v.partner, s.fusion_partner)
        backward = side(v.partner, s.gene) & side(v.gene, s.fusion_partner)
        return (forward | backward) & (v.category == nz.SV)
    m = np.ones(n, bool) if s.gene in (None, "any_gene") else v.gene == v.code(s.gene)
    idx = np.flatnonzero(m)  # the remaining tests run on the gene's rows only
    keep = np.ones(len(idx), bool)
    category = v.category[idx]
    if cat != nz.ANY:
        keep &= category == cat
    if cat in (nz.MUTATION, nz.ANY) and s.variant_classification is None:
        # silent / non-coding calls are not "mutations" for matching
        keep &= (category != nz.MUTATION) | v.protein_altering[idx]
    if cat == nz.ANY:
        # copy-number "any variation" means a real gain / loss, not a shallow call
        cnv = v.cnv[idx]
        keep &= (category != nz.CNV) | (cnv == nz.AMP) | (cnv == nz.HOMDEL)
    if s.protein_change:
        keep &= v.columns["protein"][idx] == s.protein_change
    if s.exon is not None:
        keep &= v.columns["exon"][idx] == s.exon
    if s.variant_classification:
        want = s.variant_classification.lower()
        keep &= np.array([c is not None and c.lower() == want for c in v.columns["classification"][idx]], bool)
    if s.cnv_call:
        keep &= v.cnv[idx] == s.cnv_call
    if s.wildcard_protein_change:
        pattern = re.compile(f"^{re.escape(s.wildcard_protein_change)}[ACDEFGHIKLMNPQRSTVWY]$")
        keep &= np.array([p is not None and pattern.match(p) is not None for p in v.columns["protein"][idx]], bool)
    out = np.zeros(n, bool)
    out[idx[keep]] = True
    return out


def coverage_gene(s: GenomicSpec) -> str | None:
    """The gene whose sequencing decides 'tested' for this spec (None: any sequencing will do)."""
    for g in (s.gene, s.fusion_partner):
        if g not in (None, "any_gene", "intergenic"):
            return g
    return None


def eval_variant(facts: PatientFacts, s: GenomicSpec) -> LeafResult:
    if s.wildtype is not None:
        altered = eval_variant(facts, GenomicSpec(gene=s.gene, category=nz.ANY))
        if not s.wildtype:
            return altered
        res = altered.negated()
        reason = np.where(altered.reason == Reason.VARIANT_FOUND, Reason.GENE_ALTERED, altered.reason).astype(np.int8)
        prio = np.where(res.status == Tri.MET, WILDTYPE_PRIORITY, NO_PRIORITY).astype(np.int16)
        return LeafResult(res.status, reason, res.row, prio)
    n = facts.n
    out = _blank(n, Reason.NO_SEQUENCING)
    out.reason[facts.sequenced] = Reason.GENE_NOT_TESTED
    gene = coverage_gene(s)
    if gene is None:  # "any gene": every sequenced patient counts as tested
        out.status[facts.sequenced] = Tri.NOT_MET
        out.reason[facts.sequenced] = Reason.GENE_TESTED
    else:
        pidx, rows = facts.tested_by_gene.get(gene, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        out.status[pidx] = Tri.NOT_MET
        out.reason[pidx] = Reason.GENE_TESTED
        out.row[pidx] = rows
    v = facts.variant_index
    if s.cnv_call in (nz.HOMDEL, nz.HETDEL):
        # a deletion of unreported zygosity can neither confirm nor exclude the requested call
        amb = np.flatnonzero(variant_mask(v, replace(s, cnv_call=nz.DEL)))
        pidx, first = np.unique(v.pidx[amb], return_index=True)
        out.status[pidx] = Tri.UNKNOWN
        out.reason[pidx] = Reason.VARIANT_AMBIGUOUS
        out.row[pidx] = amb[first]
    rows = np.flatnonzero(variant_mask(v, s))
    pidx, first = np.unique(v.pidx[rows], return_index=True)
    rows = rows[first]  # variants are sorted by patient then priority: the best-tiered row decides
    out.status[pidx] = Tri.MET
    out.reason[pidx] = Reason.VARIANT_FOUND
    out.row[pidx] = rows
    if len(pidx):
        out.priority[pidx] = facts.variants["priority"].to_numpy()[rows]
    return out


# ---- biomarkers ----------------------------------------------------------------------------

def _biomarker_rows(facts: PatientFacts, canon: str, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pidx, row, values of ``column``) of the patients with a result for ``canon``."""
    pidx, rows = facts.biomarkers_by_canon.get(canon, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
    return pidx, rows, facts.biomarker_arrays[column][rows]


def compare(values: np.ndarray, op: str, thr: float) -> np.ndarray:
    return {">=": values >= thr, ">": values > thr, "<=": values <= thr, "<": values < thr,
            "==": values == thr}[op]


def eval_biomarker_numeric(facts: PatientFacts, canon: str, op: str, thr: float) -> LeafResult:
    out = _blank(facts.n, Reason.BIOMARKER_MISSING)
    pidx, rows, values = _biomarker_rows(facts, canon, "value_num")
    ok = compare(values.astype(float), op, thr)
    out.status[pidx] = np.where(ok, Tri.MET, Tri.NOT_MET)
    out.reason[pidx] = Reason.BIOMARKER
    out.row[pidx] = rows
    if canon == nz.TMB:
        out.priority[pidx[ok]] = TMB_PRIORITY
    return out


def eval_biomarker_status(facts: PatientFacts, canon: str, expected: str) -> LeafResult:
    out = _blank(facts.n, Reason.BIOMARKER_MISSING)
    pidx, rows, status = _biomarker_rows(facts, canon, "status")
    equivocal = status == nz.EQUIVOCAL
    ok = status == expected
    out.status[pidx] = np.where(ok, Tri.MET, np.where(equivocal, Tri.UNKNOWN, Tri.NOT_MET))
    out.reason[pidx] = np.where(equivocal, Reason.BIOMARKER_EQUIVOCAL, Reason.BIOMARKER)
    out.row[pidx] = rows
    if canon == nz.MMR and expected == nz.DEFICIENT:
        out.priority[pidx[ok]] = MMR_PRIORITY
    elif canon in nz.SIGNATURES and expected == nz.YES:
        out.priority[pidx[ok]] = SIGNATURE_PRIORITY
    return out


# ---- clinical ------------------------------------------------------------------------------

def eval_age(facts: PatientFacts, op: str, thr: float) -> LeafResult:
    """Met / not met when the whole possible age range agrees, else unknown."""
    p = facts.patients
    lo = p["age_min"].fill_null(np.nan).to_numpy().astype(float)
    hi = p["age_max"].fill_null(np.nan).to_numpy().astype(float)
    known = ~np.isnan(lo)
    with np.errstate(invalid="ignore"):
        if op == "==":
            yes = (lo == thr) & (hi == thr)
            no = (thr < lo) | (thr > hi)
        else:
            yes = compare(lo, op, thr) & compare(hi, op, thr)
            no = ~compare(lo, op, thr) & ~compare(hi, op, thr)
    out = _blank(facts.n, Reason.AGE_MISSING)
    out.status[known & yes] = Tri.MET
    out.status[known & no] = Tri.NOT_MET
    out.reason[known] = np.where(yes | no, Reason.AGE, Reason.AGE_BOUNDED)[known]
    out.row[known] = np.arange(facts.n)[known]
    return out


def eval_gender(facts: PatientFacts, expected: str) -> LeafResult:
    sex = facts.patients["sex"].to_numpy()
    known = facts.patients["sex"].is_not_null().to_numpy()
    out = _blank(facts.n, Reason.SEX_MISSING)
    out.status[known] = np.where(sex[known] == expected, Tri.MET, Tri.NOT_MET)
    out.reason[known] = Reason.SEX
    out.row[known] = np.arange(facts.n)[known]
    return out


def eval_oncotree(facts: PatientFacts, node: str, in_tree: bool) -> LeafResult:
    """Best relation over the patient's most specific diagnoses (met > unknown > not met)."""
    tree = load_oncotree()
    pidx, codes, inverse = facts.diagnosis_codes
    out = _blank(facts.n, Reason.DIAGNOSIS_MISSING)
    if len(pidx) == 0:
        return out
    if in_tree:
        rel_of_code = np.array([int(tree.relation(c, node)) for c in codes], dtype=np.int8)
    else:  # criterion outside the subset: only an exact (case-insensitive) match is certain
        rel_of_code = np.array([int(Relation.WITHIN if c.strip().lower() == node.strip().lower()
                                    else Relation.UNRESOLVED) for c in codes], dtype=np.int8)
    rel = rel_of_code[inverse]
    order = np.lexsort((-rel, pidx))  # by patient, best relation first
    first = order[np.unique(pidx[order], return_index=True)[1]]
    p, r = pidx[first], rel[first]
    out.status[p] = r
    out.reason[p] = np.where(r == 0, Reason.DIAGNOSIS_UNRESOLVED, Reason.DIAGNOSIS)
    out.row[p] = first
    return out


def eval_unsupported(facts: PatientFacts, *_: object) -> LeafResult:
    return _blank(facts.n, Reason.UNSUPPORTED)


EVALUATORS = {
    "variant": eval_variant,
    "biomarker_numeric": eval_biomarker_numeric,
    "biomarker_status": eval_biomarker_status,
    "age": eval_age,
    "gender": eval_gender,
    "oncotree": eval_oncotree,
    "unsupported": eval_unsupported,
}
