"""Hand-written patients in an in-memory evidence store, for the trial-matching tests."""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from core.ingest.base import SourceFile, insert_rows, stable_id
from core.ingest.ctml import trial_row
from core.store.schema import migrate
from core.trials.ctml import parse_trial

NOW = datetime(2025, 3, 1, 12, 0)
AS_OF = date(2025, 3, 1)


def _prov(pid: str, modality: str, uri: str, locator: str, observed_at: datetime | None = None) -> dict[str, Any]:
    return {"patient_id": pid, "modality": modality, "observed_at": observed_at, "source_uri": uri,
            "source_sha256": hashlib.sha256(uri.encode()).hexdigest(), "locator": locator,
            "extractor": "tests", "extractor_version": "0", "ingested_at": NOW, "ingest_run_id": "test-run"}


class StoreBuilder:
    """Builds a small store row by row; every row carries test provenance."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self._con = con if con is not None else duckdb.connect()
        migrate(self._con)
        self._rows: dict[str, list[dict[str, Any]]] = {}

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The store, with every row added so far written (one insert per table)."""
        for table, rows in self._rows.items():
            if rows:
                insert_rows(self._con, table, rows)
        self._rows = {}
        return self._con

    def _add(self, table: str, row: dict[str, Any]) -> None:
        self._rows.setdefault(table, []).append(row)

    def patient(self, pid: str, *, sex: str | None = None, birth_date: date | None = None,
                oncotree: str | None = None, cancer_type: str | None = None, age_dx: float | None = None,
                dx_date: date | None = None) -> StoreBuilder:
        self._add("patients", {
            "patient_id": pid, "sex": sex, "birth_date": birth_date, "oncotree_code": oncotree,
            "cancer_type": cancer_type, "age_at_diagnosis_years": age_dx, "diagnosis_date": dx_date,
            "cohort": "current", "created_at": NOW})
        self._add("patient_identifiers", {
            "system": "test", "value": f"MRN-{pid}", "patient_id": pid, "source_uri": f"test://{pid}/fhir.json",
            "created_at": NOW})
        return self

    def condition(self, pid: str, oncotree: str) -> StoreBuilder:
        self._add("conditions", {
            "condition_id": stable_id(pid, oncotree), "oncotree_code": oncotree,
            **_prov(pid, "clinical", f"test://{pid}/fhir.json", f"Condition/{oncotree}", NOW)})
        return self

    def panel(self, pid: str, genes: list[str], *, specimen_id: str | None = None, panel: str = "TEST50") -> str:
        sid = specimen_id or f"{pid}-S1"
        uri = "test://manifest.csv"
        self._add("specimens", {"specimen_id": sid, "sample_id": f"{sid}-T", "specimen_type": "tumor",
                                "panel_name": panel, "genome_build": "GRCh38",
                                **_prov(pid, "genomics", uri, "line 2", NOW)})
        for g in genes:
            self._add("tested_genes", {"specimen_id": sid, "gene": g, "panel_name": panel,
                                       **_prov(pid, "genomics", uri, "line 2", NOW)})
        return sid

    def variant(self, pid: str, gene: str, protein: str | None = None, *, specimen_id: str | None = None,
                category: str | None = "Mutation", classification: str | None = "Missense_Mutation",
                exon: int | None = None, cnv: str | None = None, partner: str | None = None,
                level: str | None = None, origin: str = "somatic", vcf_line: int = 10) -> str:
        vid = stable_id(pid, gene, protein, cnv, partner, vcf_line)
        self._add("variants", {
            "variant_id": vid, "specimen_id": specimen_id or f"{pid}-S1", "genome_build": "GRCh38",
            "hugo_symbol": gene, "variant_category": category, "variant_classification": classification,
            "protein_change": protein, "exon": exon, "cnv_call": cnv, "sv_partner": partner,
            "actionability_level": level, "origin": origin, "filter": "PASS",
            **_prov(pid, "genomics", f"test://{pid}/tumor.vcf", f"line {vcf_line}", NOW)})
        return vid

    def biomarker(self, pid: str, name: str, *, value_num: float | None = None, value_text: str | None = None,
                  status: str | None = None, observed_at: datetime = NOW, unit: str | None = None) -> str:
        bid = stable_id(pid, name, value_num, value_text, status, observed_at)
        self._add("biomarkers", {
            "biomarker_id": bid, "name": name, "value_num": value_num, "value_text": value_text, "unit": unit,
            "status": status, "method": "test",
            **_prov(pid, "genomics", f"test://{pid}/report.json", f"Observation/{name}", observed_at)})
        return bid

    def note_event(self, pid: str, concept_type: str, concept: str, *, value_text: str | None = None,
                   value_num: float | None = None, negated: bool = False, observed_at: datetime = NOW) -> str:
        eid = stable_id(pid, concept_type, concept, value_text, value_num, negated, observed_at)
        self._add("note_events", {
            "event_id": eid, "note_id": f"{pid}-note", "concept_type": concept_type, "concept": concept,
            "value_text": value_text, "value_num": value_num, "is_negated": negated, "is_uncertain": False,
            "is_historical": False, "is_family": False, "is_hypothetical": False, "span_start": 10, "span_end": 20,
            **_prov(pid, "notes", f"test://{pid}/note.txt", "10:20", observed_at)})
        return eid

    def trial(self, ctml: str | dict, name: str = "trial.yml") -> str:
        doc = yaml.safe_load(ctml) if isinstance(ctml, str) else ctml
        trial, _ = parse_trial(doc, fallback_id=Path(name).stem)
        src = SourceFile(path=Path(name), uri=f"test://{name}", sha256="0" * 64, size_bytes=0)
        self._add("trials", trial_row(trial, src, trial.trial_id, NOW))
        return trial.trial_id


def arm_statuses(con: duckdb.DuckDBPyConnection, match: Any, *, as_of: date = AS_OF) -> dict[str, str]:
    """Status of a one-arm trial with ``match`` as its match tree, per patient of the store."""
    from core.trials.engine import ArmEvaluator
    from core.trials.facts import load_facts
    from core.trials.model import CriterionStatus

    doc = {"protocol_no": "T-1", "treatment_list": {"step": [{"arm": [{"arm_code": "A", "match": match}]}]}}
    trial, _ = parse_trial(doc, fallback_id="t")
    facts = load_facts(con, as_of=as_of)
    out = ArmEvaluator(facts).arm(trial, trial.arms[0])
    return {pid: CriterionStatus.of(s).value for pid, s in zip(facts.patients["patient_id"].to_list(), out.status)}
