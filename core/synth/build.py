"""``build-demo``: draw the synthetic cohort, write its files, ingest them like real data, seed the board.

Steps: latent cohort -> per-patient files (notes, DICOM, FHIR, VCF/MAF; worker
processes) -> shared files in patient order (specimen and document manifests, labs
exports, PACS lesion measurements) -> ``core.ingest.run.ingest_paths`` into a fresh
store version -> board meetings and cases, cohort and site per patient -> every
``POST_BUILD_STEPS`` hook -> truth tables (Parquet, never ingested).

Later capabilities (models, trials, similar cases) register a hook::

    from core.synth.build import POST_BUILD_STEPS
    POST_BUILD_STEPS.append(train_and_score)   # called as train_and_score(con, args)
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import multiprocessing as mp
import os
import resource
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from core.config import path_setting
from core.ingest.base import MRN_SYSTEM
from core.synth import catalog
from core.synth.cohort import LatentPatient, draw_cohort, reference_date
from core.synth.genomics_writer import MAF_HEADER
from core.synth.imaging import write_lesion_annotations
from core.synth.patient_files import BUCKET, PatientOutput, WriteOptions, write_patient

logger = logging.getLogger(__name__)

POST_BUILD_STEPS: list[Callable[[duckdb.DuckDBPyConnection, argparse.Namespace], Any]] = []
MARKER = ".tb-demo"  # a demo folder we made (and may wipe)
LAB_HEADER = ("mrn", "loinc", "test_name", "value", "unit", "reference_range", "collected_at")
SPECIMEN_HEADER = ("sample_id", "specimen_id", "patient_system", "patient_identifier", "specimen_type",
                   "collected_date", "panel_name", "genome_build")
DOCUMENT_HEADER = ("file_name", "file_sha256", "patient_system", "patient_identifier", "note_type", "note_date")
FHIR_GROUP = 100  # patients per FHIR bundle in --lean builds (a bulk export)
INGESTED_SUBDIRS = ("manifests", "fhir", "dicom", "imaging", "notes", "genomics", "labs")


@dataclass
class BuildReport:
    n_patients: int
    seed: int
    demo_dir: Path
    files: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # this process + worker processes
    ingest_line: str = ""
    n_ingest_errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"demo cohort: {self.n_patients} patients, seed {self.seed}, files in {self.demo_dir}",
               "files written: " + ", ".join(f"{k} {v}" for k, v in sorted(self.files.items())),
               self.ingest_line, f"ingest errors: {self.n_ingest_errors}"]
        out += [f"  {e}" for e in self.error_samples]
        out.append("time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()))
        out.append("cpu time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in self.cpu_seconds.items()))
        return out


class StoreExists(RuntimeError):
    """build-demo refuses to replace an existing store without --force."""


def _progress(enabled: bool) -> Callable[..., Iterable]:
    if not enabled:
        return lambda it, **kw: it
    from tqdm import tqdm

    return lambda it, **kw: tqdm(it, **kw)


def prepare_demo_dir(demo_dir: Path) -> None:
    """Empty ``demo_dir`` for a new cohort; refuses a non-empty folder that is not a demo folder."""
    if demo_dir.exists() and any(demo_dir.iterdir()):
        if not (demo_dir / MARKER).exists():
            raise RuntimeError(f"{demo_dir} is not empty and was not written by build-demo; "
                               "point TB_DEMO_DIR at an empty or demo folder")
        for child in demo_dir.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    demo_dir.mkdir(parents=True, exist_ok=True)
    (demo_dir / MARKER).write_text("synthetic cohort written by `python -m core build-demo`; safe to delete\n")


def _write_one(job: tuple[LatentPatient, WriteOptions]) -> PatientOutput:
    return write_patient(*job)


def write_files(patients: list[LatentPatient], opt: WriteOptions, *, workers: int = 2,
                progress: bool = True, counts: dict[str, int] | None = None) -> list[PatientOutput]:
    """Write every per-patient file (in ``workers`` processes) and the shared files, in patient order.

    ``counts``, when given, receives the number of files (and lab rows) written per kind.
    """
    bar = _progress(progress)
    jobs = [(p, opt) for p in patients]
    shared = SharedFiles(opt.demo_dir)
    outs = []
    if workers > 1 and len(patients) > 20:
        ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
        with ctx.Pool(workers) as pool:
            for o in bar(pool.imap(_write_one, jobs, chunksize=8), total=len(jobs), desc="write files", unit="patient"):
                outs.append(shared.add(o))
            pool.close()
            pool.join()  # reap the workers (and count their CPU time)
    else:
        for j in bar(jobs, desc="write files", unit="patient"):
            outs.append(shared.add(_write_one(j)))
    shared.close()
    if counts is not None:
        counts.update(shared.counts)
    return outs


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


# ---- store ------------------------------------------------------------------------------------

def seed_board(con: duckdb.DuckDBPyConnection, patients: list[LatentPatient], seed: int) -> None:
    """Board meetings: the upcoming one with the current cases, and past ones for historical patients."""
    ids = _patient_ids(con)
    ref = reference_date(seed)
    meetings: dict[str, tuple] = {}
    cases: list[tuple] = []
    oncologists = catalog.CLINICIANS["oncology"]
    for p in patients:
        pid = ids.get(p.mrn)
        if pid is None:
            continue
        when = datetime.combine(p.board_date, datetime.min.time()).replace(hour=7, minute=30)
        mid = f"MTB-{p.board_date:%Y%m%d}"
        meetings.setdefault(mid, (mid, when, catalog.SITES[0], "Multidisciplinary Tumor Board"
                                  + (" (upcoming)" if p.board_date == ref else "")))
        added = when - timedelta(days=5 if p.is_current else 7, hours=p.idx % 9)
        ready = None if (p.is_current and not _ready(p)) else added + timedelta(days=1, hours=p.idx % 5)
        cases.append((mid, pid, 0, board_question(p), added, ready, 4 + (p.idx * 7) % 6,
                      oncologists[p.idx % len(oncologists)], p.idx))
    cases.sort(key=lambda r: (r[0], r[-1]))
    pos: dict[str, int] = {}
    rows = []
    for r in cases:
        pos[r[0]] = pos.get(r[0], 0) + 1
        rows.append((r[0], r[1], pos[r[0]], *r[3:8]))
    _insert(con, "board_meetings", ["meeting_id", "scheduled_at", "site", "title"], list(meetings.values()))
    _insert(con, "board_cases", ["meeting_id", "patient_id", "position", "question", "added_at", "ready_at",
                                 "minutes_planned", "presenter"], rows)


def _insert(con: duckdb.DuckDBPyConnection, table: str, names: list[str], rows: list[tuple]) -> None:
    """Bulk INSERT OR REPLACE through an Arrow table (row-by-row executemany is slow in DuckDB)."""
    if not rows:
        return
    tbl = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    con.register("_demo_rows", tbl)
    try:
        cols = ", ".join(names)
        con.execute(f"INSERT OR REPLACE INTO {table} ({cols}) SELECT {cols} FROM _demo_rows").fetchall()
    finally:
        con.unregister("_demo_rows")


def _ready(p: LatentPatient) -> bool:
    """A current case is ready when the work-up the board needs is on file."""
    if p.cancer_type == "lung" and p.oncotree != "SCLC" and p.stage in ("III", "IV"):
        return p.sequenced and p.has_imaging
    return p.has_imaging


def board_question(p: LatentPatient) -> str:
    """The question the presenter brings (no names: the text is free text in the store)."""
    dx = f"stage {p.stage_detail} {p.histology} ({p.oncotree})"
    known = [d for d in p.drivers if d.split(" ")[0] in ("EGFR", "ALK", "KRAS", "BRAF", "ROS1", "RET", "MET", "ERBB2",
                                                          "PIK3CA", "ESR1", "BRCA1", "BRCA2")]
    extra = f" with {known[0]}" if known and p.sequenced else ""
    if not p.is_current:
        return f"{dx}{extra}: treatment recommendation."
    if p.stage == "IV":
        q = f"Newly diagnosed {dx}{extra}: first-line systemic therapy?"
    elif p.cancer_type == "breast":
        q = f"{dx}: neoadjuvant therapy or upfront surgery?"
    elif p.cancer_type == "colorectal" and p.primary_site == "rectum":
        q = f"{dx}: total neoadjuvant therapy vs. chemoradiation then surgery?"
    elif p.stage == "III":
        q = f"{dx}: resectable, or definitive chemoradiation?"
    else:
        q = f"{dx}: surgical candidacy and need for adjuvant therapy?"
    if not p.sequenced and p.cancer_type == "lung":
        q += " Molecular testing not yet available."
    if not p.has_imaging:
        q += " Outside imaging to be uploaded."
    return q


def _patient_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute("SELECT value, patient_id FROM patient_identifiers WHERE system = ?", [MRN_SYSTEM]).fetchall()
    return dict(rows)


def set_cohort(con: duckdb.DuckDBPyConnection, patients: list[LatentPatient]) -> int:
    """Set ``patients.cohort`` (historical / current) and ``site`` from the generator; returns rows updated."""
    tbl = pa.table({"mrn": [p.mrn for p in patients], "cohort": [p.cohort for p in patients],
                    "site": [p.site for p in patients]})
    con.register("_demo_cohort", tbl)
    try:
        con.execute("""
            UPDATE patients SET cohort = d.cohort, site = d.site
            FROM _demo_cohort d JOIN patient_identifiers i ON i.value = d.mrn AND i.system = ?
            WHERE patients.patient_id = i.patient_id""", [MRN_SYSTEM]).fetchall()
        return con.execute("SELECT count(*) FROM patients WHERE cohort IN ('historical', 'current')").fetchall()[0][0]
    finally:
        con.unregister("_demo_cohort")


def write_truth(truth_dir: Path, patients: list[LatentPatient], outs: list[PatientOutput],
                ids: dict[str, str]) -> list[Path]:
    """Truth tables for tests and model evaluation (Parquet; not evidence, never ingested)."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    courses = {o.idx: o.truth_course for o in outs}
    rows = []
    for p in patients:
        d = asdict(p)
        terms = d.pop("lp_terms")
        d.update({f"lp_{k}": v for k, v in terms.items()})
        d["lp_total"] = round(sum(terms.values()), 4)
        for k in ("drivers", "passengers", "symptoms", "comorbidities", "home_medications", "metastatic_sites"):
            d[k] = list(d[k])
        d["vus"] = [f"{g}:{c}" for g, c in d["vus"]]
        d["family_history"] = [f"{r}|{c}|{a}" for r, c, a in d["family_history"]]
        d["patient_id"] = ids.get(p.mrn)
        d.update({k: v for k, v in courses.get(p.idx, {}).items() if k != "idx"})
        rows.append(d)
    written = []
    tables = {
        "patients": rows,
        "studies": [r for o in outs for r in o.truth_studies],
        "variants": [r for o in outs for r in o.truth_variants],
        "discrepancies": [r for o in outs for r in o.truth_discrepancies],
    }
    for name, data in tables.items():
        path = truth_dir / f"{name}.parquet"
        frame = pl.DataFrame(data, infer_schema_length=None) if data else pl.DataFrame()
        frame.write_parquet(path)
        written.append(path)
    return written


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (the file-writing workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def store_exists() -> bool:
    from core.store import db

    return db.current_version() is not None


def build_demo(n_patients: int = 300, seed: int = 42, *, images: bool = True, lean: bool = False,
               force: bool = False, workers: int = 2, progress: bool = True) -> BuildReport:
    """Generate, write and ingest the synthetic cohort into a fresh store version.

    Args:
        n_patients: cohort size (the first ~15 are current cases on the upcoming board).
        seed: makes files and store contents reproducible.
        images: write DICOM pixels (False: no DICOM files; UIDs and truth are still drawn).
        lean: benchmark mode, fewer notes and labs per patient (same ingest path).
        force: replace an existing store.
        workers: processes writing files.

    Raises:
        StoreExists: a store exists and ``force`` is False.
    """
    from core.ingest.run import ingest_paths
    from core.store import db

    if store_exists() and not force:
        raise StoreExists("an evidence store already exists; use --force to rebuild it from the demo cohort")
    demo_dir = path_setting("demo_dir")
    report = BuildReport(n_patients, seed, demo_dir)
    bar = _progress(progress)
    t0, c0 = time.perf_counter(), _cpu()
    catalog.write_panels()
    prepare_demo_dir(demo_dir)
    patients = draw_cohort(n_patients, seed, progress=lambda it: bar(it, desc="draw cohort", unit="patient"))
    report.seconds["draw"] = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), _cpu()
    report.cpu_seconds["draw"] = c1 - c0
    opt = WriteOptions(demo_dir=demo_dir, seed=seed, images=images, lean=lean)
    outs = write_files(patients, opt, workers=workers, progress=progress, counts=report.files)
    report.seconds["write"] = time.perf_counter() - t1
    t2, c2 = time.perf_counter(), _cpu()
    report.cpu_seconds["write"] = c2 - c1
    paths = [demo_dir / d for d in INGESTED_SUBDIRS if (demo_dir / d).exists()]
    args = argparse.Namespace(patients=n_patients, seed=seed, images=images, lean=lean, demo_dir=demo_dir,
                              truth_dir=demo_dir / "truth", reference_date=reference_date(seed))
    with db.evidence_writer(fresh=True) as con:
        summary = ingest_paths(con, paths, command="build-demo", seed=str(seed),
                               progress=(lambda it: bar(it, desc="ingest", unit="file")) if progress else None)
        report.seconds["ingest"] = time.perf_counter() - t2
        t3, c3 = time.perf_counter(), _cpu()
        report.cpu_seconds["ingest"] = c3 - c2
        set_cohort(con, patients)
        seed_board(con, patients, seed)
        ids = _patient_ids(con)
        write_truth(demo_dir / "truth", patients, outs, ids)
        report.seconds["board+truth"] = time.perf_counter() - t3
        for step in POST_BUILD_STEPS:
            ts = time.perf_counter()
            step(con, args)
            report.seconds[getattr(step, "__name__", "step")] = time.perf_counter() - ts
    report.ingest_line = summary.line()
    errs = [e for e in summary.errors if e.severity == "error"]
    report.n_ingest_errors = len(errs)
    report.error_samples = [f"{e.error_type}: {e}" for e in errs[:10]]
    report.seconds["total"] = time.perf_counter() - t0
    report.cpu_seconds["rest"] = _cpu() - c3
    report.cpu_seconds["total"] = _cpu() - c0
    logger.info("demo build done in %.1f s", report.seconds["total"])
    return report
