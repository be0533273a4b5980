"""Laboratory result exports (CSV) -> ``labs``.

Columns (detected by the header; extra columns are ignored)::

    mrn, loinc, test_name, value, unit, reference_range, collected_at

``mrn`` is the hospital MRN (``MRN_SYSTEM``); an optional ``patient_system`` column
names another identifier system. ``value`` is a number or a text result ("<0.5",
"positive"); a comparator result keeps its text and has no ``value_num``.
``reference_range`` is written "3.5-5.0", "<3.0", "<=3.0", ">60" or left empty.
Locator: ``line N`` (the header is line 1). A bad row becomes an ``IngestError``
naming the line and column; the rest of the file still lands.
"""
from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from core.ingest.base import MRN_SYSTEM, IngestContext, IngestError, SourceFile, parse_date, stable_id
from core.store.schema import Modality

LAB_COLUMNS = ("mrn", "loinc", "test_name", "value", "unit", "reference_range", "collected_at")
REQUIRED = ("mrn", "loinc", "value", "collected_at")
_LOINC = re.compile(r"^\d{1,7}-\d$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_RANGE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:-|–|to)\s*([+-]?\d+(?:\.\d+)?)\s*$")
_BOUND = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*([+-]?\d+(?:\.\d+)?)\s*$")


def _header(head: bytes) -> set[str]:
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff")
    return {h.strip().lower() for h in first.split(",")}


def parse_value(text: str) -> tuple[float | None, str | None]:
    """(value_num, value_text): a plain number gives value_num; anything else is kept as text."""
    t = text.strip()
    if _NUMBER.match(t):
        x = float(t)
        if math.isfinite(x):
            return x, None
    return None, t or None


def parse_range(text: str | None) -> tuple[float | None, float | None]:
    """'3.5-5.0' -> (3.5, 5.0); '<3.0' -> (None, 3.0); '>60' -> (60, None); '' -> (None, None).

    Raises:
        ValueError: text that is none of these forms.
    """
    t = (text or "").strip()
    if not t:
        return None, None
    m = _RANGE.match(t)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        if lo > hi:
            raise ValueError("reference range low bound above high bound")
        return lo, hi
    m = _BOUND.match(t)
    if m:
        v = float(m.group(2))
        return (None, v) if m.group(1) in ("<", "<=", "≤") else (v, None)
    raise ValueError("reference range is not 'low-high', '<high' or '>low'")


class LabsIngester:
    kind = "labs"
    extractor = "core.ingest.labs"
    version = "1.0"
    priority = 40

    def detect(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() == ".csv" and set(REQUIRED) <= _header(head)

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        text = src.read_bytes().decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text))
        cols = {(c or "").strip().lower() for c in reader.fieldnames or []}
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise IngestError(src.uri, "line 1", f"lab export header lacks columns {missing}")
        links: dict[tuple[str, str], str] = {}  # one patient-index lookup per patient, not per row
        for row in reader:
            loc = f"line {reader.line_num}"
            clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
            try:
                self._row(ctx, src, clean, loc, links)
            except IngestError as e:
                ctx.error(src, e)

    def _row(self, ctx: IngestContext, src: SourceFile, row: dict[str, str], loc: str,
             links: dict[tuple[str, str], str]) -> None:
        for col in REQUIRED:
            if not row.get(col):
                raise IngestError(src.uri, f"{loc}, {col}", f"empty {col}")
        system = row.get("patient_system") or MRN_SYSTEM
        key = (system, row["mrn"])
        pid = links.get(key)
        if pid is None:
            try:
                pid = links[key] = ctx.link_patient(system, row["mrn"], src)
            except IngestError as e:
                raise IngestError(src.uri, f"{loc}, mrn", e.reason) from e
        loinc = row["loinc"]
        if not _LOINC.match(loinc):
            ctx.error(src, IngestError(src.uri, f"{loc}, loinc", "not a LOINC code (digits-check digit); kept as written",
                                       error_type="UnknownCode", severity="warning"))
        try:
            collected = parse_date(row["collected_at"])
        except ValueError as e:
            raise IngestError(src.uri, f"{loc}, collected_at", str(e)) from e
        try:
            ref_low, ref_high = parse_range(row.get("reference_range"))
        except ValueError as e:
            raise IngestError(src.uri, f"{loc}, reference_range", str(e)) from e
        value_num, value_text = parse_value(row["value"])
        unit = row.get("unit") or None
        prov = ctx.provenance(src, INGESTER, patient_id=pid, modality=Modality.LABS, locator=loc, observed_at=collected)
        ctx.add("labs", {**prov, "lab_id": stable_id(pid, loinc, collected, row["value"], unit),
                         "loinc": loinc, "name": row.get("test_name") or None, "value_num": value_num,
                         "value_text": value_text, "unit": unit, "ref_low": ref_low, "ref_high": ref_high})


INGESTER = LabsIngester()
