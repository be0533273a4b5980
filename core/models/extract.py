"""Per-modality feature extraction from the evidence store, cut off at each patient's ``as_of``.

Each function takes a registered relation ``view`` (patient_id, as_of) and returns one row
per patient that has the modality, with ``present_<modality>`` and that modality's
features (see ``core.models.feature_registry`` for their meaning).
"""
from __future__ import annotations

import logging
import math
import re
from datetime import datetime

import duckdb
import polars as pl

from core.models.feature_registry import (GENES, LAB_LOOKBACK_DAYS, LABS, MARGIN_SCORE, N_EMBEDDING_PCS, OOD_COLUMN,
                                          SENSITIVE_LEVELS, feature_names)
from core.models.projection import EmbeddingProjection, encoder_versions, patient_embeddings
from core.models.vocab import biomarker_key, result_positive
from core.store.queries import frame

logger = logging.getLogger(__name__)


def _before(alias: str = "e") -> str:
    return f"({alias}.observed_at IS NULL OR {alias}.observed_at <= i.as_of)"


# ---- imaging ----------------------------------------------------------------------------------

def imaging(con: duckdb.DuckDBPyConnection, view: str, projection: EmbeddingProjection | None) -> pl.DataFrame:
    """Lesion measurements (latest measured study, growth since the previous one) and embedding PCs."""
    present = frame(con, f"""
        SELECT DISTINCT patient_id FROM (
            SELECT e.patient_id FROM imaging_series e JOIN {view} i USING (patient_id) WHERE {_before()}
            UNION ALL SELECT e.patient_id FROM lesion_measurements e JOIN {view} i USING (patient_id) WHERE {_before()}
            UNION ALL SELECT e.patient_id FROM image_embeddings e JOIN {view} i USING (patient_id) WHERE {_before()})
    """).with_columns(pl.lit(True).alias("present_imaging"))
    les = frame(con, f"""
        SELECT e.patient_id, e.study_uid, e.observed_at, coalesce(e.lesion_id, e.measurement_id) AS lesion_id,
               e.long_axis_mm, lower(coalesce(e.margin, '')) AS margin,
               contains(lower(coalesce(e.method, 'annotation')), 'annotat') AS annotated
        FROM lesion_measurements e JOIN {view} i USING (patient_id)
        WHERE {_before()} AND e.long_axis_mm IS NOT NULL""")
    out = present
    if les.height:
        out = out.join(_lesion_features(les), on="patient_id", how="left")
    if projection is not None and projection.n_components:
        ids, vecs = patient_embeddings(con, view, model_version=projection.encoder_version)
        if len(ids):
            pcs = projection.transform(vecs)
            k = min(N_EMBEDDING_PCS, pcs.shape[1])
            emb = pl.DataFrame({"patient_id": ids} | {f"img_emb_pc{j + 1}": pcs[:, j] for j in range(k)}
                               | {OOD_COLUMN: projection.ood_percentile(vecs)})
            out = out.join(emb, on="patient_id", how="left")
        elif present.height and projection.encoder_version not in encoder_versions(con):
            logger.warning("no embeddings of encoder version %s in the store (model trained on it): embedding "
                           "features are missing; retrain the model or re-embed", projection.encoder_version)
    return out


def _lesion_features(les: pl.DataFrame) -> pl.DataFrame:
    # per study, a radiologist's annotations win over any model-estimated measurement
    les = les.filter(pl.col("annotated") | ~pl.col("annotated").any().over("patient_id", "study_uid"))
    les = les.with_columns(pl.col("margin").replace_strict(MARGIN_SCORE, default=None, return_dtype=pl.Float64)
                           .alias("margin_score"))
    per_lesion = les.group_by("patient_id", "study_uid", "lesion_id").agg(
        pl.col("observed_at").min(), pl.col("long_axis_mm").max(), pl.col("margin_score").max())
    per_study = (per_lesion.group_by("patient_id", "study_uid")
                 .agg(pl.col("observed_at").min().alias("t"), pl.col("long_axis_mm").sum().alias("sum_mm"),
                      pl.col("long_axis_mm").max().alias("max_mm"), pl.len().alias("n"),
                      pl.col("margin_score").max().alias("margin"))
                 .sort("patient_id", "t"))
    rows = []
    for pid, g in per_study.group_by("patient_id", maintain_order=True):
        last = g.row(g.height - 1, named=True)
        growth = float("nan")
        if g.height >= 2:
            prev = g.row(g.height - 2, named=True)
            months = ((last["t"] - prev["t"]).total_seconds() / 86400 / 30.4375) if last["t"] and prev["t"] else 0
            if months > 0.25 and prev["sum_mm"] > 0 and last["sum_mm"] > 0:
                growth = math.log(last["sum_mm"] / prev["sum_mm"]) / months
        rows.append({"patient_id": pid[0], "img_max_long_axis_mm": last["max_mm"], "img_sum_long_axis_mm": last["sum_mm"],
                     "img_n_lesions": float(last["n"]), "img_margin_score": last["margin"],
                     "img_growth_per_month": growth})
    return pl.DataFrame(rows, schema={"patient_id": pl.Utf8, "img_max_long_axis_mm": pl.Float64,
                                      "img_sum_long_axis_mm": pl.Float64, "img_n_lesions": pl.Float64,
                                      "img_margin_score": pl.Float64, "img_growth_per_month": pl.Float64})


# ---- notes ------------------------------------------------------------------------------------

_PACK_YEARS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:pack[\s-]*years?|pack[\s-]*yr|py\b)", re.I)
_FIRST_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


def notes(con: duckdb.DuckDBPyConnection, view: str) -> pl.DataFrame:
    """ECOG, weight loss, symptoms, smoking and note-reported biomarkers from note events."""
    present = frame(con, f"""
        SELECT DISTINCT e.patient_id FROM notes e JOIN {view} i USING (patient_id) WHERE {_before()}
    """).with_columns(pl.lit(True).alias("present_notes"))
    ev = frame(con, f"""
        SELECT e.patient_id, e.observed_at, lower(coalesce(e.concept_type, '')) AS ct,
               lower(coalesce(e.concept, '')) AS concept, lower(coalesce(e.value_text, '')) AS value_text,
               e.value_num, lower(coalesce(e.unit, '')) AS unit,
               coalesce(e.is_negated, false) AS neg, coalesce(e.is_historical, false) AS hist
        FROM note_events e JOIN {view} i USING (patient_id)
        WHERE {_before()} AND NOT coalesce(e.is_family, false) AND NOT coalesce(e.is_hypothetical, false)
        ORDER BY e.patient_id, e.observed_at NULLS FIRST, e.span_start""")
    bio = frame(con, f"""
        SELECT e.patient_id, e.observed_at, lower(e.name) AS name, lower(coalesce(e.status, '')) AS status,
               lower(coalesce(e.value_text, '')) AS value_text, e.value_num, lower(coalesce(e.unit, '')) AS unit
        FROM biomarkers e JOIN {view} i USING (patient_id) WHERE {_before()} AND e.modality = 'notes'
        ORDER BY e.patient_id, e.observed_at NULLS FIRST""")
    rows = []
    by_pid = {k[0]: g for k, g in ev.group_by("patient_id", maintain_order=True)} if ev.height else {}
    bio_by_pid = {k[0]: g for k, g in bio.group_by("patient_id", maintain_order=True)} if bio.height else {}
    for pid in present["patient_id"].to_list():
        rows.append({"patient_id": pid} | _note_values(by_pid.get(pid), bio_by_pid.get(pid)))
    schema = {"patient_id": pl.Utf8} | {n: pl.Float64 for n in feature_names("notes")}
    return present.join(pl.DataFrame(rows, schema=schema), on="patient_id", how="left")


def _note_values(ev: pl.DataFrame | None, bio: pl.DataFrame | None) -> dict[str, float]:
    nan = float("nan")
    v = {"note_ecog": nan, "note_weight_loss": 0.0, "note_n_symptoms": 0.0,
         "note_smoking_status": nan, "note_pack_years": nan, "note_pdl1_tps": nan, "note_er_positive": nan,
         "note_her2_positive": nan}
    symptoms: set[str] = set()
    for r in (ev.iter_rows(named=True) if ev is not None else ()):
        ct, concept, text = r["ct"], r["concept"], r["value_text"]
        if ct in ("ecog", "performance status") and not r["neg"]:
            val = r["value_num"] if r["value_num"] is not None else _number(text or concept)
            if val is not None and 0 <= val <= 5:
                v["note_ecog"] = float(val)
        elif ct == "smoking":
            status = _smoking_status(concept + " " + text, r["neg"])
            if status is not None:
                v["note_smoking_status"] = status
            stated = r["value_num"] is not None and "pack" in r["unit"]
            py = r["value_num"] if stated else _pack_years(text + " " + concept)
            if py is not None:
                v["note_pack_years"] = float(py)
        elif ct == "symptom":
            if "weight loss" in concept or "weight loss" in text:
                if not r["neg"]:
                    v["note_weight_loss"] = 1.0
            if not r["neg"] and not r["hist"]:
                symptoms.add(concept)
        elif ct == "biomarker":
            _note_biomarker(v, concept, text, r["value_num"], r["neg"])
    for r in (bio.iter_rows(named=True) if bio is not None else ()):
        _note_biomarker(v, r["name"], f"{r['status']} {r['value_text']}".strip(), r["value_num"], False)
    v["note_n_symptoms"] = float(len(symptoms))
    if v["note_smoking_status"] == 0.0 and math.isnan(v["note_pack_years"]):
        v["note_pack_years"] = 0.0
    return v


def _note_biomarker(v: dict[str, float], name: str, text: str, num: float | None, negated: bool) -> None:
    key = biomarker_key(name)
    if key == "pdl1":
        val = num if num is not None else _number(text)
        if val is not None:
            v["note_pdl1_tps"] = float(val)
        elif negated or result_positive(text) == 0.0:
            v["note_pdl1_tps"] = 0.0
    elif key in ("er", "her2"):
        res = 0.0 if negated else result_positive(text, num)
        if res is not None:
            v[f"note_{key}_positive"] = res


def _number(text: str | None) -> float | None:
    m = _FIRST_NUMBER.search(text or "")
    return float(m.group(1)) if m else None


def _pack_years(text: str) -> float | None:
    m = _PACK_YEARS.search(text or "")
    return float(m.group(1)) if m else None


def _smoking_status(text: str, negated: bool) -> float | None:
    t = text.lower()
    if negated or "never" in t or "non-smoker" in t or "nonsmoker" in t:
        return 0.0
    if "former" in t or "ex-" in t or "quit" in t or "past" in t:
        return 1.0
    if "current" in t or "active" in t or "smokes" in t or "daily" in t:
        return 2.0
    return None


# ---- genomics ---------------------------------------------------------------------------------

_SILENT = ("silent", "synonymous_variant", "intron", "3'utr", "5'utr", "igr", "rna", "3'flank", "5'flank")


def genomics(con: duckdb.DuckDBPyConnection, view: str) -> pl.DataFrame:
    """Gene status (altered / tested / not tested), actionable driver, TMB, MSI from sequencing."""
    spec = frame(con, f"""
        SELECT e.patient_id, e.specimen_id FROM specimens e JOIN {view} i USING (patient_id) WHERE {_before()}""")
    var = frame(con, f"""
        SELECT e.patient_id, e.specimen_id, upper(coalesce(e.hugo_symbol, '')) AS gene,
               lower(coalesce(e.variant_classification, '')) AS cls, upper(coalesce(e.actionability_level, '')) AS level,
               upper(coalesce(e.filter, 'PASS')) AS filt
        FROM variants e JOIN {view} i USING (patient_id) WHERE {_before()}""")
    tested = frame(con, f"""
        SELECT DISTINCT e.patient_id, upper(e.gene) AS gene FROM tested_genes e JOIN {view} i USING (patient_id)
        WHERE {_before()}""")
    bio = frame(con, f"""
        SELECT e.patient_id, lower(e.name) AS name, lower(coalesce(e.status, '')) AS status,
               lower(coalesce(e.value_text, '')) AS value_text, e.value_num
        FROM biomarkers e JOIN {view} i USING (patient_id) WHERE {_before()} AND e.modality = 'genomics'
        ORDER BY e.patient_id, e.observed_at NULLS FIRST""")
    var = var.filter(pl.col("filt").is_in(["PASS", "."]) & ~pl.col("cls").is_in(list(_SILENT)))
    pids = sorted(set(spec["patient_id"].to_list()) | set(var["patient_id"].to_list()) | set(bio["patient_id"].to_list()))
    var_by = {k[0]: g for k, g in var.group_by("patient_id")} if var.height else {}
    tested_by = {k[0]: set(g["gene"].to_list()) for k, g in tested.group_by("patient_id")} if tested.height else {}
    bio_by = {k[0]: g for k, g in bio.group_by("patient_id", maintain_order=True)} if bio.height else {}
    rows = []
    for pid in pids:
        v = var_by.get(pid)
        altered = set(v["gene"].to_list()) if v is not None else set()
        tested_genes = tested_by.get(pid, set()) | altered
        sequenced = pid in set(spec["patient_id"].to_list()) or v is not None
        row: dict[str, object] = {"patient_id": pid, "present_genomics": True}
        for g in GENES:
            row[f"gen_{g}"] = 1.0 if g in altered else 0.0 if g in tested_genes else float("nan")
        if sequenced:
            row["gen_n_variants"] = float(0 if v is None else v.height)
            row["gen_actionable_driver"] = float(v is not None and bool(v["level"].is_in(list(SENSITIVE_LEVELS)).any()))
        for r in (bio_by[pid].iter_rows(named=True) if pid in bio_by else ()):
            key = biomarker_key(r["name"])
            if key == "tmb" and r["value_num"] is not None:
                row["gen_tmb"] = float(r["value_num"])
            elif key == "msi":
                res = result_positive(f"{r['status']} {r['value_text']}")
                if res is not None:
                    row["gen_msi_high"] = res
        rows.append(row)
    schema = {"patient_id": pl.Utf8, "present_genomics": pl.Boolean} | {n: pl.Float64 for n in feature_names("genomics")}
    return pl.DataFrame(rows, schema=schema)


# ---- clinical (demographics, diagnosis, structured biomarkers, labs) --------------------------

def _stage_number(stage: str | None) -> float:
    s = (stage or "").upper().replace("STAGE", "").strip()
    for roman, n in (("IV", 4.0), ("III", 3.0), ("II", 2.0), ("I", 1.0)):
        if s.startswith(roman):
            return n
    m = re.match(r"([1-4])", s)
    return float(m.group(1)) if m else float("nan")


def clinical(con: duckdb.DuckDBPyConnection, view: str) -> pl.DataFrame:
    """Demographics, stage, cancer type and histology, structured biomarkers, recent labs."""
    pat = frame(con, f"""
        SELECT p.patient_id, i.as_of, lower(coalesce(p.cancer_type, '')) AS cancer_type,
               upper(coalesce(p.oncotree_code, '')) AS oncotree, lower(coalesce(p.histology, '')) AS histology,
               lower(coalesce(p.sex, '')) AS sex, p.stage, p.age_at_diagnosis_years, p.diagnosis_date, p.birth_date,
               (SELECT c.stage FROM conditions c WHERE c.patient_id = p.patient_id AND c.stage IS NOT NULL
                ORDER BY c.observed_at DESC NULLS LAST LIMIT 1) AS condition_stage
        FROM patients p JOIN {view} i USING (patient_id)""")
    labs = frame(con, f"""
        SELECT e.patient_id, e.observed_at, coalesce(e.loinc, '') AS loinc, lower(coalesce(e.name, '')) AS name,
               e.value_num
        FROM labs e JOIN {view} i USING (patient_id)
        WHERE {_before()} AND e.value_num IS NOT NULL
          AND (e.observed_at IS NULL OR e.observed_at >= i.as_of - INTERVAL {LAB_LOOKBACK_DAYS} DAY)
        ORDER BY e.patient_id, e.observed_at NULLS FIRST""")
    bio = frame(con, f"""
        SELECT e.patient_id, lower(e.name) AS name, lower(coalesce(e.status, '')) AS status,
               lower(coalesce(e.value_text, '')) AS value_text, e.value_num
        FROM biomarkers e JOIN {view} i USING (patient_id)
        WHERE {_before()} AND e.modality IN ('clinical', 'labs')
        ORDER BY e.patient_id, e.observed_at NULLS FIRST""")
    rows = []
    for r in pat.iter_rows(named=True):
        age = r["age_at_diagnosis_years"]
        if age is not None and r["diagnosis_date"] is not None and r["as_of"] is not None:
            age = age + (r["as_of"] - _as_datetime(r["diagnosis_date"])).days / 365.25
        elif r["birth_date"] is not None and r["as_of"] is not None:
            age = (r["as_of"] - _as_datetime(r["birth_date"])).days / 365.25
        ct, onco, hist = r["cancer_type"], r["oncotree"], r["histology"]
        known = bool(ct) or age is not None
        rows.append({
            "patient_id": r["patient_id"], "present_clinical": known,
            "clin_age_years": age, "clin_female": {"female": 1.0, "f": 1.0, "male": 0.0, "m": 0.0}.get(r["sex"]),
            "clin_stage": _stage_number(r["stage"] or r["condition_stage"]),
            "clin_lung": float(ct == "lung") if ct else None, "clin_breast": float(ct == "breast") if ct else None,
            "clin_colorectal": float(ct == "colorectal") if ct else None,
            "clin_small_cell": (float(onco == "SCLC" or ("small cell" in hist and "non-small" not in hist))
                                if (onco or hist) else None),
            "clin_squamous": float(onco == "LUSC" or "squamous" in hist) if (onco or hist) else None,
        })
    schema = {"patient_id": pl.Utf8, "present_clinical": pl.Boolean} | {
        n: pl.Float64 for n in ("clin_age_years", "clin_female", "clin_stage", "clin_lung", "clin_breast",
                                "clin_colorectal", "clin_small_cell", "clin_squamous")}
    out = pl.DataFrame(rows, schema=schema)
    if labs.height:
        out = out.join(_lab_features(labs), on="patient_id", how="left")
    if bio.height:
        out = out.join(_structured_biomarkers(bio), on="patient_id", how="left")
    return out


def _as_datetime(d) -> datetime:  # noqa: ANN001 - date or datetime
    return d if isinstance(d, datetime) else datetime(d.year, d.month, d.day)


def _lab_features(labs: pl.DataFrame) -> pl.DataFrame:
    key = pl.lit(None, dtype=pl.Utf8)
    for name, (loincs, frags, _) in reversed(list(LABS.items())):
        cond = pl.col("loinc").is_in(list(loincs))
        for frag in frags:
            cond = cond | pl.col("name").str.contains(frag, literal=True)
        key = pl.when(cond).then(pl.lit(name)).otherwise(key)
    latest = (labs.with_columns(key.alias("feature")).filter(pl.col("feature").is_not_null())
              .group_by("patient_id", "feature").agg(pl.col("value_num").last()))
    if latest.height == 0:
        return pl.DataFrame(schema={"patient_id": pl.Utf8})
    return latest.pivot(on="feature", index="patient_id", values="value_num")


def _structured_biomarkers(bio: pl.DataFrame) -> pl.DataFrame:
    rows: dict[str, dict[str, float]] = {}
    for r in bio.iter_rows(named=True):
        key = biomarker_key(r["name"])
        d = rows.setdefault(r["patient_id"], {})
        text = f"{r['status']} {r['value_text']}".strip()
        if key == "pdl1":
            val = r["value_num"] if r["value_num"] is not None else _number(text)
            if val is not None:
                d["clin_pdl1_tps"] = float(val)
        elif key in ("er", "her2"):
            res = result_positive(text, r["value_num"])
            if res is not None:
                d[f"clin_{key}_positive"] = res
    data = [{"patient_id": pid} | d for pid, d in rows.items()]
    schema = {"patient_id": pl.Utf8, "clin_pdl1_tps": pl.Float64, "clin_er_positive": pl.Float64,
              "clin_her2_positive": pl.Float64}
    return pl.DataFrame(data, schema=schema)
