"""Specimen and document manifests: how sequencing samples and header-less notes reach a patient.

Specimen manifest CSV columns:
    sample_id, specimen_id, patient_system, patient_identifier, specimen_type,
    collected_date, panel_name, genome_build
Document manifest CSV columns:
    file_name, file_sha256, patient_system, patient_identifier, note_type, note_date

A specimen's panel names a gene list in ``data/panels/<panel_name>.txt``; its genes
become ``tested_genes`` rows, which is what lets the product tell *not tested*
from *wild type*.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from core.config import PROJECT_ROOT
from core.ingest.base import IngestContext, first_row, IngestError, SourceFile, parse_date, stable_id
from core.store.schema import Modality

SPECIMEN_COLUMNS = ("sample_id", "specimen_id", "patient_system", "patient_identifier", "specimen_type",
                    "collected_date", "panel_name", "genome_build")
DOCUMENT_COLUMNS = ("file_name", "file_sha256", "patient_system", "patient_identifier", "note_type", "note_date")
PANEL_DIR = PROJECT_ROOT / "data" / "panels"


def panel_genes(panel_name: str, panel_dir: Path | None = None) -> list[str]:
    """Genes of a named panel (one symbol per line, '#' comments allowed)."""
    path = (panel_dir or PANEL_DIR) / f"{panel_name}.txt"
    if not panel_name or "/" in panel_name or ".." in panel_name or not path.is_file():
        raise FileNotFoundError(f"unknown gene panel {panel_name!r}: add data/panels/{panel_name}.txt")
    genes = [ln.split("#")[0].strip() for ln in path.read_text().splitlines()]
    return sorted({g for g in genes if g})


def _header(head: bytes) -> list[str]:
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff")
    return [h.strip() for h in first.split(",")]


class ManifestIngester:
    kind = "manifest"
    extractor = "core.ingest.manifest"
    version = "1.0"
    priority = 0

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() != ".csv":
            return False
        cols = set(_header(head))
        return {"sample_id", "patient_identifier"} <= cols or {"file_name", "patient_identifier"} <= cols

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        text = src.read_bytes().decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text))
        cols = set(reader.fieldnames or [])
        if {"sample_id", "patient_identifier"} <= cols:
            missing = set(SPECIMEN_COLUMNS) - cols
            if missing:
                raise IngestError(src.uri, "header", f"specimen manifest lacks columns {sorted(missing)}")
            for lineno, row in enumerate(reader, start=2):
                try:
                    self._specimen(ctx, src, row, lineno)
                except IngestError as e:
                    ctx.error(src, e)
        else:
            missing = set(DOCUMENT_COLUMNS) - cols
            if missing:
                raise IngestError(src.uri, "header", f"document manifest lacks columns {sorted(missing)}")
            for lineno, row in enumerate(reader, start=2):
                try:
                    self._document(ctx, src, row, lineno)
                except IngestError as e:
                    ctx.error(src, e)

    def _specimen(self, ctx: IngestContext, src: SourceFile, row: dict[str, str], lineno: int) -> None:
        loc = f"line {lineno}"
        sample = (row.get("sample_id") or "").strip()
        if not sample:
            raise IngestError(src.uri, loc, "empty sample_id")
        try:
            pid = ctx.link_patient(row["patient_system"].strip(), row["patient_identifier"], src)
        except IngestError as e:
            raise IngestError(src.uri, loc, e.reason) from e
        try:
            collected = parse_date(row.get("collected_date"))
        except ValueError as e:
            raise IngestError(src.uri, f"{loc}, collected_date", str(e)) from e
        specimen_id = (row.get("specimen_id") or "").strip() or stable_id(src.sha256, sample)
        panel = (row.get("panel_name") or "").strip()
        try:
            genes = panel_genes(panel)
        except FileNotFoundError as e:
            raise IngestError(src.uri, f"{loc}, panel_name", str(e)) from e
        prov = ctx.provenance(src, INGESTER, patient_id=pid, modality=Modality.GENOMICS, locator=loc,
                              observed_at=collected)
        exists = first_row(ctx.con, "SELECT patient_id FROM specimens WHERE specimen_id = ?", [specimen_id])
        if exists and exists[0] != pid:
            raise IngestError(src.uri, loc, "specimen_id already belongs to another patient (identifier collision)")
        ctx.add("specimens", {**prov, "specimen_id": specimen_id, "sample_id": sample,
                              "specimen_type": (row.get("specimen_type") or "").strip() or None,
                              "panel_name": panel, "genome_build": (row.get("genome_build") or "").strip() or None})
        for g in genes:
            ctx.add("tested_genes", {**prov, "specimen_id": specimen_id, "gene": g, "panel_name": panel})

    def _document(self, ctx: IngestContext, src: SourceFile, row: dict[str, str], lineno: int) -> None:
        loc = f"line {lineno}"
        name = (row.get("file_name") or "").strip()
        if not name:
            raise IngestError(src.uri, loc, "empty file_name")
        try:
            pid = ctx.link_patient(row["patient_system"].strip(), row["patient_identifier"], src)
            note_date = parse_date(row.get("note_date"))
        except IngestError as e:
            raise IngestError(src.uri, loc, e.reason) from e
        except ValueError as e:
            raise IngestError(src.uri, f"{loc}, note_date", str(e)) from e
        ctx.add("document_links", {"file_name": name, "file_sha256": (row.get("file_sha256") or "").strip() or None,
                                   "patient_id": pid, "note_type": (row.get("note_type") or "").strip() or None,
                                   "note_date": note_date.date() if note_date else None,
                                   "source_uri": src.uri, "created_at": ctx.now})


INGESTER = ManifestIngester()
