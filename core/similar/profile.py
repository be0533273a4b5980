"""Case profiles: the clinical attributes a board compares two cases by, and the comparison itself.

A profile is one row per patient, as of the patient's index date, with no PHI (no names,
identifiers or dates; age only as a decade band). "Not tested" stays null and never
counts as shared or different: two unsequenced patients do not "share" a wild-type.
"""
from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass

import duckdb
import polars as pl

from core.store.queries import frame

logger = logging.getLogger(__name__)

# Genes whose alterations boards treat as drivers (targetable or defining a subgroup).
DRIVER_GENES = ("EGFR", "ALK", "ROS1", "RET", "MET", "BRAF", "KRAS", "NRAS", "ERBB2", "PIK3CA", "ESR1", "BRCA1",
                "BRCA2", "NTRK1", "NTRK2", "NTRK3", "FGFR2", "FGFR3", "IDH1", "AKT1")
SENSITIVE_LEVELS = ("1", "2", "3A", "3B", "LEVEL_1", "LEVEL_2", "LEVEL_3A", "LEVEL_3B")
SILENT = ("silent", "synonymous_variant", "intron", "3'utr", "5'utr", "igr", "rna", "3'flank", "5'flank")
MARGINS = {0.0: "smooth margin", 1.0: "lobulated margin", 2.0: "spiculated / irregular margin"}
SIZE_BANDS = ((10.0, "lesion < 10 mm"), (30.0, "lesion 10-30 mm"), (50.0, "lesion 30-50 mm"),
              (70.0, "lesion 50-70 mm"), (math.inf, "lesion > 70 mm"))
SMOKING = {0.0: "never smoker", 1.0: "former smoker", 2.0: "current smoker"}

PROFILE_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.Utf8, "cancer_type": pl.Utf8, "oncotree_code": pl.Utf8, "histology": pl.Utf8,
    "stage_group": pl.Utf8, "sex": pl.Utf8, "age_band": pl.Utf8, "smoking": pl.Utf8, "ecog": pl.Utf8,
    "sequenced": pl.Boolean, "drivers": pl.List(pl.Utf8), "driver_genes": pl.List(pl.Utf8),
    "tested_driver_genes": pl.List(pl.Utf8), "pdl1": pl.Utf8,
    "er": pl.Utf8, "her2": pl.Utf8, "msi": pl.Utf8, "margin": pl.Utf8, "size_band": pl.Utf8,
    "max_lesion_mm": pl.Float64, "modalities": pl.List(pl.Utf8),
}


def stage_group(stage: str | None) -> str | None:
    """'IIIA' / 'Stage 3' -> 'III'; None when unknown."""
    s = (stage or "").upper().replace("STAGE", "").strip()
    for roman in ("IV", "III", "II", "I"):
        if s.startswith(roman):
            return roman
    digits = {"1": "I", "2": "II", "3": "III", "4": "IV"}
    return digits.get(s[:1]) if s else None


def age_band(age: float | None) -> str | None:
    """Decade band ('60-69'); '90+' above 89 (HIPAA Safe Harbor aggregates ages over 89)."""
    if age is None or (isinstance(age, float) and math.isnan(age)):
        return None
    if age >= 90:
        return "90+"
    lo = int(age // 10) * 10
    return f"{lo}-{lo + 9}"


def size_band(mm: float | None) -> str | None:
    if mm is None or math.isnan(mm):
        return None
    return next(label for top, label in SIZE_BANDS if mm < top)


def _nan_to_none(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _first(*values: float | None) -> float | None:
    return next((v for v in map(_nan_to_none, values) if v is not None), None)


def _driver_label(gene: str, protein: str | None, cnv: str | None, partner: str | None, category: str | None) -> str:
    if partner or (category or "").lower() in ("sv", "fusion", "structural_variant"):
        return f"{gene} fusion"
    if cnv:
        c = cnv.lower()
        return f"{gene} {'amplification' if c.startswith('amp') or c == 'gain' else c}"
    return f"{gene} {protein}" if protein else f"{gene} mutation"


def case_profiles(con: duckdb.DuckDBPyConnection, features: pl.DataFrame) -> pl.DataFrame:
    """Profiles of the patients in ``features`` (a ``patient_features`` frame, which sets the as-of dates).

    Returns ``PROFILE_SCHEMA`` columns, one row per patient in ``features`` order.
    """
    if features.height == 0:
        return pl.DataFrame(schema=PROFILE_SCHEMA)
    view = f"_sim_prof_{uuid.uuid4().hex[:8]}"
    con.register(view, features.select("patient_id", "as_of").to_arrow())
    try:
        pat = frame(con, f"""
            SELECT p.patient_id, lower(coalesce(p.cancer_type, '')) AS cancer_type, p.oncotree_code, p.histology,
                   p.stage, lower(coalesce(p.sex, '')) AS sex, p.age_at_diagnosis_years
            FROM patients p JOIN {view} i USING (patient_id)""")
        var = frame(con, f"""
            SELECT DISTINCT e.patient_id, upper(e.hugo_symbol) AS gene, e.protein_change, e.cnv_call, e.sv_partner,
                   e.variant_category, lower(coalesce(e.variant_classification, '')) AS cls,
                   upper(coalesce(e.actionability_level, '')) AS level
            FROM variants e JOIN {view} i USING (patient_id)
            WHERE (e.observed_at IS NULL OR e.observed_at <= i.as_of) AND e.hugo_symbol IS NOT NULL
              AND upper(coalesce(e.filter, 'PASS')) IN ('PASS', '.')
            ORDER BY 1, 2, 3""")
        tested = frame(con, f"""
            SELECT DISTINCT e.patient_id, upper(e.gene) AS gene FROM tested_genes e JOIN {view} i USING (patient_id)
            WHERE e.observed_at IS NULL OR e.observed_at <= i.as_of""")
    finally:
        con.unregister(view)
    var = var.filter(~pl.col("cls").is_in(list(SILENT))
                     & (pl.col("gene").is_in(list(DRIVER_GENES)) | pl.col("level").is_in(list(SENSITIVE_LEVELS))))
    drivers: dict[str, list[str]] = {}
    for r in var.iter_rows(named=True):
        label = _driver_label(r["gene"], r["protein_change"], r["cnv_call"], r["sv_partner"], r["variant_category"])
        lst = drivers.setdefault(r["patient_id"], [])
        if label not in lst:
            lst.append(label)
    driver_genes = set(DRIVER_GENES) | set(var["gene"].to_list())
    tested = tested.filter(pl.col("gene").is_in(sorted(driver_genes)))
    tested_by = {k[0]: sorted(g["gene"].to_list()) for k, g in tested.group_by("patient_id")} if tested.height else {}
    pat_by = {r["patient_id"]: r for r in pat.iter_rows(named=True)}
    rows = []
    for f in features.iter_rows(named=True):
        pid = f["patient_id"]
        p = pat_by.get(pid, {})
        sequenced = bool(f.get("present_genomics"))
        d = sorted(drivers.get(pid, []))
        pdl1 = _first(f.get("clin_pdl1_tps"), f.get("note_pdl1_tps"))
        er = _first(f.get("clin_er_positive"), f.get("note_er_positive"))
        her2 = _first(f.get("clin_her2_positive"), f.get("note_her2_positive"))
        msi = _nan_to_none(f.get("gen_msi_high"))
        margin = _nan_to_none(f.get("img_margin_score"))
        size = _nan_to_none(f.get("img_max_long_axis_mm"))
        smoking = _nan_to_none(f.get("note_smoking_status"))
        ecog = _nan_to_none(f.get("note_ecog"))
        rows.append({
            "patient_id": pid, "cancer_type": p.get("cancer_type") or None, "oncotree_code": p.get("oncotree_code"),
            "histology": p.get("histology"), "stage_group": stage_group(p.get("stage")), "sex": p.get("sex") or None,
            "age_band": age_band(_first(f.get("clin_age_years"), p.get("age_at_diagnosis_years"))),
            "smoking": SMOKING.get(smoking) if smoking is not None else None,
            "ecog": None if ecog is None else f"ECOG {int(round(ecog))}",
            "sequenced": sequenced, "drivers": d, "driver_genes": sorted({x.split(" ")[0] for x in d}),
            "tested_driver_genes": sorted(set(tested_by.get(pid, [])) | {x.split(" ")[0] for x in d}),
            "pdl1": None if pdl1 is None else "PD-L1 < 1%" if pdl1 < 1 else "PD-L1 1-49%" if pdl1 < 50 else "PD-L1 >= 50%",
            "er": None if er is None else "ER+" if er >= 0.5 else "ER-",
            "her2": None if her2 is None else "HER2+" if her2 >= 0.5 else "HER2-",
            "msi": None if msi is None else "MSI-H" if msi >= 0.5 else "MSS",
            "margin": MARGINS.get(round(margin)) if margin is not None else None,
            "size_band": size_band(size), "max_lesion_mm": None if size is None else round(size, 1),
            "modalities": [m for m in ("imaging", "notes", "genomics", "clinical") if f.get(f"present_{m}")],
        })
    return pl.DataFrame(rows, schema=PROFILE_SCHEMA)


@dataclass(frozen=True)
class Comparison:
    """What a neighbour shares with the query case and what differs (neighbour value, query value)."""

    shared: tuple[str, ...]
    differs: tuple[str, ...]

    @property
    def why_similar(self) -> str:
        return "; ".join(self.shared)

    @property
    def what_differs(self) -> str:
        return "; ".join(self.differs)


def _cancer(p: dict) -> str | None:
    if not p.get("cancer_type"):
        return None
    return p["cancer_type"] + (f" ({p['oncotree_code']})" if p.get("oncotree_code") else "")


def compare_profiles(query: dict, case: dict) -> Comparison:
    """Shared and differing attributes of ``case`` against ``query`` (both ``case_profiles`` rows).

    Differences read "neighbour value (this patient: query value)". Unknown values on
    either side are neither shared nor different, except drivers: sequenced against not
    sequenced is a difference, and a gene off the other panel reads "not tested".
    """
    shared: list[str] = []
    differs: list[str] = []

    def attr(key: str, fmt=lambda v: v) -> None:  # noqa: ANN001 - small local formatter
        a, b = case.get(key), query.get(key)
        if a is None or b is None:
            return
        if a == b:
            shared.append(fmt(a))
        else:
            differs.append(f"{fmt(a)} (this patient: {fmt(b)})")

    ca, cb = _cancer(case), _cancer(query)
    if ca and cb:
        if ca == cb:
            shared.append(ca)
        elif case["cancer_type"] == query["cancer_type"]:
            shared.append(case["cancer_type"])
            differs.append(f"{case.get('oncotree_code') or '?'} (this patient: {query.get('oncotree_code') or '?'})")
        else:
            differs.append(f"{ca} (this patient: {cb})")
    attr("stage_group", lambda v: f"stage {v}")
    _compare_drivers(query, case, shared, differs)
    for key in ("er", "her2", "pdl1", "msi", "margin", "size_band", "age_band", "smoking", "ecog", "sex"):
        attr(key, (lambda v: f"age {v}") if key == "age_band" else (lambda v: v))
    return Comparison(tuple(shared), tuple(differs))


def gene_status(profile: dict, gene: str) -> str:
    """How a driver gene absent from ``profile`` reads: 'not found', 'not tested' or 'not reported' (panel unknown)."""
    if not profile.get("sequenced"):
        return "not sequenced"
    tested = profile.get("tested_driver_genes") or []
    if not tested:
        return "not reported"
    return "not found" if gene in tested else "not tested"


def _compare_drivers(query: dict, case: dict, shared: list[str], differs: list[str]) -> None:
    q_seq, c_seq = bool(query.get("sequenced")), bool(case.get("sequenced"))
    qd, cd = list(query.get("drivers") or []), list(case.get("drivers") or [])
    if not c_seq and not cd:
        if q_seq or qd:  # both unsequenced: nothing to compare
            differs.append(f"not sequenced (this patient: {', '.join(qd) or 'no driver found'})")
        return
    if not q_seq and not qd:
        differs.append(f"{', '.join(cd) or 'no driver found'} (this patient: not sequenced)")
        return
    same = [d for d in cd if d in qd]
    shared.extend(same)
    q_genes = {d.split(" ")[0] for d in qd}
    c_genes = {d.split(" ")[0] for d in cd}
    for g in sorted(q_genes & c_genes):
        if not any(d.split(" ")[0] == g for d in same):
            a = ", ".join(d for d in cd if d.startswith(g + " "))
            b = ", ".join(d for d in qd if d.startswith(g + " "))
            shared.append(f"{g}-altered")
            differs.append(f"{a} (this patient: {b})")
    if not qd and not cd:
        shared.append("no driver found on sequencing")
        return
    for g in sorted(c_genes - q_genes):
        a = ", ".join(d for d in cd if d.startswith(g + " "))
        differs.append(f"{a} (this patient: {g} {gene_status(query, g)})")
    for g in sorted(q_genes - c_genes):
        b = ", ".join(d for d in qd if d.startswith(g + " "))
        differs.append(f"{g} {gene_status(case, g)} (this patient: {b})")
