"""The one ingest contract shared by every format.

Each format module (``dicom``, ``notes``, ``vcf``, ``maf``, ``fhir``, ``labs``,
``manifest``) exposes one ``Ingester`` instance with ``detect`` and ``ingest``.
``ingest`` reads one source file and hands rows to the ``IngestContext``; a bad
record raises or records an ``IngestError`` and the rest of the file still lands.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from core.store import schema

logger = logging.getLogger(__name__)

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.9999.1"  # the demo hospital's MRN namespace


class IngestError(Exception):
    """A bad source or record: says what, where and (when known) the fix.

    The message must never contain PHI: name the file, the place and the rule broken,
    not the offending value when that value could identify a patient.
    """

    def __init__(self, source_uri: str, locator: str, reason: str, *, error_type: str | None = None,
                 severity: str = "error") -> None:
        self.source_uri = source_uri
        self.locator = locator
        self.reason = reason
        self.error_type = error_type or type(self).__name__
        self.severity = severity
        super().__init__(f"{source_uri} [{locator}]: {reason}")


KEEP_BYTES_MAX = 8 * 1024 * 1024  # files up to this size keep the bytes they were hashed from


@dataclass(frozen=True)
class SourceFile:
    path: Path
    uri: str
    sha256: str
    size_bytes: int
    data: bytes | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_path(cls, path: Path) -> SourceFile:
        data = path.read_bytes()
        return cls(path=path, uri=str(path.resolve()), sha256=hashlib.sha256(data).hexdigest(),
                   size_bytes=len(data), data=data if len(data) <= KEEP_BYTES_MAX else None)

    def read_bytes(self) -> bytes:
        """The file's bytes: for files up to ``KEEP_BYTES_MAX``, exactly the bytes ``sha256`` was taken of
        (a file rewritten after hashing cannot be ingested under the old hash), and read once."""
        return self.data if self.data is not None else self.path.read_bytes()


class Ingester(Protocol):
    kind: str
    extractor: str
    version: str
    priority: int  # lower runs first in a batch (manifests and patients before linked data)

    def detect(self, path: Path, head: bytes) -> bool: ...

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None: ...


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """First row or None, draining the result (DuckDB 2.0 keeps a half-read result open and then
    refuses ``register``/``sql`` on that connection)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def stable_id(*parts: object) -> str:
    """Deterministic id from its parts: re-ingesting the same bytes yields the same ids."""
    h = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()
    return h[:24]


@dataclass
class FileTally:
    rows: int = 0
    errors: int = 0


@dataclass
class IngestContext:
    """Everything an ingester may touch: row buffers, the patient index, error recording."""

    con: duckdb.DuckDBPyConnection
    run_id: str
    pseudonym_key: bytes
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(tzinfo=None))
    _rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    _errors: list[IngestError] = field(default_factory=list)
    _error_src: dict[int, SourceFile] = field(default_factory=dict)
    tally: FileTally = field(default_factory=FileTally)

    # ---- provenance ---------------------------------------------------------------
    def provenance(self, src: SourceFile, ingester: Ingester, *, patient_id: str, modality: str,
                   locator: str, observed_at: datetime | date | None) -> dict[str, Any]:
        """The provenance-contract columns for one evidence row."""
        if isinstance(observed_at, date) and not isinstance(observed_at, datetime):
            observed_at = datetime(observed_at.year, observed_at.month, observed_at.day)
        return {
            "patient_id": patient_id, "modality": modality, "observed_at": observed_at,
            "source_uri": src.uri, "source_sha256": src.sha256, "locator": locator,
            "extractor": ingester.extractor, "extractor_version": ingester.version,
            "ingested_at": self.now, "ingest_run_id": self.run_id,
        }

    def add(self, table: str, row: dict[str, Any]) -> None:
        schema.check_identifier(table)
        if self._batch_keys is not None:
            self._check_batch_conflict(table, row)
        self._rows[table].append(row)
        if table != "sources":
            self.tally.rows += 1

    # ---- batches of files in one transaction -------------------------------------------
    _batch_keys: dict | None = None
    current_source: SourceFile | None = None
    attempt: int = 0  # bumped on every rollback: per-run memos in ingesters key on (run_id, attempt)
    ONE_SOURCE_TABLES = ("imaging_instances", "notes")

    def begin_batch(self) -> None:
        self._batch_keys = {}

    def end_batch(self) -> None:
        self._batch_keys = None
        self.current_source = None

    def _check_batch_conflict(self, table: str, row: dict[str, Any]) -> None:
        """Two files of one batch claiming one key for different patients (or one slice twice) must not be
        silently merged by INSERT OR IGNORE: raise, so the batch is replayed file by file."""
        t = schema.EVIDENCE_TABLES.get(table)
        if t is None or not t.primary_key or "patient_id" not in row:
            return
        key = (table, *(row.get(k) for k in t.primary_key))
        prev = self._batch_keys.get(key)
        who = (row.get("patient_id"), row.get("source_sha256"))
        if prev is None:
            self._batch_keys[key] = who
        elif prev[0] != who[0] or (table in self.ONE_SOURCE_TABLES and prev[1] != who[1]):
            raise RuntimeError(f"batch key conflict in {table}")

    def error(self, src: SourceFile | None, err: IngestError) -> None:
        """Record a bad record (or a warning) without stopping the file."""
        self._errors.append(err)
        if src is not None:
            self._error_src[id(err)] = src
        if err.severity == "error":
            self.tally.errors += 1
        logger.warning("%s", err)  # messages are PHI-free by contract

    # ---- patient index --------------------------------------------------------------
    def pseudonym(self, system: str, value: str) -> str:
        digest = hmac.new(self.pseudonym_key, f"{system}|{value}".encode(), hashlib.sha256).hexdigest()
        return "PT" + digest[:10].upper()

    def link_patient(self, system: str, value: str, src: SourceFile, *, create: bool = True,
                     deferred: bool = False) -> str:
        """Map an identifier to the pseudonymous patient_id, registering it when new.

        Args:
            deferred: a new patient's rows are buffered and written with the batch (``flush``) instead
                of now; only for ingesters that never read the patient back within the batch (notes).

        Raises:
            IngestError: empty identifier, or ``create=False`` and the identifier is unknown.
        """
        value = (value or "").strip()
        if not value:
            raise IngestError(src.uri, "patient identifier", "no patient identifier: cannot link this source to a patient")
        pending = self._pending_identifiers.get((system, value))
        if pending:
            return pending
        cache = self._id_cache
        loaded = self.__dict__.setdefault("_loaded_systems", set())
        if system not in loaded:  # the system's whole index once per run: one query, not one per patient
            cache.update({(system, v): pid for v, pid in self.con.execute(
                "SELECT value, patient_id FROM patient_identifiers WHERE system = ?", [system]).fetchall()})
            loaded.add(system)
        cached = cache.get((system, value))
        if cached:
            return cached
        # identifier writes go through this context (link_patient, register_identifier), so a miss should be
        # new; the lookup guards against any writer that bypassed it (one query per new identifier)
        row = first_row(self.con, "SELECT patient_id FROM patient_identifiers WHERE system = ? AND value = ?",
                        [system, value])
        if row:
            cache[(system, value)] = row[0]
            return row[0]
        if not create:
            raise IngestError(src.uri, "patient identifier",
                              f"identifier in system {system!r} is not in the patient index; "
                              "add the specimen or document to a manifest (data/manifests/) and re-run")
        pid = self.pseudonym(system, value)
        self._pending_identifiers[(system, value)] = pid
        ident = {"system": system, "value": value, "patient_id": pid, "source_uri": src.uri, "created_at": self.now}
        patient = {"patient_id": pid, "cohort": "external", "created_at": self.now}
        if deferred:  # not counted as evidence rows of the file (as the immediate inserts are not)
            self._rows["patient_identifiers"].append(ident)
            self._rows["patients"].append(patient)
            return pid
        self.register_identifier(system, value, pid, src)
        self.con.execute("INSERT OR IGNORE INTO patients (patient_id, cohort, created_at) VALUES (?, 'external', ?)",
                         [pid, self.now])
        return pid

    def register_identifier(self, system: str, value: str, patient_id: str, src: SourceFile) -> None:
        """Record another identifier of a patient now (pending until the batch commits)."""
        self.con.execute("INSERT OR IGNORE INTO patient_identifiers (system, value, patient_id, source_uri, created_at) "
                         "VALUES (?, ?, ?, ?, ?)", [system, value, patient_id, src.uri, self.now])
        self._pending_identifiers[(system, value)] = patient_id

    def rolled_back(self) -> None:
        """The batch was rolled back: forget its identifiers and buffered rows, start a new attempt."""
        self.attempt += 1
        self._pending_identifiers.clear()
        self._id_cache.clear()
        self.__dict__.pop("_loaded_systems", None)
        self.discard()

    def identifiers_committed(self) -> None:
        """The batch committed: its new identifiers are in the store now (cache them)."""
        self._id_cache.update(self._pending_identifiers)
        self._pending_identifiers.clear()

    @property
    def _id_cache(self) -> dict[tuple[str, str], str]:
        """Identifiers known to be in the store: committed batches of this run, and each system's index as
        loaded on first use (cleared on every rollback: it may have been read inside the failed transaction)."""
        if not hasattr(self, "_committed_ids"):
            self._committed_ids: dict[tuple[str, str], str] = {}
        return self._committed_ids

    @property
    def _pending_identifiers(self) -> dict[tuple[str, str], str]:
        if not hasattr(self, "_pending"):
            self._pending: dict[tuple[str, str], str] = {}
        return self._pending

    def update_patient(self, patient_id: str, *, deferred: bool = False, **attrs: Any) -> None:
        """Fill patient attributes that are still empty (a later source never overwrites an earlier one).

        ``deferred``: applied with the batch (``flush``, one statement for all its patients) instead of now;
        only for ingesters that never read the patient back within the batch.
        """
        attrs = {k: v for k, v in attrs.items() if v is not None}
        if not attrs:
            return
        for k in attrs:
            schema.check_identifier("patients", k)
        if deferred:
            fill = self.__dict__.setdefault("_deferred_attrs", {}).setdefault(patient_id, {})
            for k, v in attrs.items():
                fill.setdefault(k, v)  # the first source's value, as with immediate updates
            return
        # fill-if-empty: once these columns were offered for this patient in this attempt, repeating is a no-op
        done = self.__dict__.setdefault("_filled", {}).setdefault(self.attempt, set())
        key = (patient_id, frozenset(attrs))
        if key in done:
            return
        done.add(key)
        sets = ", ".join(f'"{k}" = COALESCE("{k}", ?)' for k in attrs)
        self.con.execute(f"UPDATE patients SET {sets} WHERE patient_id = ?", [*attrs.values(), patient_id])

    def _apply_deferred_attrs(self) -> None:
        fills: dict[str, dict[str, Any]] = self.__dict__.pop("_deferred_attrs", {})
        if not fills:
            return
        cols = sorted({k for f in fills.values() for k in f})
        tbl = pa.table({"patient_id": list(fills), **{k: pa.array([f.get(k) for f in fills.values()]) for k in cols}})
        self.con.register("_patient_fills", tbl)
        try:
            sets = ", ".join(f'"{k}" = COALESCE(patients."{k}", u."{k}")' for k in cols)
            self.con.execute(f"UPDATE patients SET {sets} FROM _patient_fills u WHERE patients.patient_id = u.patient_id")
        finally:
            self.con.unregister("_patient_fills")

    # ---- flushing ------------------------------------------------------------------------
    def flush(self) -> None:
        """Write buffered rows (idempotent: existing primary keys are left as they are)."""
        for table, rows in self._rows.items():
            if not rows:
                continue
            insert_rows(self.con, table, rows)
        self._rows.clear()
        self._apply_deferred_attrs()
        for err in self._errors:
            src = self._error_src.get(id(err))
            sha = src.sha256 if src else None
            eid = stable_id(err.source_uri, sha, err.locator, err.error_type, err.reason)
            self.con.execute(
                "INSERT OR IGNORE INTO ingest_errors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [eid, self.run_id, err.source_uri, sha, getattr(err, "kind", None), err.locator, err.severity,
                 err.error_type, err.reason, self.now],
            )
        self._errors.clear()
        self._error_src.clear()

    def discard(self) -> None:
        self._rows.clear()
        self.__dict__.pop("_deferred_attrs", None)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert dict rows by column name, ignoring rows whose primary key already exists."""
    t = schema.EVIDENCE_TABLES.get(table) or schema.BOARD_TABLES[table]
    names = [c.name for c in t.columns]
    unknown = set().union(*(r.keys() for r in rows)) - set(names)
    if unknown:
        raise ValueError(f"{table}: unknown columns {sorted(unknown)}")
    cols = {n: [r.get(n) for r in rows] for n in names}
    arrays = {}
    for n, vals in cols.items():
        first = next((v for v in vals if v is not None), None)
        if first is None:
            continue
        if isinstance(first, dict):
            vals = [json.dumps(v) if isinstance(v, dict) else v for v in vals]
        arrays[n] = pa.array(vals)
    tbl = pa.table(arrays)
    con.register("_ingest_rows", tbl)
    try:
        collist = ", ".join(f'"{n}"' for n in arrays)
        con.execute(f"INSERT OR IGNORE INTO {table} ({collist}) SELECT {collist} FROM _ingest_rows")
    finally:
        con.unregister("_ingest_rows")


# The common ways a clinical date is written, parsed exactly (``strptime``, ~10 µs) before dateutil's
# general parser (~90 µs, three calls a note); a string either format refuses goes on to dateutil, so the
# result is always dateutil's ("13/04/2025" fails %m/%d/%Y and dateutil reads it day-first).
_FAST_FORMATS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    (re.compile(r"\d{1,2}/\d{1,2}/\d{4}"), "%m/%d/%Y"),
    (re.compile(r"\d{1,2} [A-Za-z]{3} \d{4}"), "%d %b %Y"),
    (re.compile(r"\d{1,2} [A-Za-z]{4,9} \d{4}"), "%d %B %Y"),
    (re.compile(r"[A-Za-z]{4,9} \d{1,2}, \d{4}"), "%B %d, %Y"),
    (re.compile(r"[A-Za-z]{3} \d{1,2}, \d{4}"), "%b %d, %Y"),
)


def _fast_date(text: str) -> datetime | None:
    for pattern, fmt in _FAST_FORMATS:
        if pattern.fullmatch(text):
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                return None
    return None


def parse_date(text: str | None) -> datetime | None:
    """Parse the many ways a date is written (ISO, 03/04/2025 US order, 4 Mar 2025, 20250304)."""
    from dateutil import parser as dparser

    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    if len(text) == 8 and text.isdigit():  # DICOM DA
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:8]))
    fast = _fast_date(text)
    if fast is not None:
        return fast
    try:
        return dparser.parse(text, dayfirst=False, default=datetime(1900, 1, 1)).replace(tzinfo=None)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"unparseable date ({len(text)} characters)") from e


def iter_files(paths: Iterable[Path], *, with_refused: bool = False):
    """Expand folders into their files, sorted for deterministic runs; refuses missing paths.

    A file inside a folder whose real path lies outside that folder (a symlink escaping it)
    is refused, never followed: returned in the second list when ``with_refused``.
    """
    out: list[Path] = []
    refused: list[Path] = []
    for p in paths:
        if p.is_dir():
            root = p.resolve()
            for q in sorted(p.rglob("*")):
                if q.name.startswith(".") or not q.is_file():
                    continue
                if root not in q.resolve().parents:
                    refused.append(q)
                    continue
                out.append(q)
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return (out, refused) if with_refused else out


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
