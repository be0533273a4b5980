"""One case, summarised for the board: the facts, their sources and what is still open.

Used by the patient summary card, presentation mode, the decision snapshot and the
case export, so all four show the same numbers.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from core.governance.masking import age_years
from core.store import queries
from core.store.queries import frame

logger = logging.getLogger(__name__)

# Genes the board expects to know about per cancer type (guideline-style minimum panel).
KEY_GENES = {
    "lung": ["EGFR", "ALK", "ROS1", "KRAS", "BRAF", "MET", "RET", "ERBB2", "NTRK1"],
    "breast": ["PIK3CA", "ESR1", "ERBB2", "BRCA1", "BRCA2", "AKT1"],
    "colorectal": ["KRAS", "NRAS", "BRAF", "ERBB2"],
}
KEY_BIOMARKERS = {
    "lung": ["PD-L1 TPS"],
    "breast": ["ER", "PR", "HER2"],
    "colorectal": ["MSI"],
}


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    source_table: str
    source_uri: str
    source_sha256: str
    locator: str
    observed_at: datetime | None = None


@dataclass(frozen=True)
class CaseSummary:
    patient_id: str
    cancer_type: str | None
    oncotree_code: str | None
    stage: str | None
    sex: str | None
    age_years: int | None
    histology: str | None
    ecog: Fact | None
    drivers: list[Fact]
    biomarkers: list[Fact]
    latest_imaging: Fact | None
    current_therapy: Fact | None
    gene_status: dict[str, str]          # key gene -> altered / wild type / not tested
    missing_modalities: list[str]
    open_questions: list[str]
    prediction: dict[str, Any] | None
    discrepancies: list[dict[str, Any]] = field(default_factory=list)
    triggers: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fact(row: dict[str, Any], label: str, value: str, table: str) -> Fact:
    return Fact(label, value, table, row["source_uri"], row["source_sha256"], row["locator"], row.get("observed_at"))


def _optional(module: str, func: str):
    """A function from a capability module, or None while that capability is not installed."""
    try:
        return getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError):
        return None


def gene_status_map(con: duckdb.DuckDBPyConnection, patient_id: str, genes: list[str]) -> dict[str, str]:
    """altered / wild type / not tested per gene: not tested is never shown as negative."""
    altered = {r[0] for r in con.execute(
        "SELECT DISTINCT hugo_symbol FROM variants WHERE patient_id = ? AND coalesce(origin, 'somatic') <> 'germline-benign'",
        [patient_id]).fetchall()}
    tested = {r[0] for r in con.execute("SELECT DISTINCT gene FROM tested_genes WHERE patient_id = ?",
                                        [patient_id]).fetchall()}
    return {g: "altered" if g in altered else ("wild type" if g in tested else "not tested") for g in genes}


def case_summary(con: duckdb.DuckDBPyConnection, patient_id: str, on: date | None = None) -> CaseSummary:
    """Assemble the board summary of one patient from the store (and model/trial outputs when present)."""
    p = queries.patient(con, patient_id)
    if p is None:
        raise KeyError(f"unknown patient {patient_id}")
    ct = p.get("cancer_type")
    ecog_rows = frame(con, """SELECT value_num, source_uri, source_sha256, locator, observed_at FROM note_events
                              WHERE patient_id = ? AND concept_type = 'ecog' AND NOT coalesce(is_negated, false)
                                AND NOT coalesce(is_family, false) AND value_num IS NOT NULL
                              ORDER BY observed_at DESC LIMIT 1""", [patient_id])
    ecog = _fact(ecog_rows.row(0, named=True), "ECOG", f"{ecog_rows['value_num'][0]:.0f}", "note_events") \
        if ecog_rows.height else None
    var = frame(con, """SELECT hugo_symbol, protein_change, cnv_call, sv_partner, variant_category, actionability_level,
                               vaf, source_uri, source_sha256, locator, observed_at
                        FROM variants WHERE patient_id = ? AND hugo_symbol IS NOT NULL
                        ORDER BY actionability_level NULLS LAST, hugo_symbol""", [patient_id])
    drivers = []
    for r in var.iter_rows(named=True):
        if r["actionability_level"] is None and r["hugo_symbol"] not in sum(KEY_GENES.values(), []):
            continue
        change = r["protein_change"] or r["cnv_call"] or (f"fusion with {r['sv_partner']}" if r["sv_partner"] else "") \
            or r["variant_category"] or ""
        lvl = f" (level {r['actionability_level']})" if r["actionability_level"] else ""
        drivers.append(_fact(r, r["hugo_symbol"], f"{change}{lvl}", "variants"))
    bm = frame(con, """SELECT name, status, value_num, unit, method, source_uri, source_sha256, locator, observed_at
                       FROM (SELECT *, row_number() OVER (PARTITION BY name ORDER BY observed_at DESC NULLS LAST) rn
                             FROM biomarkers WHERE patient_id = ?) WHERE rn = 1 ORDER BY name""", [patient_id])
    biomarkers = []
    for r in bm.iter_rows(named=True):
        num = f" {r['value_num']:g}{r['unit'] or ''}" if r["value_num"] is not None else ""
        biomarkers.append(_fact(r, r["name"], f"{r['status'] or ''}{num}".strip() + (f" ({r['method']})" if r["method"] else ""),
                                "biomarkers"))
    img = frame(con, """SELECT s.study_description, s.observed_at, s.source_uri, s.source_sha256, s.locator,
                               (SELECT max(long_axis_mm) FROM lesion_measurements l WHERE l.study_uid = s.study_uid) AS size_mm
                        FROM imaging_studies s WHERE s.patient_id = ? ORDER BY s.observed_at DESC LIMIT 1""", [patient_id])
    latest_imaging = None
    if img.height:
        r = img.row(0, named=True)
        size = f", largest lesion {r['size_mm']:.0f} mm" if r["size_mm"] is not None else ""
        latest_imaging = _fact(r, "Latest imaging", f"{r['study_description'] or 'study'}{size}", "imaging_studies")
    tx = frame(con, """SELECT name, kind, line, start_date, end_date, source_uri, source_sha256, locator, observed_at
                       FROM treatments WHERE patient_id = ? AND kind = 'drug'
                       ORDER BY (end_date IS NULL) DESC, start_date DESC NULLS LAST LIMIT 1""", [patient_id])
    therapy = None
    if tx.height:
        r = tx.row(0, named=True)
        state = "ongoing" if r["end_date"] is None else f"ended {r['end_date']}"
        therapy = _fact(r, "Therapy", f"{r['name']} ({state})", "treatments")
    genes = KEY_GENES.get(ct or "", [])
    gstat = gene_status_map(con, patient_id, genes)
    has = {
        "imaging": con.execute("SELECT count(*) FROM imaging_series WHERE patient_id = ?", [patient_id]).fetchone()[0] > 0,
        "notes": con.execute("SELECT count(*) FROM notes WHERE patient_id = ?", [patient_id]).fetchone()[0] > 0,
        "sequencing": con.execute("SELECT count(*) FROM specimens WHERE patient_id = ?", [patient_id]).fetchone()[0] > 0,
    }
    missing = [m for m, ok in has.items() if not ok]
    questions = [f"No {m} on file" for m in missing]
    nt = [g for g, s in gstat.items() if s == "not tested"]
    if nt:
        questions.append("Not tested: " + ", ".join(nt))
    have_bm = {b.label for b in biomarkers}
    for b in KEY_BIOMARKERS.get(ct or "", []):
        if b not in have_bm and not any(x.startswith(b.split()[0]) for x in have_bm):
            questions.append(f"{b} not on file")
    read_pred = _optional("core.models.read", "latest_prediction")
    pred = read_pred(con, patient_id) if read_pred else None
    read_disc = _optional("core.models.read", "discrepancies")
    disc = read_disc(con, patient_id).to_dicts() if read_disc else []
    read_trig = _optional("core.models.read", "review_triggers")
    trig = read_trig(con, patient_id).to_dicts() if read_trig else []
    if disc:
        questions.append(f"{len(disc)} discrepanc{'y' if len(disc) == 1 else 'ies'} to resolve")
    return CaseSummary(
        patient_id=patient_id, cancer_type=ct, oncotree_code=p.get("oncotree_code"), stage=p.get("stage"),
        sex=p.get("sex"), age_years=age_years(p.get("birth_date"), on) if p.get("birth_date") else
        (int(p["age_at_diagnosis_years"]) if p.get("age_at_diagnosis_years") else None),
        histology=p.get("histology"), ecog=ecog, drivers=drivers, biomarkers=biomarkers,
        latest_imaging=latest_imaging, current_therapy=therapy, gene_status=gstat, missing_modalities=missing,
        open_questions=questions, prediction=pred, discrepancies=disc, triggers=trig,
    )
