"""Lesion-measurement exports from PACS (radiologist annotations) -> ``lesion_measurements``.

CSV columns (detected by this header):
    mrn, study_uid, sop_instance_uid, lesion_id, long_axis_mm, short_axis_mm,
    center_row, center_col, margin, measured_at

The patient is linked by ``mrn`` in the hospital MRN system (``MRN_SYSTEM``); the MRN
itself is never stored in the measurement rows. ``observed_at`` is the study's date
when the study is already in the store (the lesion had that size then), otherwise
``measured_at``. Locator: ``row N``, N the CSV line number (the header is row 1).
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from core.ingest.base import MRN_SYSTEM, IngestContext, IngestError, SourceFile, first_row, parse_date, stable_id
from core.store.schema import Modality

ANNOTATION_COLUMNS = ("mrn", "study_uid", "sop_instance_uid", "lesion_id", "long_axis_mm", "short_axis_mm",
                      "center_row", "center_col", "margin", "measured_at")
KNOWN_MARGINS = ("smooth", "lobulated", "spiculated", "irregular", "ill-defined")
METHOD = "radiologist annotation"


def _header(head: bytes) -> tuple[str, ...]:
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff")
    return tuple(h.strip().lower() for h in first.split(","))


class LesionAnnotationIngester:
    kind = "lesion_annotations"
    extractor = "core.ingest.annotations"
    version = "1.0"
    priority = 25  # after DICOM (20), so the study's date is known

    def detect(self, path: Path, head: bytes) -> bool:
        return {"mrn", "study_uid", "lesion_id", "long_axis_mm"} <= set(_header(head))

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        text = src.read_bytes().decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text))
        cols = {c.strip().lower() for c in reader.fieldnames or []}
        missing = [c for c in ANNOTATION_COLUMNS if c not in cols]
        if missing:
            raise IngestError(src.uri, "row 1", f"lesion annotation header lacks columns {missing}")
        study_dates: dict[str, tuple[str, object] | None] = {}
        for row in reader:
            loc = f"row {reader.line_num}"
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
            try:
                self._row(ctx, src, row, loc, study_dates)
            except IngestError as e:
                ctx.error(src, e)

    def _row(self, ctx: IngestContext, src: SourceFile, row: dict[str, str], loc: str,
             study_dates: dict[str, tuple[str, object] | None]) -> None:
        for col in ("mrn", "study_uid", "lesion_id"):
            if not row.get(col):
                raise IngestError(src.uri, f"{loc}, {col}", f"empty {col}")
        try:
            pid = ctx.link_patient(MRN_SYSTEM, row["mrn"], src)
        except IngestError as e:
            raise IngestError(src.uri, f"{loc}, mrn", e.reason) from e
        nums = {c: _number(src, loc, c, row.get(c, ""), required=c == "long_axis_mm")
                for c in ("long_axis_mm", "short_axis_mm", "center_row", "center_col")}
        for c in ("long_axis_mm", "short_axis_mm"):
            if nums[c] is not None and nums[c] <= 0:
                raise IngestError(src.uri, f"{loc}, {c}", f"{c} must be > 0 mm")
        if nums["short_axis_mm"] is not None and nums["short_axis_mm"] > nums["long_axis_mm"]:
            raise IngestError(src.uri, f"{loc}, short_axis_mm", "short axis longer than long axis (columns swapped?)")
        try:
            measured = parse_date(row.get("measured_at"))
        except ValueError as e:
            raise IngestError(src.uri, f"{loc}, measured_at", str(e)) from e
        margin = row.get("margin", "").lower() or None
        if margin is not None and margin not in KNOWN_MARGINS:
            ctx.error(src, IngestError(src.uri, f"{loc}, margin", f"unknown margin {margin!r}: kept as written; "
                                       f"expected one of {KNOWN_MARGINS}", severity="warning"))
        study_uid = row["study_uid"]
        if study_uid not in study_dates:
            study_dates[study_uid] = first_row(
                ctx.con, "SELECT patient_id, observed_at FROM imaging_studies WHERE study_uid = ?", [study_uid])
        known = study_dates[study_uid]
        if known is not None and known[0] != pid:
            raise IngestError(src.uri, f"{loc}, study_uid",
                              "study belongs to another patient in the store (MRN and study UID disagree)")
        observed = known[1] if known is not None and known[1] is not None else measured
        sop = row.get("sop_instance_uid") or None
        prov = ctx.provenance(src, INGESTER, patient_id=pid, modality=Modality.IMAGING, locator=loc,
                              observed_at=observed)
        ctx.add("lesion_measurements", {
            **prov, "measurement_id": stable_id(METHOD, study_uid, sop, row["lesion_id"], row.get("measured_at")),
            "lesion_id": row["lesion_id"], "study_uid": study_uid, "sop_instance_uid": sop,
            "long_axis_mm": nums["long_axis_mm"], "short_axis_mm": nums["short_axis_mm"],
            "center_row": nums["center_row"], "center_col": nums["center_col"], "margin": margin, "method": METHOD,
        })


def _number(src: SourceFile, loc: str, col: str, text: str, *, required: bool) -> float | None:
    if not text:
        if required:
            raise IngestError(src.uri, f"{loc}, {col}", f"empty {col}")
        return None
    try:
        value = float(text)
    except ValueError as e:
        raise IngestError(src.uri, f"{loc}, {col}", f"{col} is not a number") from e
    if not math.isfinite(value):
        raise IngestError(src.uri, f"{loc}, {col}", f"{col} is not a finite number")
    return value


INGESTER = LesionAnnotationIngester()
