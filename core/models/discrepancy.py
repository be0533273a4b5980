"""Cross-modal discrepancies: what one source says against what another shows.

Kinds (``DiscrepancyKind``):

* ``note_biomarker_vs_variant``: a note calls a gene / biomarker negative ("EGFR negative",
  "no KRAS mutation", "HER2 not amplified") while sequencing reports an alteration of it;
* ``note_variant_vs_sequencing``: a note names a specific protein change ("KRAS G12C
  detected") for a gene that sequencing tested and found unaltered;
* ``report_vs_image``: a radiology report says there is no mass / no measurable disease
  while a lesion was measured on imaging within ``REPORT_WINDOW_DAYS`` of the report (a
  radiologist's annotation, or an image-model measurement when one is stored with another
  ``method``).

Mentions about family members or hypothetical statements never count. Each row keeps
both evidence locators (table, source hash, locator) so the dashboard can open both
sources; descriptions name genes and sizes, never note text or dates.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from enum import StrEnum
from datetime import datetime

import duckdb
import polars as pl

from core.ingest.base import stable_id
from core.models.features import biomarker_key, result_positive
from core.store.queries import frame

DETECTOR = "core.models.discrepancy/1"
REPORT_WINDOW_DAYS = 45  # a diagnostic CT and its staging CT are typically 3-6 weeks apart
GENE_ALIASES = {"her2": "ERBB2", "her-2": "ERBB2", "her2/neu": "ERBB2", "c-met": "MET", "braf v600e": "BRAF"}
GENES = ("EGFR", "KRAS", "NRAS", "ALK", "ROS1", "BRAF", "MET", "RET", "ERBB2", "PIK3CA", "BRCA1", "BRCA2", "ESR1",
         "NTRK1", "NTRK2", "NTRK3", "TP53", "STK11", "KEAP1", "IDH1", "FGFR2", "FGFR3")
LESION_WORDS = ("mass", "lesion", "nodule", "tumor", "tumour", "measurable disease", "disease", "opacity")
_NO_DISEASE = re.compile(
    r"\bno\s+(?:evidence\s+of\s+|definite\s+|discrete\s+|residual\s+|new\s+)?(?:measurable\s+)?"
    r"(?:mass(?:es)?|lesions?|nodules?|tumou?r|measurable\s+disease)\b", re.I)
_PROTEIN = re.compile(r"\b(?:p\.)?[A-Z]\d{1,4}(?:[A-Z*]|_[A-Z]\d+del|del|fs)\b")
_SILENT = ("silent", "synonymous_variant", "intron", "3'utr", "5'utr", "igr")


class DiscrepancyKind(StrEnum):
    NOTE_BIOMARKER_VS_VARIANT = "note_biomarker_vs_variant"
    NOTE_VARIANT_VS_SEQUENCING = "note_variant_vs_sequencing"
    REPORT_VS_IMAGE = "report_vs_image"


COLUMNS = ("discrepancy_id", "patient_id", "kind", "description", "evidence_a", "evidence_b", "detected_at", "detector")


def gene_of(name: str) -> str | None:
    """Gene symbol named by a biomarker mention ('EGFR', 'HER2' -> 'ERBB2'), or None."""
    n = (name or "").strip().lower()
    if n in GENE_ALIASES:
        return GENE_ALIASES[n]
    first = re.split(r"[\s:(/,]", n.upper(), maxsplit=1)[0] if n else ""
    if first in GENES:
        return first
    if biomarker_key(n) == "her2":
        return "ERBB2"
    return None


def locator_json(table: str, row: dict) -> str:
    """Evidence pointer stored in ``evidence_a`` / ``evidence_b``: enough to open the source.

    No dates: these columns are not date-classified, so a de-identified export would not
    shift them (the date is on the source row the pointer opens)."""
    return json.dumps({"table": table, "source_uri": row.get("source_uri"), "source_sha256": row.get("source_sha256"),
                       "locator": row.get("locator")}, sort_keys=True)


def detect_discrepancies(con: duckdb.DuckDBPyConnection, patient_ids: Iterable[str] | None = None,
                         now: datetime | None = None) -> pl.DataFrame:
    """Every discrepancy found for the patients (all when None), one row each (``discrepancies`` columns).

    Ids are stable (kind + both locators), so a re-run finds the same ids and reviews
    recorded against them in the board store stay attached.
    """
    ids = None if patient_ids is None else list(patient_ids)
    now = now or datetime.now()
    rows = _biomarker_vs_variant(con, ids) + _report_vs_image(con, ids)
    out = {}
    for r in rows:
        r["discrepancy_id"] = stable_id(r["kind"], r["patient_id"], r["evidence_a"], r["evidence_b"])
        r["detected_at"] = now
        r["detector"] = DETECTOR
        out[r["discrepancy_id"]] = r
    schema = {c: pl.Utf8 for c in COLUMNS} | {"detected_at": pl.Datetime("us")}
    return pl.DataFrame(list(out.values()), schema=schema).select(COLUMNS).sort("patient_id", "kind", "discrepancy_id")


def _pid_filter(ids: list[str] | None, alias: str = "e") -> tuple[str, list]:
    if ids is None:
        return "", []
    return f" AND {alias}.patient_id IN (SELECT unnest(?))", [ids]


# ---- note vs sequencing -----------------------------------------------------------------------

def _biomarker_vs_variant(con: duckdb.DuckDBPyConnection, ids: list[str] | None) -> list[dict]:
    flt, params = _pid_filter(ids)
    mentions = frame(con, f"""
        SELECT e.patient_id, e.concept, e.value_text, coalesce(e.is_negated, false) AS neg,
               coalesce(e.is_uncertain, false) AS unc, 'note_events' AS src_table, e.source_uri, e.source_sha256,
               e.locator, e.observed_at
        FROM note_events e
        WHERE lower(coalesce(e.concept_type, '')) IN ('biomarker', 'genomic', 'mutation', 'gene', 'variant')
          AND NOT coalesce(e.is_family, false) AND NOT coalesce(e.is_hypothetical, false){flt}
        UNION ALL
        SELECT e.patient_id, e.name, coalesce(e.status, '') || ' ' || coalesce(e.value_text, ''), false, false,
               'biomarkers', e.source_uri, e.source_sha256, e.locator, e.observed_at
        FROM biomarkers e WHERE e.modality = 'notes'{flt}""", params * 2)
    if mentions.height == 0:
        return []
    var = frame(con, f"""
        SELECT e.patient_id, upper(e.hugo_symbol) AS gene, e.protein_change, e.cnv_call, e.sv_partner,
               lower(coalesce(e.variant_classification, '')) AS cls, upper(coalesce(e.filter, 'PASS')) AS filt,
               e.source_uri, e.source_sha256, e.locator, e.observed_at
        FROM variants e WHERE e.hugo_symbol IS NOT NULL{flt}""", params)
    var = var.filter(pl.col("filt").is_in(["PASS", "."]) & ~pl.col("cls").is_in(list(_SILENT)))
    tested = frame(con, f"SELECT DISTINCT e.patient_id, upper(e.gene) AS gene FROM tested_genes e WHERE true{flt}", params)
    tested_set = set(zip(tested["patient_id"].to_list(), tested["gene"].to_list(), strict=True))
    var_by: dict[tuple[str, str], list[dict]] = {}
    for v in var.iter_rows(named=True):
        var_by.setdefault((v["patient_id"], v["gene"]), []).append(v)
    out: list[dict] = []
    for m in mentions.iter_rows(named=True):
        gene = gene_of(m["concept"] or "")
        if gene is None:
            continue
        text = (m["value_text"] or "").strip()
        res = 0.0 if m["neg"] else result_positive(text)
        found = var_by.get((m["patient_id"], gene), [])
        if res == 0.0 and found:
            v = found[0]
            alt = v["protein_change"] or v["cnv_call"] or (f"fusion with {v['sv_partner']}" if v["sv_partner"] else "")
            out.append({"patient_id": m["patient_id"], "kind": DiscrepancyKind.NOTE_BIOMARKER_VS_VARIANT.value,
                        "description": f"a note reports {gene} negative; sequencing reports {gene} {alt}".strip(),
                        "evidence_a": locator_json(m["src_table"], m), "evidence_b": locator_json("variants", v)})
        elif (res == 1.0 and not m["unc"] and not found and (m["patient_id"], gene) in tested_set
              and _PROTEIN.search(text or m["concept"] or "")):
            out.append({"patient_id": m["patient_id"], "kind": DiscrepancyKind.NOTE_VARIANT_VS_SEQUENCING.value,
                        "description": f"a note reports a {gene} variant; {gene} was sequenced and not altered",
                        "evidence_a": locator_json(m["src_table"], m),
                        "evidence_b": json.dumps({"table": "tested_genes", "patient_id": m["patient_id"], "gene": gene},
                                                 sort_keys=True)})
    return out


# ---- radiology report vs image -----------------------------------------------------------------

def _report_vs_image(con: duckdb.DuckDBPyConnection, ids: list[str] | None) -> list[dict]:
    flt, params = _pid_filter(ids)
    notes = frame(con, f"""
        SELECT e.patient_id, e.note_id, e.note_type, e.title, e.text, e.source_uri, e.source_sha256, e.locator,
               e.observed_at
        FROM notes e
        WHERE (regexp_matches(lower(coalesce(e.note_type, '')), '\\b(radiology|imaging|ct|mri|pet|x-ray)\\b')
               OR regexp_matches(lower(coalesce(e.title, '')), '\\b(radiology|imaging|ct|mri|pet|x-ray)\\b'))
              {flt}""", params)
    if notes.height == 0:
        return []
    ev = frame(con, f"""
        SELECT e.patient_id, e.note_id, lower(e.concept) AS concept, coalesce(e.is_negated, false) AS neg,
               e.source_uri, e.source_sha256, e.locator, e.observed_at
        FROM note_events e
        WHERE NOT coalesce(e.is_family, false) AND NOT coalesce(e.is_hypothetical, false)
          AND NOT coalesce(e.is_historical, false){flt}""", params)
    lesions = frame(con, f"""
        SELECT e.patient_id, e.lesion_id, e.long_axis_mm, e.study_uid, e.source_uri, e.source_sha256, e.locator,
               e.observed_at
        FROM lesion_measurements e WHERE e.long_axis_mm > 0{flt} ORDER BY e.observed_at""", params)
    if lesions.height == 0:
        return []
    ev_by: dict[str, list[dict]] = {}
    for r in ev.iter_rows(named=True):
        if any(w in (r["concept"] or "") for w in LESION_WORDS):
            ev_by.setdefault(r["note_id"], []).append(r)
    les_by: dict[str, list[dict]] = {}
    for r in lesions.iter_rows(named=True):
        les_by.setdefault(r["patient_id"], []).append(r)
    out = []
    for n in notes.iter_rows(named=True):
        claim = _no_disease_claim(n, ev_by.get(n["note_id"], []))
        if claim is None:
            continue
        near = [les for les in les_by.get(n["patient_id"], [])
                if n["observed_at"] is None or les["observed_at"] is None
                or abs((les["observed_at"] - n["observed_at"]).days) <= REPORT_WINDOW_DAYS]
        if not near:
            continue
        les = max(near, key=lambda r: r["long_axis_mm"])
        out.append({"patient_id": n["patient_id"], "kind": DiscrepancyKind.REPORT_VS_IMAGE.value,
                    "description": f"a radiology report states no mass / measurable disease; a "
                                   f"{les['long_axis_mm']:.0f} mm lesion was measured within {REPORT_WINDOW_DAYS} days",
                    "evidence_a": claim, "evidence_b": locator_json("lesion_measurements", les)})
    return out


def _no_disease_claim(note: dict, events: list[dict]) -> str | None:
    """Locator JSON of the 'no mass' statement if the report makes one and affirms no lesion, else None."""
    if events:
        negated = [e for e in events if e["neg"]]
        affirmed = [e for e in events if not e["neg"]]
        if negated and not affirmed:
            return locator_json("note_events", negated[0])
        if affirmed:
            return None
    text = note.get("text") or ""
    m = _NO_DISEASE.search(text)
    if m is None:
        return None
    # any sentence that mentions a lesion word without a negation cue means a lesion was reported
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        s = sentence.lower()
        if any(re.search(rf"\b{w}", s) for w in ("mass", "lesion", "nodule", "tumor", "tumour")) and not re.search(
                r"\b(no|without|negative for|free of|resolved)\b", s):
            return None
    # locator = the note row's own locator (opens it); span = where in its text the statement is
    return json.dumps({"table": "notes", "source_uri": note["source_uri"], "source_sha256": note["source_sha256"],
                       "locator": note["locator"], "span": f"{m.start()}:{m.end()}"}, sort_keys=True)


def truth_kind(text: str) -> str:
    """Map a generator truth label onto a ``DiscrepancyKind`` family."""
    t = (text or "").lower()
    if any(w in t for w in ("image", "imaging", "report", "radiology", "mass", "lesion")):
        return DiscrepancyKind.REPORT_VS_IMAGE.value
    return DiscrepancyKind.NOTE_BIOMARKER_VS_VARIANT.value
