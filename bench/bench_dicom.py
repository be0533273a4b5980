"""DICOM ingest throughput (files/s) against plain ``pydicom.dcmread`` of the same files, in the same run.

Usage: .venv/bin/python bench/bench_dicom.py [--studies 100]   (5 slices per study, so ~500 files)

Generates CT studies with ``core.synth.imaging.write_ct_study`` into a temporary folder (also
timed: generator ms/slice), then measures:
  * baseline: ``pydicom.dcmread`` of every file (full read, pixels included), nothing else;
  * extract: ``dicom.INGESTER.ingest`` against a stub context (hash, parse, validate, build rows;
    no store), i.e. the ingester's own cost;
  * ingest: ``core.ingest.run.ingest_paths`` with only the DICOM ingester into an in-memory store
    (hashing, parsing, validation, patient linking, one transaction per file).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pydicom

from core.ingest import dicom, run
from core.ingest.base import SourceFile
from core.store import schema
from core.synth.imaging import LesionSpec, write_ct_study

MARGINS = ("smooth", "lobulated", "spiculated")


def generate(folder: Path, n_studies: int) -> tuple[list[Path], float, float]:
    """Write ``n_studies`` studies (two per patient); returns the files and the generator's wall / CPU ms per slice."""
    files: list[Path] = []
    t, cpu = time.perf_counter(), time.process_time()
    for k in range(n_studies):
        patient = k // 2
        s = write_ct_study(folder / f"p{patient:05d}", mrn=f"{10_000_000 + patient}",
                           patient_name=f"DOE{patient}, JANE",
                           birth_date=date(1950, 1, 1) + timedelta(days=97 * patient), sex="F" if k % 3 else "M",
                           study_date=date(2024, 1, 1) + timedelta(days=60 * (k % 2) + patient),
                           lesion=LesionSpec(15.0 + k % 40, MARGINS[k % 3], (k % 10) / 10),
                           body_part=("chest", "abdomen", "breast")[patient % 3], seed=k)
        files.extend(s.files)
    n = len(files)
    return files, (time.perf_counter() - t) / n * 1000, (time.process_time() - cpu) / n * 1000


class _StubResult:
    def fetchall(self) -> list[tuple]:
        return [(None, None, False)]


class _StubCon:
    def execute(self, *_: object) -> _StubResult:
        return _StubResult()


class _StubContext:
    """Just enough of IngestContext for the DICOM ingester, without a store."""

    def __init__(self) -> None:
        self.con, self.run_id, self.rows = _StubCon(), "bench", 0

    def provenance(self, src: object, ing: object, **kw: object) -> dict[str, object]:
        return dict(kw)

    def add(self, table: str, row: dict[str, object]) -> None:
        self.rows += 1

    def error(self, src: object, err: Exception) -> None:
        raise AssertionError(str(err))

    def link_patient(self, system: str, value: str, src: object) -> str:
        return "PT" + value

    def update_patient(self, pid: str, **attrs: object) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files, gen_ms, gen_cpu_ms = generate(folder, args.studies)
        n = len(files)

        t = time.perf_counter()
        for f in files:
            pydicom.dcmread(f)
        base_s = time.perf_counter() - t

        stub = _StubContext()
        t = time.perf_counter()
        for f in files:
            dicom.INGESTER.ingest(stub, SourceFile.from_path(f))  # type: ignore[arg-type]
        extract_s = time.perf_counter() - t

        run.ingesters = lambda: [dicom.INGESTER]  # DICOM only: other formats are not under test
        con = duckdb.connect()
        schema.migrate(con)
        t = time.perf_counter()
        summary = run.ingest_paths(con, [folder], command="bench")
        ingest_s = time.perf_counter() - t
        assert summary.ingested == n and summary.failed == 0, summary.line()
        assert con.execute("SELECT count(*) FROM imaging_instances").fetchone()[0] == n

    print(f"{n} generated CT slices ({args.studies} studies); generator {gen_ms:.2f} ms/slice wall, "
          f"{gen_cpu_ms:.2f} ms/slice CPU; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"baseline pydicom.dcmread  {n / base_s:8.0f} files/s")
    print(f"ingester only, no store   {n / extract_s:8.0f} files/s")
    print(f"core ingest (DICOM)       {n / ingest_s:8.0f} files/s")
    print(f"ratio ingest/baseline     {(n / ingest_s) / (n / base_s):8.3f}  "
          f"(ingest is {ingest_s / base_s:.1f}x the time of a bare read)")


if __name__ == "__main__":
    main()
