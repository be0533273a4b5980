"""One named function per question the product asks of the store; each returns a polars frame.

Pages never run SQL: they call these. Values are always bound parameters.
"""
from __future__ import annotations

import warnings

import duckdb
import polars as pl

from core.store import evidence_items, schema

# How each evidence table reads as one line of evidence (defined beside its materialisation).
EVIDENCE_VIEWS = evidence_items.EVIDENCE_VIEWS


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> pl.DataFrame:
    """Run a query and return every row as a polars frame.

    DuckDB 2.0: ``con.sql(...)`` refuses to run while an earlier ``execute`` result is
    unfinished, so we go through ``execute`` and drain it into Arrow.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "extra copy" notice: fine at our sizes
        return pl.from_arrow(con.execute(sql, params or []).to_arrow_table())  # type: ignore[return-value]


_df = frame


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [table]).fetchone())


def table_counts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Row count of every table in the store."""
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name").fetchall()]
    rows = [(n, con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names]
    return pl.DataFrame(rows, schema=["table", "rows"], orient="row")


def ingest_errors(con: duckdb.DuckDBPyConnection, limit: int = 100) -> pl.DataFrame:
    return _df(con, "SELECT created_at, severity, kind, error_type, source_uri, locator, message FROM ingest_errors "
                    "ORDER BY created_at DESC, source_uri, locator LIMIT ?", [limit])


def count_ingest_errors(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM ingest_errors WHERE severity = 'error'").fetchone()[0]


def patients(con: duckdb.DuckDBPyConnection, cohort: str | None = None, cancer_type: str | None = None,
             limit: int = 5000) -> pl.DataFrame:
    """Patient list with the modalities on file (one row per patient)."""
    return _df(con, """
        SELECT p.patient_id, p.cohort, p.cancer_type, p.oncotree_code, p.sex, p.stage, p.histology,
               p.age_at_diagnosis_years, p.diagnosis_date, p.site,
               p.given_name, p.family_name, p.mrn, p.birth_date,
               EXISTS (SELECT 1 FROM imaging_series s WHERE s.patient_id = p.patient_id) AS has_imaging,
               EXISTS (SELECT 1 FROM notes n WHERE n.patient_id = p.patient_id) AS has_notes,
               EXISTS (SELECT 1 FROM specimens sp WHERE sp.patient_id = p.patient_id) AS has_sequencing
        FROM patients p
        WHERE ($cohort IS NULL OR p.cohort = $cohort) AND ($ct IS NULL OR p.cancer_type = $ct)
        ORDER BY p.cohort, p.patient_id
        LIMIT $limit""", {"cohort": cohort, "ct": cancer_type, "limit": limit})  # type: ignore[arg-type]


def patient(con: duckdb.DuckDBPyConnection, patient_id: str) -> dict | None:
    """One patient's header row as a dict, or None."""
    df = _df(con, "SELECT * FROM patients WHERE patient_id = ?", [patient_id])
    return df.row(0, named=True) if df.height else None


EVIDENCE_COLUMNS = evidence_items.COLUMNS
_EVIDENCE_ORDER = f" ORDER BY {evidence_items.ORDER}"
_EVIDENCE_SQL = (f"SELECT {', '.join(EVIDENCE_COLUMNS)} FROM ({evidence_items.select_sql('patient_id = $pid')})"
                 + _EVIDENCE_ORDER)
_EVIDENCE_ITEMS_SQL = (f"SELECT {', '.join(EVIDENCE_COLUMNS)} FROM evidence_items WHERE patient_id = $pid"
                       + _EVIDENCE_ORDER)


def patient_evidence(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    """Every evidence item of a patient, one row each, with the full provenance contract.

    Returns columns: source_table, kind, summary, value, modality, observed_at, source_uri,
    source_sha256, locator, extractor, extractor_version, ingested_at, ingest_run_id.
    """
    sql = _EVIDENCE_ITEMS_SQL if evidence_items.usable(con) else _EVIDENCE_SQL
    return _df(con, sql, {"pid": patient_id})  # type: ignore[arg-type]


# cBioPortal patient-view tracks, plus note events.
TRACK_OF_TABLE = {
    "conditions": "status", "outcomes": "status", "imaging_studies": "imaging", "lesion_measurements": "imaging",
    "notes": "notes", "note_events": "note events", "variants": "specimen / genomics", "specimens": "specimen / genomics",
    "biomarkers": "specimen / genomics", "labs": "lab test", "clinical_observations": "clinical", "treatments": "treatment",
}


def timeline(con: duckdb.DuckDBPyConnection, patient_id: str, *, response: bool = True) -> pl.DataFrame:
    """Dated evidence in cBioPortal-style tracks; every point keeps its provenance.

    Note events that are negated or about family members stay in the frame (flagged in
    ``summary``) so the timeline never hides what the note said; undated rows are dropped
    here but remain in ``patient_evidence``.

    Args:
        response: add the RECIST 1.1-style response at baseline and each follow-up as track
            ``"response"`` (``core.imaging.recist.response_timeline_rows``: kind "response", value the
            category, provenance of the largest measured target lesion, extractor core.imaging.recist).

    Returns:
        The ``patient_evidence`` columns plus ``track``, ordered by observed_at.
    """
    ev = patient_evidence(con, patient_id).filter(pl.col("observed_at").is_not_null())
    # Note events: keep the clinically meaningful ones (not every sentence) on the timeline.
    ev = ev.filter(~((pl.col("source_table") == "note_events") & pl.col("summary").str.starts_with("symptom")
                     & pl.col("summary").str.contains("negated")))
    tl = ev.with_columns(pl.col("source_table").replace_strict(TRACK_OF_TABLE, default="other", return_dtype=pl.Utf8)
                         .alias("track"))
    if not response:
        return tl
    from core.imaging.recist import response_timeline_rows  # lazy: recist reads the store through this module

    rows = response_timeline_rows(con, patient_id)
    if rows.height == 0:
        return tl
    rows = rows.select(tl.columns).cast(tl.schema)  # type: ignore[arg-type]
    return pl.concat([tl, rows], how="vertical").sort("observed_at", maintain_order=True)


def evidence_row(con: duckdb.DuckDBPyConnection, table: str, locator: str, source_sha256: str) -> dict | None:
    """The full stored row behind one evidence item (for 'open the source')."""
    schema.check_identifier(table)
    df = _df(con, f"SELECT * FROM {table} WHERE locator = ? AND source_sha256 = ? LIMIT 1", [locator, source_sha256])
    return df.row(0, named=True) if df.height else None


def note_text(con: duckdb.DuckDBPyConnection, source_sha256: str) -> dict | None:
    df = _df(con, "SELECT note_id, patient_id, note_type, title, observed_at, text, source_uri FROM notes "
                  "WHERE source_sha256 = ? LIMIT 1", [source_sha256])
    return df.row(0, named=True) if df.height else None


def variants(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    return _df(con, """SELECT hugo_symbol, protein_change, hgvsc, variant_category, variant_classification, cnv_call,
                              sv_partner, vaf, depth, genome_build, actionability_level, actionability_note, origin,
                              annotation_source, specimen_id, observed_at, source_uri, source_sha256, locator
                       FROM variants WHERE patient_id = ? ORDER BY actionability_level NULLS LAST, hugo_symbol""",
               [patient_id])


def tested_genes(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    return _df(con, "SELECT DISTINCT gene, panel_name, specimen_id FROM tested_genes WHERE patient_id = ? ORDER BY gene",
               [patient_id])


def biomarkers(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    return _df(con, "SELECT name, status, value_num, unit, method, observed_at, source_uri, source_sha256, locator "
                    "FROM biomarkers WHERE patient_id = ? ORDER BY name, observed_at", [patient_id])


def cohort_summary(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Patients per cohort and cancer type, with modality completeness."""
    return _df(con, """
        SELECT p.cohort, p.cancer_type, count(*) AS patients,
               avg(CASE WHEN EXISTS (SELECT 1 FROM imaging_series s WHERE s.patient_id = p.patient_id) THEN 1 ELSE 0 END) AS frac_imaging,
               avg(CASE WHEN EXISTS (SELECT 1 FROM specimens s WHERE s.patient_id = p.patient_id) THEN 1 ELSE 0 END) AS frac_sequencing,
               avg(CASE WHEN EXISTS (SELECT 1 FROM notes s WHERE s.patient_id = p.patient_id) THEN 1 ELSE 0 END) AS frac_notes
        FROM patients p GROUP BY ALL ORDER BY ALL""")


def imaging_instances(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    """Every stored slice of a patient with its study date, ordered for a viewer."""
    return _df(con, """SELECT i.study_uid, i.series_uid, i.sop_instance_uid, i.instance_number, i.file_path,
                              i.window_center, i.window_width, s.study_description, s.observed_at AS study_date
                       FROM imaging_instances i JOIN imaging_studies s USING (study_uid)
                       WHERE i.patient_id = ? ORDER BY s.observed_at, i.series_uid, i.instance_number""", [patient_id])


def lesion_sizes(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    """Lesion long-axis size per study over time (for tracking growth and response)."""
    return _df(con, """SELECT lesion_id, observed_at, long_axis_mm, short_axis_mm, margin, study_uid, sop_instance_uid,
                              center_row, center_col, method, source_uri, locator
                       FROM lesion_measurements WHERE patient_id = ? ORDER BY lesion_id, observed_at""", [patient_id])
