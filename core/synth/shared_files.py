"""Files holding many patients: specimen and document manifests, lab exports, PACS measurements, lean groups."""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.synth.genomics_writer import MAF_HEADER
from core.synth.imaging import write_lesion_annotations
from core.synth.patient_files import BUCKET, PatientOutput

LAB_HEADER = ("mrn", "loinc", "test_name", "value", "unit", "reference_range", "collected_at")
SPECIMEN_HEADER = ("sample_id", "specimen_id", "patient_system", "patient_identifier", "specimen_type",
                   "collected_date", "panel_name", "genome_build")
DOCUMENT_HEADER = ("file_name", "file_sha256", "patient_system", "patient_identifier", "note_type", "note_date")
FHIR_GROUP = 100  # patients per FHIR bundle in --lean builds (a bulk export)


def _write_csv(path: Path, header: tuple[str, ...], rows: Iterable[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(header), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


class SharedFiles:
    """Files holding many patients (manifests, lab exports, PACS measurements, lean FHIR groups).

    Patient outputs arrive in patient order and are written bucket by bucket, so a
    100,000-patient build never holds every lab row in memory.
    """

    def __init__(self, demo_dir: Path) -> None:
        self.demo_dir = demo_dir
        self.bucket: int | None = None
        self.labs: list[dict[str, str]] = []
        self.annotations: list = []
        self.maf: list[str] = []
        self.fhir: list[dict[str, Any]] = []
        self.fhir_first: int | None = None
        self.specimens: list[dict[str, str]] = []
        self.documents: list[dict[str, str]] = []
        self.counts: dict[str, int] = {}

    def add(self, o: PatientOutput) -> PatientOutput:
        """Take the shared rows of ``o`` (and drop them from it)."""
        b = o.idx // BUCKET
        if self.bucket is not None and b != self.bucket:
            self._flush_bucket()
        self.bucket = b
        for k, v in o.n_files.items():
            self.counts[k] = self.counts.get(k, 0) + v
        self.counts["lab rows"] = self.counts.get("lab rows", 0) + len(o.labs)
        self.labs += o.labs
        self.annotations += o.annotations
        self.maf += o.maf_rows
        if o.specimen:
            self.specimens.append(o.specimen)
        self.documents += o.documents
        if o.fhir_resources:
            if self.fhir_first is None:
                self.fhir_first = o.idx
            self.fhir += o.fhir_resources
            if o.idx - self.fhir_first + 1 >= FHIR_GROUP:
                self._flush_fhir()
        o.labs, o.annotations, o.fhir_resources, o.maf_rows = [], [], None, []
        return o

    def _flush_bucket(self) -> None:
        if self.labs:
            _write_csv(self.demo_dir / "labs" / f"lab_results_b{self.bucket:03d}.csv", LAB_HEADER, self.labs)
        if self.annotations:
            write_lesion_annotations(self.demo_dir / "imaging" / f"lesion_measurements_b{self.bucket:03d}.csv",
                                     self.annotations)
        if self.maf:
            path = self.demo_dir / "genomics" / f"cohort_b{self.bucket:03d}.maf"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(MAF_HEADER + "".join(r + "\n" for r in self.maf))
            self.counts["genomics"] = self.counts.get("genomics", 0) + 1
        self.labs, self.annotations, self.maf = [], [], []

    def _flush_fhir(self) -> None:
        if self.fhir:
            from core.fhir import writer as W

            path = self.demo_dir / "fhir" / f"group_{self.fhir_first:07d}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            bundle = W.bundle(self.fhir, bundle_id=W.new_id("bundle-group", self.fhir_first))
            path.write_text(json.dumps(bundle, separators=(",", ":")) + "\n")
            self.counts["fhir"] = self.counts.get("fhir", 0) + 1
        self.fhir, self.fhir_first = [], None

    def close(self) -> None:
        self._flush_bucket()
        self._flush_fhir()
        _write_csv(self.demo_dir / "manifests" / "specimens.csv", SPECIMEN_HEADER, self.specimens)
        if self.documents:
            _write_csv(self.demo_dir / "manifests" / "documents.csv", DOCUMENT_HEADER, self.documents)
