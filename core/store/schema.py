"""Every table of the evidence store, its numbered migrations and each column's PHI class.

Masking, de-identified export and the "no PHI in logs" checks are driven by the
``Phi`` class of each column declared here, never by hand-written lists elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import duckdb


class Phi(StrEnum):
    """PHI class of a column (HIPAA Safe Harbor thinking)."""

    NONE = "none"            # safe to show and export
    DIRECT = "direct"        # names, MRNs, birth dates, addresses: masked, dropped from de-id export
    DATE = "date"            # clinical dates: shown to clinicians, shifted in de-id export
    FREE_TEXT = "free_text"  # may contain PHI (note text, comments): masked in presentation, dropped in de-id export


class Modality(StrEnum):
    IMAGING = "imaging"
    NOTES = "notes"
    GENOMICS = "genomics"
    CLINICAL = "clinical"
    LABS = "labs"
    MODEL = "model"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    phi: Phi = Phi.NONE
    constraint: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    evidence: bool = False  # follows the provenance contract
    app_owned: bool = False  # lives in the board store, written only by the app

    def ddl(self) -> str:
        cols = [f'"{c.name}" {c.type} {c.constraint}'.strip() for c in self.columns]
        if self.primary_key:
            cols.append("PRIMARY KEY (" + ", ".join(self.primary_key) + ")")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  " + ",\n  ".join(cols) + "\n)"

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def C(name: str, type_: str, phi: Phi = Phi.NONE, constraint: str = "") -> Column:
    return Column(name, type_, phi, constraint)


# The provenance contract of DESIGN.md: every evidence row carries these.
PROVENANCE: tuple[Column, ...] = (
    C("patient_id", "VARCHAR", constraint="NOT NULL"),
    C("modality", "VARCHAR", constraint="NOT NULL"),
    C("observed_at", "TIMESTAMP", Phi.DATE),
    C("source_uri", "VARCHAR", constraint="NOT NULL"),
    C("source_sha256", "VARCHAR", constraint="NOT NULL"),
    C("locator", "VARCHAR", constraint="NOT NULL"),
    C("extractor", "VARCHAR", constraint="NOT NULL"),
    C("extractor_version", "VARCHAR", constraint="NOT NULL"),
    C("ingested_at", "TIMESTAMP", constraint="NOT NULL"),
    C("ingest_run_id", "VARCHAR", constraint="NOT NULL"),
)
PROVENANCE_NAMES = tuple(c.name for c in PROVENANCE)


def evidence(name: str, *cols: Column, pk: tuple[str, ...] = ()) -> Table:
    return Table(name, tuple(cols) + PROVENANCE, pk, evidence=True)


TABLES_V1: tuple[Table, ...] = (
    Table("schema_version", (C("version", "INTEGER"), C("name", "VARCHAR"), C("applied_at", "TIMESTAMP")), ("version",)),
    Table("patients", (
        C("patient_id", "VARCHAR"),
        C("cancer_type", "VARCHAR"),        # lung / breast / colorectal / other
        C("oncotree_code", "VARCHAR"),
        C("sex", "VARCHAR"),
        C("birth_date", "DATE", Phi.DIRECT),
        C("given_name", "VARCHAR", Phi.DIRECT),
        C("family_name", "VARCHAR", Phi.DIRECT),
        C("mrn", "VARCHAR", Phi.DIRECT),
        C("age_at_diagnosis_years", "DOUBLE"),
        C("diagnosis_date", "DATE", Phi.DATE),
        C("stage", "VARCHAR"),
        C("histology", "VARCHAR"),
        C("site", "VARCHAR"),
        C("cohort", "VARCHAR"),             # historical / current / external
        C("created_at", "TIMESTAMP"),
    ), ("patient_id",)),
    Table("patient_identifiers", (
        C("system", "VARCHAR"), C("value", "VARCHAR", Phi.DIRECT), C("patient_id", "VARCHAR"),
        C("source_uri", "VARCHAR"), C("created_at", "TIMESTAMP"),
    ), ("system", "value")),
    Table("ingest_runs", (
        C("ingest_run_id", "VARCHAR"), C("started_at", "TIMESTAMP"), C("finished_at", "TIMESTAMP"),
        C("command", "VARCHAR"), C("n_ingested", "INTEGER"), C("n_skipped", "INTEGER"), C("n_failed", "INTEGER"),
    ), ("ingest_run_id",)),
    Table("sources", (
        C("source_sha256", "VARCHAR"), C("source_uri", "VARCHAR"), C("kind", "VARCHAR"),
        C("size_bytes", "BIGINT"), C("n_rows", "INTEGER"), C("n_errors", "INTEGER"),
        C("ingested_at", "TIMESTAMP"), C("ingest_run_id", "VARCHAR"),
    ), ("source_sha256", "kind")),
    Table("ingest_errors", (
        C("error_id", "VARCHAR"), C("ingest_run_id", "VARCHAR"), C("source_uri", "VARCHAR"),
        C("source_sha256", "VARCHAR"), C("kind", "VARCHAR"), C("locator", "VARCHAR"),
        C("severity", "VARCHAR"),  # error / warning
        C("error_type", "VARCHAR"), C("message", "VARCHAR"), C("created_at", "TIMESTAMP"),
    ), ("error_id",)),
    evidence("specimens",
             C("specimen_id", "VARCHAR"), C("sample_id", "VARCHAR"), C("specimen_type", "VARCHAR"),
             C("panel_name", "VARCHAR"), C("genome_build", "VARCHAR"), pk=("specimen_id",)),
    Table("document_links", (
        C("file_name", "VARCHAR"), C("file_sha256", "VARCHAR"), C("patient_id", "VARCHAR"),
        C("note_type", "VARCHAR"), C("note_date", "DATE", Phi.DATE), C("source_uri", "VARCHAR"),
        C("created_at", "TIMESTAMP"),
    ), ("file_name", "patient_id")),
    evidence("conditions",
             C("condition_id", "VARCHAR"), C("code_system", "VARCHAR"), C("code", "VARCHAR"),
             C("display", "VARCHAR"), C("oncotree_code", "VARCHAR"), C("histology", "VARCHAR"),
             C("stage", "VARCHAR"), C("clinical_status", "VARCHAR"), pk=("condition_id",)),
    evidence("imaging_studies",
             C("study_uid", "VARCHAR"), C("accession_number", "VARCHAR", Phi.DIRECT),
             C("study_description", "VARCHAR"), C("dicom_modality", "VARCHAR"), pk=("study_uid",)),
    evidence("imaging_series",
             C("series_uid", "VARCHAR"), C("study_uid", "VARCHAR"), C("dicom_modality", "VARCHAR"),
             C("body_part", "VARCHAR"), C("series_description", "VARCHAR"), pk=("series_uid",)),
    evidence("imaging_instances",
             C("sop_instance_uid", "VARCHAR"), C("series_uid", "VARCHAR"), C("study_uid", "VARCHAR"),
             C("sop_class_uid", "VARCHAR"), C("instance_number", "INTEGER"), C("rows", "INTEGER"),
             C("columns", "INTEGER"), C("pixel_spacing_mm", "DOUBLE"), C("slice_thickness_mm", "DOUBLE"),
             C("slice_location_mm", "DOUBLE"), C("window_center", "DOUBLE"), C("window_width", "DOUBLE"),
             C("dicom_patient_name", "VARCHAR", Phi.DIRECT), C("dicom_patient_id", "VARCHAR", Phi.DIRECT),
             C("dicom_birth_date", "VARCHAR", Phi.DIRECT), C("file_path", "VARCHAR"), pk=("sop_instance_uid",)),
    evidence("lesion_measurements",
             C("measurement_id", "VARCHAR"), C("lesion_id", "VARCHAR"), C("study_uid", "VARCHAR"),
             C("sop_instance_uid", "VARCHAR"), C("long_axis_mm", "DOUBLE"), C("short_axis_mm", "DOUBLE"),
             C("center_row", "DOUBLE"), C("center_col", "DOUBLE"), C("margin", "VARCHAR"),
             C("method", "VARCHAR"), pk=("measurement_id",)),
    evidence("notes",
             C("note_id", "VARCHAR"), C("note_type", "VARCHAR"), C("author", "VARCHAR", Phi.DIRECT),
             C("title", "VARCHAR"), C("text", "VARCHAR", Phi.FREE_TEXT), pk=("note_id",)),
    evidence("note_events",
             C("event_id", "VARCHAR"), C("note_id", "VARCHAR"), C("concept_type", "VARCHAR"),
             C("concept", "VARCHAR"), C("value_text", "VARCHAR"), C("value_num", "DOUBLE"),
             C("unit", "VARCHAR"), C("span_start", "INTEGER"), C("span_end", "INTEGER"),
             C("snippet", "VARCHAR", Phi.FREE_TEXT), C("section", "VARCHAR"),
             C("is_negated", "BOOLEAN"), C("is_uncertain", "BOOLEAN"), C("is_historical", "BOOLEAN"),
             C("is_family", "BOOLEAN"), C("is_hypothetical", "BOOLEAN"), C("date_text", "VARCHAR", Phi.DATE),
             pk=("event_id",)),
    evidence("variants",
             C("variant_id", "VARCHAR"), C("specimen_id", "VARCHAR"), C("sample_id", "VARCHAR"),
             C("genome_build", "VARCHAR"), C("chrom", "VARCHAR"), C("pos", "BIGINT"), C("ref", "VARCHAR"),
             C("alt", "VARCHAR"), C("hugo_symbol", "VARCHAR"), C("variant_category", "VARCHAR"),
             C("variant_classification", "VARCHAR"), C("variant_type", "VARCHAR"), C("hgvsc", "VARCHAR"),
             C("hgvsp", "VARCHAR"), C("protein_change", "VARCHAR"), C("exon", "INTEGER"),
             C("cnv_call", "VARCHAR"), C("sv_partner", "VARCHAR"), C("vaf", "DOUBLE"), C("depth", "INTEGER"),
             C("alt_count", "INTEGER"), C("origin", "VARCHAR"), C("filter", "VARCHAR"),
             C("annotation_source", "VARCHAR"), C("actionability_level", "VARCHAR"),
             C("actionability_note", "VARCHAR"),
             C("build_source", "VARCHAR"),  # where genome_build came from: vcf header / specimen manifest / maf NCBI_Build
             pk=("variant_id",)),
    # CIViC evidence items as loaded (knowledge, not patient evidence; see core/genomics/actionability.py)
    Table("civic_evidence", (
        C("civic_id", "VARCHAR"), C("gene", "VARCHAR"), C("variant_name", "VARCHAR"), C("evidence_type", "VARCHAR"),
        C("evidence_direction", "VARCHAR"), C("evidence_level", "VARCHAR"), C("clinical_significance", "VARCHAR"),
        C("disease_name", "VARCHAR"), C("doid", "VARCHAR"), C("drug_names", "VARCHAR"), C("drug_interaction_type", "VARCHAR"),
        C("pubmed_id", "VARCHAR"), C("rating", "INTEGER"), C("alteration_type", "VARCHAR"), C("mapping_category", "VARCHAR"),
        C("oncokb_level", "VARCHAR"), C("oncokb_level_other_indication", "VARCHAR"),
        C("source_uri", "VARCHAR"), C("source_sha256", "VARCHAR"), C("ingested_at", "TIMESTAMP"), C("ingest_run_id", "VARCHAR"),
    ), ("civic_id",)),
    evidence("tested_genes",
             C("specimen_id", "VARCHAR"), C("gene", "VARCHAR"), C("panel_name", "VARCHAR"),
             pk=("specimen_id", "gene")),
    evidence("biomarkers",
             C("biomarker_id", "VARCHAR"), C("name", "VARCHAR"), C("value_num", "DOUBLE"),
             C("value_text", "VARCHAR"), C("unit", "VARCHAR"), C("status", "VARCHAR"),
             C("method", "VARCHAR"), pk=("biomarker_id",)),
    evidence("labs",
             C("lab_id", "VARCHAR"), C("loinc", "VARCHAR"), C("name", "VARCHAR"), C("value_num", "DOUBLE"),
             C("value_text", "VARCHAR"), C("unit", "VARCHAR"), C("ref_low", "DOUBLE"), C("ref_high", "DOUBLE"),
             pk=("lab_id",)),
    evidence("treatments",
             C("treatment_id", "VARCHAR"), C("kind", "VARCHAR"), C("name", "VARCHAR"), C("code", "VARCHAR"),
             C("start_date", "DATE", Phi.DATE), C("end_date", "DATE", Phi.DATE), C("line", "INTEGER"),
             C("intent", "VARCHAR"), pk=("treatment_id",)),
    evidence("outcomes",
             C("outcome_id", "VARCHAR"), C("event", "VARCHAR"), C("value_text", "VARCHAR"),
             C("value_num", "DOUBLE"), pk=("outcome_id",)),
    evidence("fhir_resources",
             C("resource_key", "VARCHAR"), C("resource_type", "VARCHAR"), C("resource_id", "VARCHAR"),
             C("profile", "VARCHAR"), C("json", "VARCHAR", Phi.FREE_TEXT), pk=("resource_key",)),
    # ECOG / Karnofsky, vital signs, smoking status, TNM categories: coded clinical facts that are neither labs nor biomarkers
    evidence("clinical_observations",
             C("observation_id", "VARCHAR"), C("category", "VARCHAR"), C("code_system", "VARCHAR"),
             C("code", "VARCHAR"), C("name", "VARCHAR"), C("value_num", "DOUBLE"), C("value_text", "VARCHAR"),
             C("unit", "VARCHAR"), pk=("observation_id",)),
    # ---- model outputs -------------------------------------------------------------
    Table("model_registry", (
        C("model_id", "VARCHAR"), C("version", "VARCHAR"), C("kind", "VARCHAR"),
        C("training_data_hash", "VARCHAR"), C("artifact_path", "VARCHAR"), C("artifact_sha256", "VARCHAR"),
        C("metrics_json", "VARCHAR"), C("created_at", "TIMESTAMP"),
    ), ("model_id", "version")),
    evidence("image_embeddings",
             C("embedding_id", "VARCHAR"), C("series_uid", "VARCHAR"), C("sop_instance_uid", "VARCHAR"),
             C("model_id", "VARCHAR"), C("model_version", "VARCHAR"), C("vector", "FLOAT[]"),
             pk=("embedding_id",)),
    Table("predictions", (
        C("prediction_id", "VARCHAR"), C("patient_id", "VARCHAR"), C("model_id", "VARCHAR"),
        C("model_version", "VARCHAR"), C("training_data_hash", "VARCHAR"), C("target", "VARCHAR"),
        C("risk", "DOUBLE"), C("risk_low", "DOUBLE"), C("risk_high", "DOUBLE"), C("threshold", "DOUBLE"),
        C("modalities_used", "VARCHAR[]"), C("modalities_missing", "VARCHAR[]"),
        C("as_of", "TIMESTAMP", Phi.DATE), C("scored_at", "TIMESTAMP"),
    ), ("prediction_id",)),
    Table("attributions", (
        C("prediction_id", "VARCHAR"), C("feature", "VARCHAR"), C("modality", "VARCHAR"),
        C("feature_value", "VARCHAR"), C("shap_value", "DOUBLE"), C("base_value", "DOUBLE"),
        C("explainer", "VARCHAR"),
    ), ("prediction_id", "feature")),
    Table("ablations", (
        C("prediction_id", "VARCHAR"), C("scenario", "VARCHAR"), C("modality", "VARCHAR"),
        C("risk", "DOUBLE"), C("delta", "DOUBLE"),
    ), ("prediction_id", "scenario", "modality")),
    Table("review_triggers", (
        C("trigger_id", "VARCHAR"), C("patient_id", "VARCHAR"), C("prediction_id", "VARCHAR"),
        C("trigger", "VARCHAR"), C("reason", "VARCHAR"), C("severity", "VARCHAR"),
        C("created_at", "TIMESTAMP"),
    ), ("trigger_id",)),
    Table("discrepancies", (
        C("discrepancy_id", "VARCHAR"), C("patient_id", "VARCHAR"), C("kind", "VARCHAR"),
        C("description", "VARCHAR"), C("evidence_a", "VARCHAR"), C("evidence_b", "VARCHAR"),
        C("detected_at", "TIMESTAMP"), C("detector", "VARCHAR"),
    ), ("discrepancy_id",)),
    # ---- trials ----------------------------------------------------------------------
    Table("trials", (
        C("trial_id", "VARCHAR"), C("protocol_no", "VARCHAR"), C("nct_id", "VARCHAR"), C("title", "VARCHAR"),
        C("phase", "VARCHAR"), C("status", "VARCHAR"), C("is_demo", "BOOLEAN"), C("ctml_json", "VARCHAR"),
        C("source_uri", "VARCHAR"), C("source_sha256", "VARCHAR"), C("ingested_at", "TIMESTAMP"),
    ), ("trial_id",)),
    Table("trial_matches", (
        C("patient_id", "VARCHAR"), C("trial_id", "VARCHAR"), C("arm", "VARCHAR"), C("status", "VARCHAR"),
        C("n_met", "INTEGER"), C("n_not_met", "INTEGER"), C("n_unknown", "INTEGER"), C("rank_score", "DOUBLE"),
        C("criteria_json", "VARCHAR"), C("computed_at", "TIMESTAMP"),
    ), ("patient_id", "trial_id", "arm")),
    # ---- board (seeded by the generator; the app's own writes go to the board store) --
    Table("board_meetings", (
        C("meeting_id", "VARCHAR"), C("scheduled_at", "TIMESTAMP"), C("site", "VARCHAR"), C("title", "VARCHAR"),
    ), ("meeting_id",)),
    Table("board_cases", (
        C("meeting_id", "VARCHAR"), C("patient_id", "VARCHAR"), C("position", "INTEGER"),
        C("question", "VARCHAR", Phi.FREE_TEXT), C("added_at", "TIMESTAMP"), C("ready_at", "TIMESTAMP"),
        C("minutes_planned", "INTEGER"), C("presenter", "VARCHAR"),
    ), ("meeting_id", "patient_id")),
)

# Tables the app alone writes, kept in a separate DuckDB file (see core/store/db.py).
BOARD_TABLES_V1: tuple[Table, ...] = (
    Table("schema_version", (C("version", "INTEGER"), C("name", "VARCHAR"), C("applied_at", "TIMESTAMP")), ("version",)),
    Table("decisions", (
        C("decision_id", "VARCHAR"), C("meeting_id", "VARCHAR"), C("patient_id", "VARCHAR"),
        C("recommendation_category", "VARCHAR"), C("recommendation_text", "VARCHAR", Phi.FREE_TEXT),
        C("model_agreement", "VARCHAR"), C("reason_category", "VARCHAR"), C("reason_text", "VARCHAR", Phi.FREE_TEXT),
        C("attendees", "VARCHAR", Phi.DIRECT), C("decided_at", "TIMESTAMP"), C("decided_by", "VARCHAR"),
        C("prediction_id", "VARCHAR"), C("model_risk", "DOUBLE"), C("snapshot_id", "VARCHAR"),
        C("snapshot_sha256", "VARCHAR"),
    ), ("decision_id",), app_owned=True),
    Table("evidence_snapshots", (
        C("snapshot_id", "VARCHAR"), C("patient_id", "VARCHAR"), C("created_at", "TIMESTAMP"),
        C("store_version", "VARCHAR"), C("payload_json", "VARCHAR", Phi.FREE_TEXT), C("sha256", "VARCHAR"),
    ), ("snapshot_id",), app_owned=True),
    Table("discrepancy_reviews", (
        C("review_id", "VARCHAR"), C("discrepancy_id", "VARCHAR"), C("patient_id", "VARCHAR"),
        C("status", "VARCHAR"), C("comment", "VARCHAR", Phi.FREE_TEXT), C("reviewed_by", "VARCHAR"),
        C("reviewed_at", "TIMESTAMP"),
    ), ("review_id",), app_owned=True),
    Table("audit_log", (
        C("seq", "BIGINT"), C("at", "TIMESTAMP"), C("actor", "VARCHAR"), C("action", "VARCHAR"),
        C("target", "VARCHAR"), C("detail", "VARCHAR"), C("prev_hash", "VARCHAR"), C("hash", "VARCHAR"),
    ), ("seq",), app_owned=True),
    Table("users", (
        C("username", "VARCHAR"), C("role", "VARCHAR"), C("password_hash", "VARCHAR"),
        C("created_at", "TIMESTAMP"), C("disabled", "BOOLEAN"),
    ), ("username",), app_owned=True),
    # Agenda order used for a meeting (append-only: each save is a new order_id; the latest wins).
    Table("agenda_orders", (
        C("order_id", "VARCHAR"), C("meeting_id", "VARCHAR"), C("patient_id", "VARCHAR"), C("position", "INTEGER"),
        C("basis", "VARCHAR"),  # core.board.urgency.OrderBasis: urgency / manual
        C("saved_by", "VARCHAR"), C("saved_at", "TIMESTAMP"),
    ), ("order_id", "patient_id"), app_owned=True),
)


# Derived, never ingested: every evidence row of every patient in the one shape ``patient_evidence``
# returns, rebuilt for the patients a writer touched when it publishes a version
# (``core.store.evidence_items``). One index lookup instead of twelve (docs/BENCHMARKS.md).
TABLES_V3: tuple[Table, ...] = (
    Table("evidence_items", (
        C("source_table", "VARCHAR", constraint="NOT NULL"), C("kind", "VARCHAR"),
        C("summary", "VARCHAR", Phi.FREE_TEXT), C("value", "VARCHAR", Phi.FREE_TEXT),
    ) + PROVENANCE),
    Table("derived_state", (
        C("name", "VARCHAR"), C("signature", "VARCHAR"), C("refreshed_at", "TIMESTAMP"),
    ), ("name",)),
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


EVIDENCE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial evidence schema", tuple(t.ddl() for t in TABLES_V1)),
    Migration(2, "indexes for per-patient reads", tuple(
        f"CREATE INDEX IF NOT EXISTS idx_{t.name}_patient ON {t.name}(patient_id)"
        for t in TABLES_V1 if t.evidence
    ) + (
        "CREATE INDEX IF NOT EXISTS idx_predictions_patient ON predictions(patient_id)",
        "CREATE INDEX IF NOT EXISTS idx_trial_matches_patient ON trial_matches(patient_id)",
    )),
    Migration(3, "materialised per-patient evidence", tuple(t.ddl() for t in TABLES_V3) + (
        "CREATE INDEX IF NOT EXISTS idx_evidence_items_patient ON evidence_items(patient_id)",)),
)
BOARD_MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial board schema", tuple(t.ddl() for t in BOARD_TABLES_V1)),
    Migration(2, "agenda order per meeting", (next(t for t in BOARD_TABLES_V1 if t.name == "agenda_orders").ddl(),)),
)

EVIDENCE_TABLES: dict[str, Table] = {t.name: t for t in TABLES_V1 + TABLES_V3}
DERIVED_TABLES = frozenset(t.name for t in TABLES_V3)  # rebuilt from the others: never exported
BOARD_TABLES: dict[str, Table] = {t.name: t for t in BOARD_TABLES_V1}


def migrate(con: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...] = EVIDENCE_MIGRATIONS) -> int:
    """Apply pending migrations in order; returns the schema version reached."""
    con.execute(TABLES_V1[0].ddl())
    done = {r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()}
    for m in migrations:
        if m.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for stmt in m.statements:
                con.execute(stmt)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [m.version, m.name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return max(m.version for m in migrations)


def phi_columns(table: str, classes: tuple[Phi, ...] = (Phi.DIRECT, Phi.FREE_TEXT)) -> list[str]:
    """Columns of ``table`` whose PHI class is in ``classes``."""
    t = EVIDENCE_TABLES.get(table) or BOARD_TABLES[table]
    return [c.name for c in t.columns if c.phi in classes]


def check_identifier(table: str, column: str | None = None) -> str:
    """Raise unless ``table`` (and ``column``) exist in the schema: guards variable SQL identifiers."""
    t = EVIDENCE_TABLES.get(table) or BOARD_TABLES.get(table)
    if t is None:
        raise ValueError(f"unknown table {table!r}")
    if column is not None:
        t.column(column)
    return table
