"""Clinical notes (.txt) -> ``notes`` and ``note_events``.

A note names its patient in a header (first lines, fields in any order, ended by a line of
dashes)::

    MRN: 48213377
    PATIENT: DOE, JANE
    DOB: 1961-04-12
    NOTE TYPE: Pathology Report
    DATE OF SERVICE: 4 Mar 2025
    AUTHOR: Dr. A. Smith
    --------

or, without a header, through a document manifest row (``document_links``, matched by the
file's sha256, else by its file name). A note that can be linked neither way, or whose
header date cannot be read, is an ingest error; the rest of the batch still lands.

Events come from ``core.nlp.extract_events`` over the body; their ``span_start`` /
``span_end`` (and locator ``chars start:end``) are offsets into the whole file text, which
is what ``notes.text`` holds.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from typing import TYPE_CHECKING

from core.ingest.base import MRN_SYSTEM, IngestContext, IngestError, SourceFile, parse_date, stable_id
from core.store.schema import Modality

if TYPE_CHECKING:
    from core.nlp import NoteEvent

logger = logging.getLogger(__name__)

HEADER_MAX_LINES = 30
_FIELD = re.compile(r"^[ \t]*(?P<key>[A-Za-z][A-Za-z /]{0,40}?)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$")
_RULE = re.compile(r"^[ \t]*[-=_]{3,}[ \t]*$")
_HEADER_KEYS = {
    "MRN": "mrn", "MEDICAL RECORD NUMBER": "mrn", "PATIENT": "patient", "PATIENT NAME": "patient", "NAME": "patient",
    "DOB": "dob", "DATE OF BIRTH": "dob", "SEX": "sex", "GENDER": "sex", "NOTE TYPE": "note_type",
    "DOCUMENT TYPE": "note_type", "TYPE": "note_type", "DATE OF SERVICE": "date", "SERVICE DATE": "date",
    "NOTE DATE": "date", "DATE": "date", "VISIT DATE": "date", "AUTHOR": "author", "PROVIDER": "author",
    "SIGNED BY": "author", "TITLE": "title",
}
_OPEN_HEADER = re.compile(r"\A\s*(?:MRN|MEDICAL RECORD NUMBER)[ \t]*:", re.I)
_HAS_YEAR = re.compile(r"\d{4}|\b\d{1,2}[/-]\d{1,2}[/-]\d{2}\b")


@dataclass
class NoteHeader:
    """Header fields by canonical name, with the 1-based line each came from."""

    fields: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # field -> the label as written ("DATE OF SERVICE")
    body_start: int = 0  # character offset of the body in the file text

    def locator(self, name: str) -> str:
        return f"header line {self.lines[name]} ({self.labels[name]})"


def parse_header(text: str) -> NoteHeader | None:
    """The header at the top of a note, or None when the note has none.

    A header is a run of ``KEY: value`` lines (at least one key known) ended by a line of
    dashes, or by a blank line when it names an MRN.
    """
    header = NoteHeader()
    pos = 0
    seen_field = False
    for lineno, line in enumerate(text.splitlines(keepends=True), start=1):
        if lineno > HEADER_MAX_LINES:
            return None
        stripped = line.strip()
        end = pos + len(line)
        if _RULE.match(stripped):
            if not header.fields:
                return None
            header.body_start = end
            return header
        if not stripped:
            if seen_field and "mrn" in header.fields:
                header.body_start = end
                return header
            if seen_field:
                return None
            pos = end
            continue
        m = _FIELD.match(stripped)
        if not m:
            return None
        written = " ".join(m.group("key").split())
        key = written.upper()
        name = _HEADER_KEYS.get(key)
        if name is None and written != key:
            return None  # "Chief Complaint: ..." starts a body, not a header
        seen_field = True
        if name is not None and name not in header.fields:
            header.fields[name] = m.group("value")
            header.lines[name] = lineno
            header.labels[name] = key
        pos = end
    return None


def _header_date(header: NoteHeader, name: str, src: SourceFile) -> datetime | None:
    value = header.fields.get(name, "").strip()
    if not value:
        return None
    try:
        if not _HAS_YEAR.search(value):
            raise ValueError("no year")
        return parse_date(value)
    except ValueError as e:
        raise IngestError(src.uri, header.locator(name),
                          "unparseable date; write it as YYYY-MM-DD (e.g. 2025-03-04) or 4 Mar 2025") from e


def _split_name(name: str) -> tuple[str | None, str | None]:
    """(given, family) from "DOE, JANE" or "Jane Doe"."""
    name = " ".join(name.split())
    if not name:
        return None, None
    if "," in name:
        family, given = (p.strip() for p in name.split(",", 1))
        return given or None, family or None
    parts = name.rsplit(" ", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


@dataclass(frozen=True)
class DocumentLink:
    patient_id: str
    note_type: str | None
    note_date: datetime | None


def find_document_link(ctx: IngestContext, src: SourceFile) -> DocumentLink | None:
    """The document manifest row for this file: by sha256 first, else by file name.

    Raises:
        IngestError: the rows name different patients, or list the file name with another sha256.
    """
    name = src.path.name
    rows = ctx.con.execute(
        "SELECT patient_id, note_type, note_date, file_sha256, file_name FROM document_links "
        "WHERE file_sha256 = ? OR file_name = ? OR file_name LIKE ? ESCAPE '\\'",
        [src.sha256, name, "%/" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")]).fetchall()
    by_hash = [r for r in rows if r[3] == src.sha256]
    by_name = [r for r in rows if Path(r[4]).name == name]
    candidates = by_hash or by_name
    if not candidates:
        return None
    if not by_hash and all(r[3] for r in by_name):
        raise IngestError(src.uri, "document manifest",
                          "the manifest lists this file name with a different file_sha256: the file changed "
                          "after the manifest was written; update the manifest row")
    if len({r[0] for r in candidates}) > 1:
        raise IngestError(src.uri, "document manifest",
                          f"{len({r[0] for r in candidates})} manifest rows link this file to different patients")
    pid, note_type, note_date, _, _ = candidates[0]
    if isinstance(note_date, date) and not isinstance(note_date, datetime):
        note_date = datetime(note_date.year, note_date.month, note_date.day)
    return DocumentLink(pid, note_type, note_date)


def _decode(ctx: IngestContext, src: SourceFile, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        ctx.error(src, IngestError(src.uri, f"byte {e.start}", "not valid UTF-8; read as Windows-1252",
                                   severity="warning"))
        return raw.decode("cp1252", errors="replace")


def _looks_like_gene_list(head: bytes) -> bool:
    """Panel files (data/panels/*.txt) are one gene symbol a line: not notes."""
    lines = [ln.strip() for ln in head.decode("utf-8", "replace").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("#")]
    return bool(lines) and all(re.fullmatch(r"[A-Z0-9][A-Z0-9.-]{0,15}", ln) for ln in lines[:50])


class NotesIngester:
    kind = "note"
    extractor = "core.ingest.notes"
    version = "1.0"
    priority = 30
    _prefetcher = None  # core.nlp.prefetch.EventPrefetcher while an ingest run prefetches

    def detect(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() == ".txt" and b"\x00" not in head and not _looks_like_gene_list(head)

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        text = _decode(ctx, src, src.read_bytes())
        if not text.strip():
            raise IngestError(src.uri, "file", "empty note")
        header = parse_header(text)
        note_date = _header_date(header, "date", src) if header is not None else None
        pid, link = self._link(ctx, src, text, header)
        note_date = note_date or (link.note_date if link else None)
        if note_date is None:
            ctx.error(src, IngestError(src.uri, "header", "no note date (no DATE OF SERVICE header or manifest "
                                       "note_date): events without a date of their own are undated",
                                       severity="warning"))
        fields = header.fields if header else {}
        note_type = fields.get("note_type") or (link.note_type if link else None) or None
        note_id = stable_id("note", src.sha256)
        prov = ctx.provenance(src, INGESTER, patient_id=pid, modality=Modality.NOTES, locator="note",
                              observed_at=note_date)
        ctx.add("notes", {**prov, "note_id": note_id, "note_type": note_type, "author": fields.get("author") or None,
                          "title": fields.get("title") or note_type, "text": text})
        body_start = header.body_start if header else 0
        body = text[body_start:]
        events = self._prefetcher.take(src.sha256, body, note_date, body_start) if self._prefetcher else None
        if events is None:
            from core.nlp import extract_events  # spaCy and medspaCy load with the first note, not with every ingest

            events = extract_events(body, note_date, offset=body_start)
        for ev in events:
            ctx.add("note_events", self._event_row(ctx, src, pid, note_id, ev))

    def prefetch(self, ctx: IngestContext, paths: list[Path]) -> None:
        """Start the NLP of not-yet-ingested notes with a header date in worker processes
        (``core.nlp.prefetch``); ``ingest`` uses a result only if its inputs still match."""
        from core.nlp.prefetch import MIN_NOTES, EventPrefetcher, worker_count

        workers = worker_count()
        if workers < 1 or len(paths) < MIN_NOTES:
            return
        jobs = []
        for path in paths:
            try:
                src = SourceFile.from_path(path)
                text = src.read_bytes().decode("utf-8-sig")
                header = parse_header(text)
                note_date = _header_date(header, "date", src) if header is not None else None
            except (OSError, UnicodeDecodeError, IngestError):
                continue  # the ingest reports it
            if note_date is not None:
                jobs.append((src.sha256, text[header.body_start:], note_date, header.body_start))
        done = {r[0] for r in ctx.con.execute(
            "SELECT source_sha256 FROM sources WHERE kind = ? AND list_contains(?, source_sha256)",
            [self.kind, [j[0] for j in jobs]]).fetchall()} if jobs else set()
        jobs = [j for j in jobs if j[0] not in done]
        if len(jobs) < MIN_NOTES:
            return
        self._prefetcher = EventPrefetcher(workers)
        for job in jobs:
            self._prefetcher.submit(*job)

    def close(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.close()
            self._prefetcher = None

    def _link(self, ctx: IngestContext, src: SourceFile, text: str,
              header: NoteHeader | None) -> tuple[str, DocumentLink | None]:
        """The note's patient: by the header MRN, else by a document manifest row."""
        if header is not None and header.fields.get("mrn", "").strip():
            try:
                pid = ctx.link_patient(MRN_SYSTEM, header.fields["mrn"], src, deferred=True)  # never read back here
            except IngestError as e:
                raise IngestError(src.uri, header.locator("mrn"), e.reason) from e
            self._update_patient(ctx, src, header, pid)
            return pid, None
        link = find_document_link(ctx, src)
        if link is not None:
            return link.patient_id, link
        if header is None and _OPEN_HEADER.match(text):
            raise IngestError(src.uri, "header line 1", "the header is not closed: end it with a line of dashes "
                              "('--------') before the note body")
        raise IngestError(src.uri, "header", "no MRN header and not in a document manifest: add an 'MRN:' header "
                          "line, or a document manifest row (file_name, file_sha256, patient_system, "
                          "patient_identifier, note_type, note_date)")

    @staticmethod
    def _update_patient(ctx: IngestContext, src: SourceFile, header: NoteHeader, pid: str) -> None:
        attrs: dict[str, object] = {"mrn": header.fields["mrn"].strip()}
        given, family = _split_name(header.fields.get("patient", ""))
        attrs.update(given_name=given, family_name=family)
        sex = header.fields.get("sex", "").strip().lower()
        attrs["sex"] = {"f": "female", "female": "female", "m": "male", "male": "male"}.get(sex)
        if header.fields.get("dob", "").strip():
            try:
                attrs["birth_date"] = _header_date(header, "dob", src).date()
            except IngestError as e:
                ctx.error(src, IngestError(e.source_uri, e.locator, e.reason, severity="warning"))
        ctx.update_patient(pid, deferred=True, **attrs)

    @staticmethod
    def _event_row(ctx: IngestContext, src: SourceFile, pid: str, note_id: str, ev: NoteEvent) -> dict:
        prov = ctx.provenance(src, INGESTER, patient_id=pid, modality=Modality.NOTES,
                              locator=f"chars {ev.span_start}:{ev.span_end}", observed_at=ev.observed_at)
        return {
            **prov, "event_id": stable_id(note_id, ev.concept_type, ev.concept, ev.span_start, ev.span_end),
            "note_id": note_id, "concept_type": ev.concept_type, "concept": ev.concept,
            "value_text": ev.value_text, "value_num": ev.value_num, "unit": ev.unit,
            "span_start": ev.span_start, "span_end": ev.span_end, "snippet": ev.snippet, "section": ev.section,
            "is_negated": ev.is_negated, "is_uncertain": ev.is_uncertain, "is_historical": ev.is_historical,
            "is_family": ev.is_family, "is_hypothetical": ev.is_hypothetical, "date_text": ev.date_text,
        }


INGESTER = NotesIngester()
