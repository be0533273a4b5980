"""Opening the stores.

Two DuckDB files, because DuckDB allows one writing process per file:

* the **evidence store** (``evidence-<version>.duckdb``) is written only by CLI
  commands (ingest, build-demo, train, score). A writer copies the current version
  to a new file, writes there, checkpoints, and then atomically replaces the
  ``CURRENT`` pointer. The app opens the current version read-only and switches when
  the pointer changes. A killed ingest leaves the old version untouched.
* the **board store** (``board.duckdb``) holds decisions, snapshots, discrepancy
  reviews, users and the audit log. Only the app (and admin CLI commands run while
  the app is stopped) writes it, through one serialised writer.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.config import path_setting, setting
from core.store import evidence_items, schema

logger = logging.getLogger(__name__)

POINTER = "CURRENT"


# RLE-compressed columns cost a scan of the run list for every row an index lookup fetches
# (observed_at of labs: 8 of the 10 ms of one patient's labs on a 10k-patient store);
# bit-packing fetches a row in constant time. docs/BENCHMARKS.md, patient_evidence.
NO_RLE = "SET disabled_compression_methods = 'rle'"  # (passing it as connect config is ignored)


def store_dir() -> Path:
    d = path_setting("store_dir")
    d.mkdir(parents=True, exist_ok=True)
    return d


def current_version(root: Path | None = None) -> str | None:
    """Name of the current evidence-store version, or None if none was built."""
    p = (root or store_dir()) / POINTER
    if not p.exists():
        return None
    name = p.read_text().strip()
    return name or None


def current_evidence_path(root: Path | None = None) -> Path | None:
    v = current_version(root)
    return None if v is None else (root or store_dir()) / v


def connect_readonly(root: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Read-only connection to the current evidence store."""
    path = current_evidence_path(root)
    if path is None or not path.exists():
        raise FileNotFoundError(
            f"no evidence store in {root or store_dir()}: run `python -m core build-demo` or `python -m core ingest PATH`"
        )
    return duckdb.connect(str(path), read_only=True)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(text)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextmanager
def evidence_writer(root: Path | None = None, fresh: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Write a new evidence-store version and publish it atomically on success.

    Args:
        root: store folder (default: the ``store_dir`` setting).
        fresh: start from an empty store instead of a copy of the current version.

    Yields a read-write connection with the schema migrated. On an exception the
    new version is deleted and ``CURRENT`` still names the old one.
    """
    root = root or store_dir()
    root.mkdir(parents=True, exist_ok=True)
    lock = root / "writer.lock"
    fd = _acquire_lock(lock)
    name = f"evidence-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}.duckdb"
    new_path = root / name
    try:
        cur = current_evidence_path(root)
        if cur is not None and cur.exists() and not fresh:
            shutil.copyfile(cur, new_path)
        con = duckdb.connect(str(new_path))
        con.execute(NO_RLE)
        try:
            schema.migrate(con)
            was_trusted = evidence_items.trusted(con)
            yield con
            evidence_items.refresh(con, was_trusted)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _atomic_write(root / POINTER, name)
        _prune_versions(root, keep=int(setting("keep_versions")))
    except BaseException:
        for p in (new_path, new_path.with_suffix(".duckdb.wal")):
            p.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
        lock.unlink(missing_ok=True)


def _acquire_lock(lock: Path) -> int:
    """Exclusive writer lock; a stale lock (dead pid) is taken over."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            return fd
        except FileExistsError:
            try:
                pid = int(lock.read_text() or "0")
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, FileNotFoundError):
                lock.unlink(missing_ok=True)
                continue
            raise RuntimeError(f"another writer (pid {pid}) holds {lock}; wait for it to finish") from None
    raise RuntimeError(f"could not take the writer lock {lock}")


def _prune_versions(root: Path, keep: int) -> None:
    cur = current_version(root)
    versions = sorted(root.glob("evidence-*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    old = [p for p in versions if p.name != cur][keep:]
    for p in old:
        try:
            p.unlink()
        except OSError as e:  # an app may still have it open on some systems
            logger.warning("could not remove old store version %s: %s", p.name, e)


# ---- board store --------------------------------------------------------------------

def board_path(root: Path | None = None) -> Path:
    return (root or store_dir()) / "board.duckdb"


class BoardWriter:
    """The one serialised writer of the board store (decisions, audit, users).

    DuckDB connections are not thread-safe: each call takes a cursor under a lock,
    so Streamlit's many script threads share one process-wide writer.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or board_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path))
        schema.migrate(self._con, schema.BOARD_MIGRATIONS)
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            cur = self._con.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    def read(self) -> duckdb.DuckDBPyConnection:
        """A cursor for reads (caller closes it)."""
        with self._lock:
            return self._con.cursor()

    def close(self) -> None:
        with self._lock:
            self._con.close()


_WRITERS: dict[Path, BoardWriter] = {}
_WRITERS_LOCK = threading.Lock()


def board_writer(root: Path | None = None) -> BoardWriter:
    """The process-wide writer for the board store at ``root`` (DuckDB allows one per file and process)."""
    path = board_path(root).resolve()
    with _WRITERS_LOCK:
        w = _WRITERS.get(path)
        if w is None:
            w = _WRITERS[path] = BoardWriter(path)
        return w
