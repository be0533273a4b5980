"""Board decisions with a hashed snapshot of what the board saw."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

import polars as pl

from core.governance import audit
from core.store.db import BoardWriter
from core.store.queries import frame


class Recommendation(StrEnum):
    SURGERY = "surgery"
    SYSTEMIC = "systemic therapy"
    TARGETED = "targeted therapy"
    IMMUNOTHERAPY = "immunotherapy"
    RADIOTHERAPY = "radiotherapy"
    CHEMORADIATION = "chemoradiation"
    TRIAL = "clinical trial referral"
    SURVEILLANCE = "surveillance"
    FURTHER_WORKUP = "further work-up (imaging / biopsy / sequencing)"
    BEST_SUPPORTIVE_CARE = "best supportive care"


class ModelAgreement(StrEnum):
    ACCEPTED = "accepted"
    MODIFIED = "modified"
    OVERRIDDEN = "overridden"
    NOT_USED = "not used"


class OverrideReason(StrEnum):
    NONE = "none"
    PATIENT_PREFERENCE = "patient preference"
    COMORBIDITY = "comorbidity / performance status"
    MISSING_DATA = "model missing key data"
    DISAGREE_EVIDENCE = "clinical evidence disagrees"
    GUIDELINE = "guideline recommends otherwise"
    TRIAL = "trial availability"
    OTHER = "other"


@dataclass(frozen=True)
class Decision:
    meeting_id: str
    patient_id: str
    recommendation_category: Recommendation
    recommendation_text: str
    model_agreement: ModelAgreement
    reason_category: OverrideReason
    reason_text: str
    attendees: tuple[str, ...]
    decided_by: str
    prediction_id: str | None = None
    model_risk: float | None = None
    decided_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(tzinfo=None))

    def __post_init__(self) -> None:
        Recommendation(self.recommendation_category)
        ModelAgreement(self.model_agreement)
        OverrideReason(self.reason_category)
        if not self.attendees:
            raise ValueError("a decision needs at least one attendee")
        if self.model_agreement in (ModelAgreement.MODIFIED, ModelAgreement.OVERRIDDEN) and \
                self.reason_category == OverrideReason.NONE:
            raise ValueError("a modified or overridden model output needs a reason category")
        if len(self.recommendation_text) > 4000 or len(self.reason_text) > 4000:
            raise ValueError("free text is limited to 4000 characters")


def canonical_json(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))


def record_decision(writer: BoardWriter, decision: Decision, snapshot: dict[str, Any], store_version: str | None) -> str:
    """Store the decision, the snapshot of what was shown (with its sha256) and an audit entry, atomically.

    Returns the decision id.
    """
    payload = canonical_json(snapshot)
    sha = hashlib.sha256(payload.encode()).hexdigest()
    snapshot_id = uuid.uuid4().hex
    decision_id = uuid.uuid4().hex
    with writer.transaction() as cur:
        cur.execute("INSERT INTO evidence_snapshots VALUES (?, ?, ?, ?, ?, ?)",
                    [snapshot_id, decision.patient_id, decision.decided_at, store_version, payload, sha])
        cur.execute("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            decision_id, decision.meeting_id, decision.patient_id, str(decision.recommendation_category),
            decision.recommendation_text, str(decision.model_agreement), str(decision.reason_category),
            decision.reason_text, "; ".join(decision.attendees), decision.decided_at, decision.decided_by,
            decision.prediction_id, decision.model_risk, snapshot_id, sha])
        audit.append(cur, decision.decided_by, "decision.record", decision.patient_id,
                     {"decision_id": decision_id, "meeting_id": decision.meeting_id, "snapshot_sha256": sha,
                      "agreement": str(decision.model_agreement)})
    return decision_id


def case_history(writer: BoardWriter, patient_id: str) -> pl.DataFrame:
    """Past decisions of a patient, newest first."""
    cur = writer.read()
    try:
        return frame(cur, """SELECT decided_at, meeting_id, recommendation_category, recommendation_text, model_agreement,
                                    reason_category, reason_text, attendees, decided_by, model_risk, snapshot_sha256,
                                    decision_id
                             FROM decisions WHERE patient_id = ? ORDER BY decided_at DESC""", [patient_id])
    finally:
        cur.close()


def verify_snapshot(writer: BoardWriter, decision_id: str) -> bool:
    """True when the stored snapshot still hashes to the value recorded with the decision."""
    cur = writer.read()
    try:
        row = cur.execute("""SELECT s.payload_json, d.snapshot_sha256 FROM decisions d
                             JOIN evidence_snapshots s USING (snapshot_id) WHERE d.decision_id = ?""",
                          [decision_id]).fetchone()
    finally:
        cur.close()
    return bool(row) and hashlib.sha256(row[0].encode()).hexdigest() == row[1]
