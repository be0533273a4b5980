"""Read a FHIR JSON source (Bundle, single resource or NDJSON bulk export) into entries and resolve references."""
from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

_TYPE_ID = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-._]{1,64})(?:/_history/[^/]+)?$")


@dataclass(frozen=True)
class Entry:
    """One resource of a source and where it sits (``entry[3]``, ``line 12``, ``resource``)."""

    position: str
    full_url: str | None
    resource: dict[str, Any]

    @property
    def rtype(self) -> str:
        return str(self.resource.get("resourceType") or "")

    @property
    def rid(self) -> str | None:
        rid = self.resource.get("id")
        return str(rid) if rid not in (None, "") else None

    @property
    def locator(self) -> str:
        """``ResourceType/id`` (the provenance locator); the position stands in for a missing id."""
        return f"{self.rtype or 'Resource'}/{self.rid or self.position}"


@dataclass(frozen=True)
class Problem:
    position: str
    reason: str
    severity: str = "error"


@dataclass
class FhirSource:
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    bundles: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (position, Bundle without entries)
    ndjson: bool = False


def read_fhir(data: bytes, *, ndjson: bool = False) -> FhirSource:
    """Parse FHIR JSON bytes.

    Raises:
        ValueError: the bytes are neither a JSON FHIR resource nor NDJSON of resources.
    """
    text = data.decode("utf-8-sig")
    out = FhirSource(ndjson=ndjson)
    if not ndjson:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            if e.msg != "Extra data":
                raise ValueError(f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from e
            ndjson = out.ndjson = True
        else:
            if not isinstance(doc, dict) or "resourceType" not in doc:
                raise ValueError("JSON top level is not a FHIR resource (no resourceType)")
            _expand(doc, "resource" if doc.get("resourceType") != "Bundle" else "", None, out)
            return out
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            res = json.loads(line)
        except json.JSONDecodeError as e:
            out.problems.append(Problem(f"line {lineno}", f"not valid JSON (column {e.colno}: {e.msg})"))
            continue
        if not isinstance(res, dict) or "resourceType" not in res:
            out.problems.append(Problem(f"line {lineno}", "not a FHIR resource (no resourceType)"))
            continue
        _expand(res, f"line {lineno}", None, out)
    return out


def _expand(res: dict[str, Any], position: str, full_url: str | None, out: FhirSource) -> None:
    if res.get("resourceType") != "Bundle":
        out.entries.append(Entry(position, full_url, res))
        return
    out.bundles.append((position or "Bundle", {k: v for k, v in res.items() if k != "entry"}))
    entries = res.get("entry") or []
    if not isinstance(entries, list):
        out.problems.append(Problem(f"{position or 'Bundle'}.entry", "Bundle.entry is not a list"))
        return
    prefix = f"{position} " if position else ""
    for i, ent in enumerate(entries):
        pos = f"{prefix}entry[{i}]"
        if not isinstance(ent, dict):
            out.problems.append(Problem(pos, "entry is not a JSON object"))
            continue
        if (ent.get("search") or {}).get("mode") == "outcome":
            continue  # OperationOutcome about the search itself, not patient data
        inner = ent.get("resource")
        if inner is None:
            out.problems.append(Problem(pos, "entry without a resource (request-only entry) skipped", "warning"))
            continue
        if not isinstance(inner, dict) or not inner.get("resourceType"):
            out.problems.append(Problem(pos, "entry.resource has no resourceType"))
            continue
        _expand(inner, pos, ent.get("fullUrl") if isinstance(ent.get("fullUrl"), str) else None, out)


class References:
    """Resolve ``Reference.reference`` strings to entries of the same source (fullUrl first, then Type/id)."""

    def __init__(self, entries: list[Entry]) -> None:
        self.by_url: dict[str, int] = {}
        self.by_type_id: dict[tuple[str, str], int] = {}
        self.by_id: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(entries):
            if e.full_url:
                self.by_url.setdefault(e.full_url, i)
            if e.rid:
                self.by_type_id.setdefault((e.rtype, e.rid), i)
                self.by_id[e.rid].append(i)

    def resolve(self, ref: str) -> int | None:
        """Index of the entry a reference points to, or ``None`` when it is not in this source."""
        if not ref or ref.startswith("#"):
            return None
        if ref in self.by_url:
            return self.by_url[ref]
        m = _TYPE_ID.search(ref)
        if m and (m.group(1), m.group(2)) in self.by_type_id:
            return self.by_type_id[(m.group(1), m.group(2))]
        if ref.startswith("urn:uuid:"):  # some exporters reuse the resource id as the uuid
            hits = self.by_id.get(ref[len("urn:uuid:"):], [])
            if len(hits) == 1:
                return hits[0]
        return None


def logical_id(ref: str) -> str | None:
    """The id a reference names: ``Patient/x`` -> x, ``urn:uuid:x`` -> x."""
    if ref.startswith("urn:uuid:"):
        return ref[len("urn:uuid:"):] or None
    m = _TYPE_ID.search(ref)
    return m.group(2) if m else None


def reference_type(ref: str) -> str | None:
    """The resource type a literal reference names (``Patient/x`` -> Patient), ``None`` for urn:uuid forms."""
    if ref.startswith("urn:"):
        return None
    m = _TYPE_ID.search(ref)
    return m.group(1) if m else None
