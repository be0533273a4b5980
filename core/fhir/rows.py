"""Row, Mapped and Hints: what a resource mapper hands back to the FHIR ingester."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Row:
    """One evidence row of ``table`` without provenance; ``part`` tells apart several rows of one resource."""

    table: str
    values: dict[str, Any]
    modality: str
    observed_at: datetime | None
    part: str = ""


@dataclass
class Mapped:
    rows: list[Row] = field(default_factory=list)
    patient: dict[str, Any] = field(default_factory=dict)  # attributes for IngestContext.update_patient
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Hints:
    """What the ingester resolved inside the bundle for one resource."""

    stage: str | None = None                   # stage group of the Condition, from a staging Observation
    medication: dict[str, Any] | None = None   # the Medication a medicationReference points to
    specimen_id: str | None = None
    sample_id: str | None = None


class ObsKind(StrEnum):
    STAGE_GROUP = "stage_group"
    TNM = "tnm"
    PERFORMANCE = "performance"
    DISEASE_STATUS = "disease_status"
    VARIANT = "variant"
    TMB = "tmb"
    MSI = "msi"
    TUMOR_MARKER = "tumor_marker"
    LAB = "lab"
    CLINICAL = "clinical"


def _date(dt: datetime | None) -> date | None:
    return dt.date() if dt else None
