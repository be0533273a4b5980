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
import logging
import multiprocessing as mp
import os
import resource
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core.config import path_setting
from core.synth import catalog
from core.synth.cohort import LatentPatient, draw_cohort, reference_date
from core.synth.patient_files import PatientOutput, WriteOptions, write_patient
from core.synth.shared_files import SharedFiles
from core.synth.store_seed import patient_ids, seed_board, set_cohort
from core.synth.truth import write_truth

__all__ = ["POST_BUILD_STEPS", "BuildReport", "StoreExists", "build_demo", "prepare_demo_dir", "store_exists",
           "write_files", "write_truth"]

logger = logging.getLogger(__name__)

POST_BUILD_STEPS: list[Callable[[duckdb.DuckDBPyConnection, argparse.Namespace], Any]] = []
MARKER = ".tb-demo"  # a demo folder we made (and may wipe)
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


# ---- store ------------------------------------------------------------------------------------

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
    from core.similar import case_index, umap_worker  # faiss and polars: with the build, not the CLI

    draws_map = case_index.uses_umap(n_patients) and any(getattr(s, "draws_map", False) for s in POST_BUILD_STEPS)
    # a step will draw a UMAP cohort map: compile UMAP in a worker while the ingest runs (~10-20 s saved)
    map_params = case_index.umap_params(n_patients) if draws_map else None
    with umap_worker.compiled_ahead(map_params), db.evidence_writer(fresh=True) as con:
        summary = ingest_paths(con, paths, command="build-demo", seed=str(seed),
                               progress=(lambda it: bar(it, desc="ingest", unit="file")) if progress else None)
        report.seconds["ingest"] = time.perf_counter() - t2
        t3, c3 = time.perf_counter(), _cpu()
        report.cpu_seconds["ingest"] = c3 - c2
        set_cohort(con, patients)
        seed_board(con, patients, seed)
        ids = patient_ids(con)
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
