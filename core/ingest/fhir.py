"""FHIR R4 ingest: Bundles, single resources and NDJSON bulk exports (mCODE, Synthea).

Strictness policy (stated once, here):
- Every mapped resource is validated with fhir.resources (R4B). A violation is a
  *warning* naming ``ResourceType/id``, the entry and the field path; the resource
  is then read leniently as a plain dict (real exports break rules such as the id
  pattern, and the data is still wanted).
- A value the mapping needs but cannot use (unparseable date, non-numeric value,
  unresolvable subject) is an *error* for that resource only; the other entries land.
- Patients are linked by identifier (MRN system first, then an MR-typed identifier,
  then the first one). Each Patient's logical id is also registered under
  ``urn:fhir:Patient`` so ``Patient/x`` references in later files (bulk export) resolve.
  A file without any Patient resource links its subjects by that logical id, with a warning.
- Every resource tied to a patient is also kept raw in ``fhir_resources``.
"""
from __future__ import annotations

import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

from core.fhir.bundle import Entry, References, logical_id, read_fhir, reference_type
from core.fhir.mapping import MAPPERS, Hints, ObsKind, observation_kind, specimen_ids, stage_of
from core.fhir.read import FieldError, codings, profiles, resource_date
from core.fhir.validate import validation_issues
from core.ingest.base import MRN_SYSTEM, IngestContext, IngestError, SourceFile, stable_id
from core.store.schema import Modality

logger = logging.getLogger(__name__)

FHIR_PATIENT_SYSTEM = "urn:fhir:Patient"  # patient index system for FHIR logical ids
SUFFIXES = {".json", ".ndjson", ".jsonl"}
_RESOURCE_TYPE = re.compile(rb'"resourceType"\s*:\s*"[A-Z][A-Za-z]+"')
ID_COLUMN = {
    "conditions": "condition_id", "biomarkers": "biomarker_id", "labs": "lab_id", "treatments": "treatment_id",
    "outcomes": "outcome_id", "variants": "variant_id", "clinical_observations": "observation_id",
}
SUBJECT_FIELDS = ("subject", "patient", "beneficiary")


def _is_mrn_typed(identifier: dict[str, Any]) -> bool:
    """Identifier.type is v2-0203 MR (medical record number)."""
    return "MR" in {str(c.get("code")) for c in codings(identifier.get("type"))}


class FhirIngester:
    kind = "fhir"
    extractor = "core.ingest.fhir"
    version = "1.0"
    priority = 10

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() not in SUFFIXES:
            return False
        return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and bool(_RESOURCE_TYPE.search(head))

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        try:
            parsed = read_fhir(src.read_bytes(), ndjson=src.path.suffix.lower() in (".ndjson", ".jsonl"))
        except (ValueError, UnicodeDecodeError) as e:
            raise IngestError(src.uri, "file", f"{e}; expected a FHIR JSON resource, Bundle or NDJSON export") from e
        for p in parsed.problems:
            ctx.error(src, IngestError(src.uri, p.position, p.reason, severity=p.severity))
        for position, shell in parsed.bundles:
            issues = validation_issues(shell)
            if issues:
                loc = f"Bundle/{shell['id']}" if isinstance(shell.get("id"), str) else position
                ctx.error(src, IngestError(src.uri, loc, f"{position}: FHIR R4B validation: {'; '.join(issues)}; "
                                           "read leniently", error_type="FhirValidation", severity="warning"))
        FileIngest(ctx, src, parsed.entries).run()


class FileIngest:
    """State for one source: entry index, linked patients, hints resolved across entries."""

    def __init__(self, ctx: IngestContext, src: SourceFile, entries: list[Entry]) -> None:
        self.ctx, self.src, self.entries = ctx, src, entries
        self.refs = References(entries)
        self.pids: dict[int, str | None] = {}
        self.has_patient = any(e.rtype == "Patient" for e in entries)
        self.alias_warned: set[str] = set()
        self.unlinked: Counter[str] = Counter()
        self.stage_hints: dict[int, str] = {}
        self.diagnosed: set[str] = set()

    def run(self) -> None:
        for i, e in enumerate(self.entries):
            if e.rtype == "Patient":
                self.pids[i] = self._link_patient_entry(e)
        self._collect_stage_hints()
        for i, e in enumerate(self.entries):
            self._ingest_entry(i, e)
        if self.unlinked:
            kinds = ", ".join(f"{t} x{n}" for t, n in sorted(self.unlinked.items()))
            n = sum(self.unlinked.values())
            self._warn("file", f"{n} resources not tied to a patient were not stored ({kinds})")
        self._age_at_diagnosis()

    # ---- errors --------------------------------------------------------------------------
    def _warn(self, locator: str, reason: str, error_type: str = "FhirMapping") -> None:
        self.ctx.error(self.src, IngestError(self.src.uri, locator, reason, error_type=error_type, severity="warning"))

    def _fail(self, e: Entry, reason: str, error_type: str = "FhirMapping", *, path: str | None = None) -> None:
        """An error for one resource: ``entry[2].resource.valueQuantity.value: not a number``."""
        if path is None:
            where = e.position
        elif "entry[" in e.position:
            where = f"{e.position}.resource.{path}"
        else:
            where = f"{e.position}: {e.rtype}.{path}"
        self.ctx.error(self.src, IngestError(self.src.uri, e.locator, f"{where}: {reason}", error_type=error_type))

    # ---- patients ---------------------------------------------------------------------------
    def _lookup(self, system: str, value: str) -> str | None:
        # fetchall, not fetchone: duckdb 2 keeps a half-read result open and refuses the next register()
        rows = self.ctx.con.execute("SELECT patient_id FROM patient_identifiers WHERE system = ? AND value = ?",
                                    [system, value]).fetchall()
        return rows[0][0] if rows else None

    def _register(self, system: str, value: str, pid: str) -> None:
        self.ctx.register_identifier(system, value, pid, self.src)

    def _link_patient_entry(self, e: Entry) -> str | None:
        """Link a Patient by its identifiers and logical id; collisions and fallbacks are reported."""
        res = e.resource
        idents = [(str(i["system"]).strip(), str(i["value"]).strip(), _is_mrn_typed(i))
                  for i in res.get("identifier") or [] if isinstance(i, dict) and i.get("system") and i.get("value")]
        primary = (next((x for x in idents if x[0] == MRN_SYSTEM), None) or next((x for x in idents if x[2]), None)
                   or (idents[0] if idents else None))
        keys: list[tuple[str, str]] = [(primary[0], primary[1])] if primary else []
        if e.rid:
            keys.append((FHIR_PATIENT_SYSTEM, e.rid))
        if not keys:
            self._fail(e, "Patient has neither an identifier (with system and value) nor an id: cannot link it")
            return None
        if primary is None:
            self._warn(e.locator, f"{e.position}: Patient has no identifier with system and value; linked by its "
                       f"resource id under system {FHIR_PATIENT_SYSTEM}")
        known = {k: pid for k in keys if (pid := self._lookup(*k))}
        pid = known.get(keys[0]) or next(iter(known.values()), None)
        collision = len(set(known.values())) > 1
        if primary and keys[0] not in known and pid is not None and self._has_other_value(pid, primary[0], primary[1]):
            collision, pid = True, None  # the logical id is taken by a patient with another MRN: never merge them
        if collision:
            self._fail(e, "the Patient's identifier and its logical id are linked to different patients "
                          "(identifier collision); linked by its primary identifier only",
                       error_type="IdentifierCollision")
            keys = keys[:1]
        if pid is None:
            try:
                pid = self.ctx.link_patient(keys[0][0], keys[0][1], self.src)
            except IngestError as err:
                self._fail(e, err.reason)
                return None
        for k in keys:
            if k not in known:
                self._register(*k, pid)
        if primary and (primary[0] == MRN_SYSTEM or primary[2]):
            self.ctx.update_patient(pid, mrn=primary[1])
        return pid

    def _has_other_value(self, pid: str, system: str, value: str) -> bool:
        rows = self.ctx.con.execute("SELECT 1 FROM patient_identifiers "
                                    "WHERE patient_id = ? AND system = ? AND value <> ?", [pid, system, value]).fetchall()
        return bool(rows)

    def _subject(self, e: Entry) -> str | None:
        """patient_id of the resource's subject/patient; ``None`` when it names none (FieldError if unresolvable)."""
        res = e.resource
        ref_field = next((f for f in SUBJECT_FIELDS if isinstance(res.get(f), dict)), None)
        if ref_field is None:
            return None
        ref = res[ref_field]
        if isinstance(ref.get("reference"), str):
            target = self.refs.resolve(ref["reference"])
            if target is not None:
                target_type = self.entries[target].rtype
                if target_type != "Patient":
                    raise FieldError(f"{ref_field}.reference", f"points to a {target_type}, not a Patient")
                pid = self.pids.get(target)
                if pid is None:
                    raise FieldError(f"{ref_field}.reference", "points to a Patient that could not be linked")
                return pid
            if ref.get("type") not in (None, "Patient") or reference_type(ref["reference"]) not in (None, "Patient"):
                raise FieldError(f"{ref_field}.reference", "subject is not a Patient reference")
            lid = logical_id(ref["reference"])
            if lid is None:
                raise FieldError(f"{ref_field}.reference", "not a resolvable reference")
            pid = self._lookup(FHIR_PATIENT_SYSTEM, lid)
            if pid is not None:
                return pid
            if self.has_patient:
                raise FieldError(f"{ref_field}.reference", "Patient reference not found in this bundle nor in the "
                                 "patient index (ingest the Patient first, or include it in the bundle)")
            pid = self.ctx.link_patient(FHIR_PATIENT_SYSTEM, lid, self.src)
            if lid not in self.alias_warned:
                self.alias_warned.add(lid)
                self._warn(e.locator, f"{e.position}: no Patient resource in this file; subjects linked by the "
                           f"reference's logical id under system {FHIR_PATIENT_SYSTEM} (a Patient with that id "
                           "ingested later joins the same patient)")
            return pid
        ident = ref.get("identifier")
        if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
            system, value = str(ident["system"]).strip(), str(ident["value"]).strip()
            return self._lookup(system, value) or self.ctx.link_patient(system, value, self.src)
        raise FieldError(ref_field, "reference has neither a reference nor an identifier with system and value")

    # ---- cross-entry hints ------------------------------------------------------------------
    def _collect_stage_hints(self) -> None:
        for i, e in enumerate(self.entries):
            if e.rtype == "Observation" and observation_kind(e.resource) is ObsKind.STAGE_GROUP:
                try:
                    stage = stage_of(e.resource)
                except FieldError:
                    continue  # reported when the Observation itself is mapped
                for f in e.resource.get("focus") or []:
                    t = self.refs.resolve(str((f or {}).get("reference", "")))
                    if t is not None and self.entries[t].rtype == "Condition":
                        self.stage_hints.setdefault(t, stage)
            if e.rtype == "Condition":
                for st in e.resource.get("stage") or []:
                    for a in (st or {}).get("assessment") or []:
                        t = self.refs.resolve(str((a or {}).get("reference", "")))
                        if t is not None and observation_kind(self.entries[t].resource) is ObsKind.STAGE_GROUP:
                            try:
                                self.stage_hints.setdefault(i, stage_of(self.entries[t].resource))
                            except FieldError:
                                pass  # the stage Observation's own error is recorded when it is mapped

    def _hints(self, i: int, e: Entry) -> Hints:
        res = e.resource
        med = None
        mref = (res.get("medicationReference") or {}).get("reference")
        if isinstance(mref, str):
            if mref.startswith("#"):
                contained = [c for c in res.get("contained") or [] if isinstance(c, dict)]
                med = next((c for c in contained if c.get("id") == mref[1:]), None)
            elif (t := self.refs.resolve(mref)) is not None:
                med = self.entries[t].resource
        spec_id = sample_id = None
        sref = (res.get("specimen") or {}).get("reference") if isinstance(res.get("specimen"), dict) else None
        if isinstance(sref, str) and (t := self.refs.resolve(sref)) is not None:
            spec_id, sample_id = specimen_ids(self.entries[t].resource)
        return Hints(stage=self.stage_hints.get(i), medication=med, specimen_id=spec_id, sample_id=sample_id)

    # ---- one entry ---------------------------------------------------------------------------
    def _ingest_entry(self, i: int, e: Entry) -> None:
        res = e.resource
        mapper = MAPPERS.get(e.rtype)
        if e.rtype == "Patient":
            pid = self.pids.get(i)
            if pid is None:
                return
        else:
            try:
                pid = self._subject(e)
            except FieldError as err:
                self._fail(e, err.reason, path=err.path)
                return
            except IngestError as err:
                self._fail(e, err.reason)
                return
            if pid is None:
                if mapper is None:
                    self.unlinked[e.rtype] += 1
                else:
                    self._fail(e, f"{e.rtype} names no subject/patient: cannot link it to a patient")
                return
        if mapper is not None:
            issues = validation_issues(res)
            if issues:
                self._warn(e.locator, f"{e.position}: FHIR R4B validation: {'; '.join(issues)}; read leniently",
                           error_type="FhirValidation")
        self._store_raw(e, pid)
        if mapper is None:
            return
        try:
            mapped = mapper(res, self._hints(i, e))
        except FieldError as err:
            self._fail(e, err.reason, path=err.path)
            return
        for w in mapped.warnings:
            self._warn(e.locator, f"{e.position}: {w}")
        for row in mapped.rows:
            self._add(e, pid, row)
        if mapped.patient:
            self.ctx.update_patient(pid, **mapped.patient)
            if mapped.patient.get("diagnosis_date"):
                self.diagnosed.add(pid)

    def _add(self, e: Entry, pid: str, row: Any) -> None:
        prov = self.ctx.provenance(self.src, INGESTER, patient_id=pid, modality=row.modality, locator=e.locator,
                                   observed_at=row.observed_at)
        values = dict(row.values)
        if row.table in ID_COLUMN:
            values[ID_COLUMN[row.table]] = stable_id(self.src.sha256, e.locator, e.position, row.table, row.part)
        elif row.table == "specimens":
            owners = self.ctx.con.execute("SELECT patient_id FROM specimens WHERE specimen_id = ?",
                                          [values["specimen_id"]]).fetchall()
            if owners and owners[0][0] != pid:
                self._fail(e, "specimen identifier already belongs to another patient (identifier collision)",
                           error_type="IdentifierCollision")
                return
        self.ctx.add(row.table, {**values, **prov})

    def _store_raw(self, e: Entry, pid: str) -> None:
        try:
            observed = resource_date(e.resource)
        except FieldError:
            observed = None  # the mapping reports the bad date for mapped types
        prof = profiles(e.resource)
        prov = self.ctx.provenance(self.src, INGESTER, patient_id=pid, modality=Modality.CLINICAL,
                                   locator=e.locator, observed_at=observed)
        self.ctx.add("fhir_resources", {
            "resource_key": stable_id(self.src.sha256, e.locator, e.position), "resource_type": e.rtype,
            "resource_id": e.rid, "profile": prof[0] if prof else None,
            "json": json.dumps(e.resource, separators=(",", ":"), ensure_ascii=False), **prov})

    def _age_at_diagnosis(self) -> None:
        for pid in sorted(self.diagnosed):
            rows = self.ctx.con.execute("SELECT birth_date, diagnosis_date FROM patients WHERE patient_id = ?",
                                        [pid]).fetchall()
            row = rows[0] if rows else None
            if row and row[0] and row[1]:
                self.ctx.update_patient(pid, age_at_diagnosis_years=round((row[1] - row[0]).days / 365.25, 1))


INGESTER = FhirIngester()
