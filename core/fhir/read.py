"""Lenient readers for FHIR R4 JSON dicts: codings, dates, values, references.

They work on plain dicts (so a resource that fails strict validation can still be
read) and raise ``FieldError`` naming the FHIR path when a value they need is unusable.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from core.fhir import codes as K
from core.ingest.base import parse_date


class FieldError(ValueError):
    """A field the mapping needs is missing or unusable; ``path`` is the FHIR path inside the resource."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def clean(text: Any) -> str | None:
    """Strip whitespace and the zero-width spaces some exporters put into displays."""
    if text is None:
        return None
    s = str(text).replace("\u200b", "").strip()
    return s or None


def codings(cc: Any) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (a Coding is accepted too)."""
    if not isinstance(cc, dict):
        return []
    if "coding" in cc:
        return [c for c in cc.get("coding") or [] if isinstance(c, dict)]
    if "code" in cc or "system" in cc:
        return [cc]
    return []


def first_coding(cc: Any, system: str | None = None) -> dict[str, Any] | None:
    """The first coding (of ``system`` when given) of a CodeableConcept."""
    for c in codings(cc):
        if system is None or c.get("system") == system:
            return c
    return None


def codes(cc: Any, system: str | None = None) -> set[str]:
    return {str(c.get("code")) for c in codings(cc) if c.get("code") and (system is None or c.get("system") == system)}


def cc_text(cc: Any) -> str | None:
    """Human text of a CodeableConcept: ``text`` or the first display or the first code."""
    if not isinstance(cc, dict):
        return None
    if cc.get("text"):
        return clean(cc["text"])
    for c in codings(cc):
        if c.get("display"):
            return clean(c["display"])
    for c in codings(cc):
        if c.get("code"):
            return clean(c["code"])
    return None


def parse_fhir_datetime(value: Any, path: str) -> datetime:
    """A FHIR date / dateTime / instant (partial dates allowed) as a naive datetime."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError(path, "not a date")
    s = value.strip()
    if re.fullmatch(r"\d{4}", s):
        return datetime(int(s), 1, 1)
    if re.fullmatch(r"\d{4}-\d{2}", s):
        return datetime(int(s[:4]), int(s[5:7]), 1)
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        pass
    try:
        parsed = parse_date(s)
    except ValueError as e:
        raise FieldError(path, f"not a FHIR date ({e})") from e
    if parsed is None:
        raise FieldError(path, "not a date")
    return parsed


def first_date(res: dict[str, Any], *paths: str) -> datetime | None:
    """The first present date among dotted ``paths`` (e.g. ``effectivePeriod.start``)."""
    for p in paths:
        node: Any = res
        for part in p.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return parse_fhir_datetime(node, p)
    return None


CLINICAL_DATE_PATHS = (
    "effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "onsetDateTime", "onsetPeriod.start",
    "performedDateTime", "performedPeriod.start", "occurrenceDateTime", "collection.collectedDateTime",
    "collection.collectedPeriod.start", "authoredOn", "recordedDate", "period.start", "billablePeriod.start",
    "started", "issued", "date", "created",
)


def resource_date(res: dict[str, Any]) -> datetime | None:
    """When a resource was clinically true (effective / onset / performed / ... / issued)."""
    return first_date(res, *CLINICAL_DATE_PATHS)


def number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError(path, "not a number")
    try:
        return float(value)
    except ValueError as e:
        raise FieldError(path, "not a number") from e


def quantity(q: Any, path: str) -> tuple[float | None, str | None]:
    """(value, unit) of a Quantity; a comparator such as ``<`` is kept out of the number."""
    if not isinstance(q, dict):
        raise FieldError(path, "not a Quantity")
    val = q.get("value")
    num = None if val is None else number(val, path + ".value")
    unit = clean(q.get("unit")) or clean(q.get("code"))
    return num, unit


def value_of(node: dict[str, Any], path: str = "") -> tuple[float | None, str | None, str | None, dict | None]:
    """(value_num, value_text, unit, codeable_concept) of an element's ``value[x]``."""
    pre = f"{path}." if path else ""
    if "valueQuantity" in node:
        num, unit = quantity(node["valueQuantity"], pre + "valueQuantity")
        comp = node["valueQuantity"].get("comparator") if isinstance(node["valueQuantity"], dict) else None
        return num, (f"{comp}{num:g}" if comp and num is not None else None), unit, None
    if "valueInteger" in node:
        return number(node["valueInteger"], pre + "valueInteger"), None, None, None
    if "valueDecimal" in node:
        return number(node["valueDecimal"], pre + "valueDecimal"), None, None, None
    if "valueCodeableConcept" in node:
        cc = node["valueCodeableConcept"]
        if not isinstance(cc, dict):
            raise FieldError(pre + "valueCodeableConcept", "not a CodeableConcept")
        return None, cc_text(cc), None, cc
    if "valueString" in node:
        return None, clean(node["valueString"]), None, None
    if "valueBoolean" in node:
        return None, "true" if node["valueBoolean"] else "false", None, None
    if "valueRange" in node:
        r = node["valueRange"] or {}
        low = quantity(r["low"], pre + "valueRange.low")[0] if "low" in r else None
        high = quantity(r["high"], pre + "valueRange.high")[0] if "high" in r else None
        return None, f"{low:g}-{high:g}" if low is not None and high is not None else None, None, None
    if "valueRatio" in node:
        r = node["valueRatio"] or {}
        n = quantity(r.get("numerator") or {}, pre + "valueRatio.numerator")[0]
        d = quantity(r.get("denominator") or {}, pre + "valueRatio.denominator")[0]
        return (n / d if n is not None and d else None), None, None, None
    return None, None, None, None


def profiles(res: dict[str, Any]) -> list[str]:
    meta = res.get("meta") or {}
    return [p.split("|")[0] for p in meta.get("profile") or [] if isinstance(p, str)]


def extension(res: dict[str, Any], url_suffix: str) -> dict[str, Any] | None:
    """The first extension whose url ends with ``url_suffix``."""
    for ext in res.get("extension") or []:
        if isinstance(ext, dict) and str(ext.get("url", "")).endswith(url_suffix):
            return ext
    return None


def category_codes(res: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    cats = res.get("category")
    if isinstance(cats, dict):
        cats = [cats]
    for cc in cats or []:
        out |= {c.lower() for c in codes(cc)}
    return out


def status_from(cc: dict | None, text: str | None) -> str | None:
    """positive / negative / equivocal / indeterminate from coded answers, else from leading words."""
    for code in codes(cc):
        if code in K.STATUS_CODES:
            return K.STATUS_CODES[code]
    for t in filter(None, [text] + [clean(c.get("display")) for c in codings(cc)]):
        for pattern, status in K.STATUS_WORDS:
            if re.search(pattern, t, re.I):
                return status
    return None


def method_text(res: dict[str, Any], default: str | None) -> str | None:
    return cc_text(res.get("method")) or default
