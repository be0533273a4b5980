"""Batch ingest: detect each file's format, ingest it in its own transaction, tally."""
from __future__ import annotations

import importlib
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.ingest.base import IngestContext, first_row, IngestError, Ingester, SourceFile, iter_files, new_run_id

logger = logging.getLogger(__name__)

# Format modules, each exposing INGESTER. Order is irrelevant: ``priority`` decides.
FORMAT_MODULES = (
    "core.ingest.manifest",
    "core.ingest.fhir",
    "core.ingest.dicom",
    "core.ingest.annotations",
    "core.ingest.notes",
    "core.ingest.vcf",
    "core.ingest.maf",
    "core.ingest.labs",
    "core.ingest.civic",
    "core.ingest.ctml",
)

BATCH_FILES = 64  # files of one format per transaction

IGNORED_NAMES = ("LICENSE", "README", "NOTICE", "COPYING")


def ingesters() -> list[Ingester]:
    out = [importlib.import_module(m).INGESTER for m in FORMAT_MODULES]
    return sorted(out, key=lambda i: i.priority)


@dataclass
class IngestSummary:
    run_id: str
    ingested: int = 0
    skipped: int = 0          # same bytes already in the store
    unrecognised: int = 0     # not a format we read (licences, readmes)
    failed: int = 0           # files with at least one error
    rows: int = 0
    errors: list[IngestError] = field(default_factory=list)
    unrecognised_files: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"ingested {self.ingested} files ({self.rows} rows), skipped {self.skipped} already ingested, "
                f"failed {self.failed}, not a known format {self.unrecognised}")


def detect(path: Path, registry: list[Ingester]) -> Ingester | None:
    if path.name.split(".")[0].upper() in IGNORED_NAMES:
        return None
    with open(path, "rb") as fh:
        head = fh.read(8192)
    for ing in registry:
        if ing.detect(path, head):
            return ing
    return None


def pseudonym_key(con: duckdb.DuckDBPyConnection, seed: str | None = None) -> bytes:
    """The store's secret for pseudonymous ids, created once (from ``seed`` for reproducible demos)."""
    con.execute("CREATE TABLE IF NOT EXISTS store_secrets (name VARCHAR PRIMARY KEY, value VARCHAR)")
    row = first_row(con, "SELECT value FROM store_secrets WHERE name = 'pseudonym_key'")
    if row:
        return bytes.fromhex(row[0])
    import hashlib

    key = hashlib.sha256(f"demo-seed:{seed}".encode()).digest() if seed is not None else secrets.token_bytes(32)
    con.execute("INSERT INTO store_secrets VALUES ('pseudonym_key', ?)", [key.hex()])
    return key


def ingest_paths(con: duckdb.DuckDBPyConnection, paths: Iterable[Path], *, command: str = "ingest",
                 progress: Callable[[Iterable[Path]], Iterable[Path]] | None = None,
                 seed: str | None = None) -> IngestSummary:
    """Ingest files and folders into an open (writable) evidence store.

    Every file is hashed; bytes already ingested are skipped; each file is one
    transaction, so a failure leaves nothing half-written; every failure lands in
    ``ingest_errors`` and the batch goes on.
    """
    registry = ingesters()
    files, refused = iter_files(paths, with_refused=True)
    ctx = IngestContext(con=con, run_id=new_run_id(), pseudonym_key=pseudonym_key(con, seed))
    summary = IngestSummary(run_id=ctx.run_id)
    for p in refused:
        err = IngestError(str(p), "path", "refused: the file's real path lies outside the folder being ingested "
                                          "(symlink escape)", error_type="PathTraversal")
        ctx.error(None, err)
        summary.failed += 1
        summary.errors.append(err)
    con.execute("INSERT INTO ingest_runs VALUES (?, ?, NULL, ?, 0, 0, 0)", [ctx.run_id, ctx.now, command])

    planned: list[tuple[int, Path, Ingester]] = []
    for p in files:
        ing = detect(p, registry)
        if ing is None:
            summary.unrecognised += 1
            summary.unrecognised_files.append(str(p))
            continue
        planned.append((ing.priority, p, ing))
    planned.sort(key=lambda t: (t[0], str(t[1])))
    bar = progress(planned) if progress is not None else None
    prefetching = [ing for ing in registry if hasattr(ing, "prefetch")]
    try:
        for ing in prefetching:  # CPU-bound parsing in worker processes, ahead of the writes
            ing.prefetch(ctx, [p for _, p, owner in planned if owner is ing])
        i = 0
        while i < len(planned):
            ing = planned[i][2]
            j = i
            while j < len(planned) and planned[j][2] is ing and j - i < BATCH_FILES:
                j += 1
            _ingest_batch(ctx, ing, [p for _, p, _ in planned[i:j]], summary)
            if bar is not None and hasattr(bar, "update"):
                bar.update(j - i)
            i = j
    finally:
        for ing in prefetching:
            ing.close()
    if bar is not None and hasattr(bar, "close"):
        bar.close()
    con.execute("UPDATE ingest_runs SET finished_at = now(), n_ingested = ?, n_skipped = ?, n_failed = ? "
                "WHERE ingest_run_id = ?", [summary.ingested, summary.skipped, summary.failed, ctx.run_id])
    return summary


def _ingest_batch(ctx: IngestContext, ing: Ingester, paths: list[Path], summary: IngestSummary) -> None:
    """Ingest several files of one format in a single transaction (per-statement cost dominates small files).

    Any raised error, or two files in the batch claiming the same key for different
    patients, rolls the batch back and replays it file by file, so a bad file still fails
    alone and the per-file error messages are the ones the user sees.
    """
    if len(paths) == 1:
        _ingest_one(ctx, ing, paths[0], summary)
        return
    con = ctx.con
    n_err0 = len(ctx._errors)
    staged: list[tuple[SourceFile, int, int, list[IngestError]] | None] = []
    seen: set[str] = set()
    con.execute("BEGIN TRANSACTION")
    ctx.begin_batch()
    try:
        srcs = [SourceFile.from_path(path) for path in paths]
        done = {r[0] for r in con.execute(
            "SELECT source_sha256 FROM sources WHERE kind = ? AND source_sha256 IN (SELECT unnest(?))",
            [ing.kind, [x.sha256 for x in srcs]]).fetchall()}
        for src in srcs:
            if src.sha256 in seen or src.sha256 in done:
                staged.append(None)
                continue
            seen.add(src.sha256)
            ctx.tally.rows = ctx.tally.errors = 0
            n0 = len(ctx._errors)
            ctx.current_source = src
            ing.ingest(ctx, src)
            rows, errs = ctx.tally.rows, ctx.tally.errors
            ctx.add("sources", {"source_sha256": src.sha256, "source_uri": src.uri, "kind": ing.kind,
                                "size_bytes": src.size_bytes, "n_rows": rows, "n_errors": errs,
                                "ingested_at": ctx.now, "ingest_run_id": ctx.run_id})
            staged.append((src, rows, errs, ctx._errors[n0:]))
        ctx.flush()
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        ctx.rolled_back()
        del ctx._errors[n_err0:]
        ctx.end_batch()
        logger.debug("batch of %d %s files replayed file by file", len(paths), ing.kind)
        for path in paths:
            _ingest_one(ctx, ing, path, summary)
        return
    ctx.end_batch()
    ctx.identifiers_committed()
    for item in staged:
        if item is None:
            summary.skipped += 1
            continue
        _, rows, _, new_errors = item
        summary.rows += rows
        summary.errors.extend(new_errors)
        if any(e.severity == "error" for e in new_errors):
            summary.failed += 1
        else:
            summary.ingested += 1


def _ingest_one(ctx: IngestContext, ing: Ingester, path: Path, summary: IngestSummary) -> None:
    con = ctx.con
    try:
        src = SourceFile.from_path(path)
    except OSError as e:
        err = IngestError(str(path), "file", f"cannot read file: {e.strerror}", error_type="OSError")
        ctx.error(None, err)
        ctx.flush()
        summary.failed += 1
        summary.errors.append(err)
        return
    done = first_row(con, "SELECT 1 FROM sources WHERE source_sha256 = ? AND kind = ?", [src.sha256, ing.kind])
    if done:
        summary.skipped += 1
        return
    ctx.tally.rows = ctx.tally.errors = 0
    n_err_before = len(ctx._errors)
    con.execute("BEGIN TRANSACTION")
    try:
        ing.ingest(ctx, src)
        new_errors = ctx._errors[n_err_before:]
        ctx.flush()
        con.execute("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [src.sha256, src.uri, ing.kind, src.size_bytes, ctx.tally.rows, ctx.tally.errors, ctx.now,
                     ctx.run_id])
        con.execute("COMMIT")
    except IngestError as e:
        con.execute("ROLLBACK")
        ctx.rolled_back()
        e.kind = ing.kind  # type: ignore[attr-defined]
        ctx.error(src, e)
        ctx.flush()
        summary.failed += 1
        summary.errors.append(e)
        return
    except Exception as e:  # an ingester bug or an unforeseen format problem: record it, never crash the batch
        con.execute("ROLLBACK")
        ctx.rolled_back()
        err = IngestError(src.uri, "file", f"{type(e).__name__}: {_safe(e)}", error_type=type(e).__name__)
        err.kind = ing.kind  # type: ignore[attr-defined]
        ctx.error(src, err)
        ctx.flush()
        summary.failed += 1
        summary.errors.append(err)
        logger.debug("ingest failure", exc_info=True)
        return
    ctx.identifiers_committed()
    summary.rows += ctx.tally.rows
    errs = [e for e in new_errors if e.severity == "error"]
    summary.errors.extend(new_errors)
    if errs:
        summary.failed += 1
    else:
        summary.ingested += 1


def _safe(e: Exception) -> str:
    """First line of an exception message, cut short (library messages can echo input values)."""
    return str(e).splitlines()[0][:200] if str(e) else ""
