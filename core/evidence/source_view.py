"""'Open the source' of one evidence item: the note span, the DICOM slice, the VCF line, the FHIR resource."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.store import schema
from core.store.queries import frame

LINE_RE = re.compile(r"(?:line|row) (\d+)")
SPAN_RE = re.compile(r"chars? (\d+):(\d+)")


@dataclass(frozen=True)
class SourceView:
    kind: str                      # note / dicom / text_line / fhir / missing
    source_uri: str
    locator: str
    text: str = ""                 # note text, file line(s), or resource JSON
    highlight: tuple[int, int] | None = None   # char span inside ``text``
    file_path: str | None = None   # for DICOM
    intact: bool | None = None     # source bytes still hash to source_sha256
    context: list[str] = field(default_factory=list)


def _intact(path: Path, sha: str) -> bool | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha
    except OSError:
        return None


def open_source(con: duckdb.DuckDBPyConnection, table: str, source_sha256: str, locator: str) -> SourceView:
    """Resolve an evidence row's provenance to something a user can read.

    Note events open the stored note text with the character span highlighted (the store
    keeps the text, so this works even if the file moved); DICOM rows give the file path;
    VCF/MAF/CSV rows show the exact line from the source file and whether the file still
    hashes to what was ingested.
    """
    schema.check_identifier(table)
    row = frame(con, f"SELECT * FROM {table} WHERE source_sha256 = ? AND locator = ? LIMIT 1",
                [source_sha256, locator])
    if row.height == 0:
        return SourceView("missing", "", locator, text="no stored row for this provenance")
    r = row.row(0, named=True)
    uri = r["source_uri"]
    if table in ("note_events", "notes"):
        note = con.execute("SELECT text FROM notes WHERE source_sha256 = ? LIMIT 1", [source_sha256]).fetchone()
        text = note[0] if note else ""
        span = None
        if table == "note_events" and r.get("span_start") is not None:
            span = (int(r["span_start"]), int(r["span_end"]))
        return SourceView("note", uri, locator, text=text, highlight=span, intact=_intact(Path(uri), source_sha256))
    if table.startswith("imaging") or table == "lesion_measurements":
        path = r.get("file_path")
        if path is None:
            sop = r.get("sop_instance_uid")
            q = ("SELECT file_path FROM imaging_instances WHERE sop_instance_uid = ?" if sop else
                 "SELECT file_path FROM imaging_instances WHERE study_uid = ? ORDER BY instance_number")
            hit = con.execute(q, [sop or r.get("study_uid")]).fetchall()
            path = hit[len(hit) // 2][0] if hit else None
        return SourceView("dicom", uri, locator, file_path=path,
                          intact=_intact(Path(path), source_sha256) if path and table == "imaging_instances" else None)
    if table == "fhir_resources" or (table in ("conditions", "biomarkers", "treatments", "labs", "outcomes", "variants",
                                               "specimens", "clinical_observations") and "/" in locator and not LINE_RE.match(locator)):
        res = con.execute("SELECT json FROM fhir_resources WHERE source_sha256 = ? AND locator = ? LIMIT 1",
                          [source_sha256, locator]).fetchone()
        if res:
            return SourceView("fhir", uri, locator, text=res[0], intact=_intact(Path(uri), source_sha256))
    m = LINE_RE.search(locator)
    if m:
        n = int(m.group(1))
        lines, intact = _read_lines(Path(uri), source_sha256)
        if lines is None:
            return SourceView("missing", uri, locator, text="source file no longer available at its path")
        header = [ln for ln in lines[:200] if ln.startswith("#CHROM") or ln.startswith("Hugo_Symbol")][:1] or lines[:1]
        text = lines[n - 1] if 0 < n <= len(lines) else ""
        return SourceView("text_line", uri, locator, text=text, intact=intact, context=header)
    return SourceView("missing", uri, locator, text="this source kind has no viewer; see source_uri and locator")


def _read_lines(path: Path, sha: str) -> tuple[list[str] | None, bool | None]:
    try:
        data = path.read_bytes()
    except OSError:
        return None, None
    return data.decode("utf-8", "replace").splitlines(), hashlib.sha256(data).hexdigest() == sha
