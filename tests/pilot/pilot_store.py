"""A hand-built pair of stores (evidence + board) whose pilot numbers are computed by hand in the tests.

Meetings M1 = 2025-06-04 07:30 and M2 = 2025-06-11 07:30; the window is June 2025.

| patient | meeting | decision                        | risk | ready->decided | after the decision            | outcome  |
|---------|---------|---------------------------------|------|----------------|-------------------------------|----------|
| P1      | M1      | accepted (06-04 08:00)          | 0.8  | 46 h (prep 26) | progression +200 d            | True     |
| P2      | M1      | accepted (06-04 08:10)          | 0.2  | 24 h           | last note +400 d, no event    | False    |
| P3      | M1      | overridden, patient preference  | 0.3  | 20 h           | last note +100 d, no event    | null     |
| P4      | M1      | not used                        | –    | 12 h           | death +300 d                  | True     |
| P5      | M2      | accepted, then modified (wins)  | 0.6  | 48 h           | progression BEFORE; lab +500 d | False   |
| P6      | M2      | accepted, but not on the agenda | 0.5  | –              | –                             | excluded |
| P7      | M1      | accepted on 09-30 (outside)     | 0.5  | –              | –                             | excluded |
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from core.board.decisions import Decision, ModelAgreement, OverrideReason, Recommendation, record_decision
from core.ingest.base import insert_rows
from core.store import db

M1 = datetime(2025, 6, 4, 7, 30)
M2 = datetime(2025, 6, 11, 7, 30)
WINDOW = (date(2025, 6, 1), date(2025, 6, 30))
D1 = datetime(2025, 6, 4, 8, 0)   # P1's decision
_n = 0


def _prov(pid: str, modality: str, at: datetime | None) -> dict:
    global _n
    _n += 1
    return {"patient_id": pid, "modality": modality, "observed_at": at, "source_uri": f"test://{pid}/{_n}",
            "source_sha256": f"{_n:064d}", "locator": f"row {_n}", "extractor": "test", "extractor_version": "1",
            "ingested_at": datetime(2027, 1, 1), "ingest_run_id": "test"}


def _patient(pid: str, cancer: str, sex: str, age: float, dx: date) -> dict:
    return {"patient_id": pid, "cancer_type": cancer, "sex": sex, "age_at_diagnosis_years": age, "diagnosis_date": dx,
            "site": "Site A", "cohort": "historical"}


def build_evidence(root: Path) -> None:
    with db.evidence_writer(root, fresh=True) as con:
        insert_rows(con, "patients", [
            _patient("P1", "lung", "female", 60.0, date(2025, 5, 4)),
            _patient("P2", "breast", "female", 48.0, date(2025, 5, 1)),
            _patient("P3", "colorectal", "male", 70.0, date(2025, 5, 1)),
            _patient("P4", "lung", "male", 77.0, date(2025, 5, 1)),
            _patient("P5", "lung", "male", 66.0, date(2024, 1, 10)),
            _patient("P6", "lung", "male", 66.0, date(2025, 5, 1)),
            _patient("P7", "lung", "male", 66.0, date(2025, 5, 1)),
        ])
        insert_rows(con, "board_meetings", [
            {"meeting_id": "M1", "scheduled_at": M1, "site": "Site A", "title": "board"},
            {"meeting_id": "M2", "scheduled_at": M2, "site": "Site A", "title": "board"},
        ])
        cases = [("M1", "P1", D1 - timedelta(hours=72), D1 - timedelta(hours=46)),
                 ("M1", "P2", M1 - timedelta(hours=40), D1 + timedelta(minutes=10) - timedelta(hours=24)),
                 ("M1", "P3", M1 - timedelta(hours=40), D1 + timedelta(minutes=20) - timedelta(hours=20)),
                 ("M1", "P4", M1 - timedelta(hours=40), D1 + timedelta(minutes=30) - timedelta(hours=12)),
                 ("M2", "P5", M2 - timedelta(hours=72), datetime(2025, 6, 11, 9, 0) - timedelta(hours=48)),
                 ("M1", "P7", M1 - timedelta(hours=40), M1 - timedelta(hours=30))]
        insert_rows(con, "board_cases", [
            {"meeting_id": m, "patient_id": p, "position": i + 1, "question": "q", "added_at": a, "ready_at": r,
             "minutes_planned": 5, "presenter": "x"} for i, (m, p, a, r) in enumerate(cases)])
        insert_rows(con, "imaging_series", [
            _prov("P1", "imaging", datetime(2025, 5, 20)) | {"series_uid": "s1"},
            _prov("P2", "imaging", datetime(2025, 5, 20)) | {"series_uid": "s2"},
            _prov("P3", "imaging", datetime(2025, 7, 1)) | {"series_uid": "s3"},   # after the decision
        ])
        insert_rows(con, "specimens", [
            _prov("P1", "genomics", datetime(2025, 6, 10)) | {"specimen_id": "sp1"},  # after the decision
            _prov("P2", "genomics", datetime(2025, 5, 15)) | {"specimen_id": "sp2"},
            _prov("P4", "genomics", None) | {"specimen_id": "sp4"},                  # undated: counts as on file
        ])
        insert_rows(con, "notes", [
            _prov("P1", "notes", datetime(2025, 5, 25)) | {"note_id": "n1"},
            _prov("P2", "notes", datetime(2025, 5, 25)) | {"note_id": "n2a"},
            _prov("P2", "notes", D1 + timedelta(days=400)) | {"note_id": "n2b"},
            _prov("P3", "notes", D1 + timedelta(days=100)) | {"note_id": "n3"},
            _prov("P5", "notes", datetime(2025, 1, 5)) | {"note_id": "n5"},
        ])
        insert_rows(con, "outcomes", [
            _prov("P1", "clinical", D1 + timedelta(days=200)) | {"outcome_id": "o1", "event": "progression"},
            _prov("P4", "clinical", D1 + timedelta(days=300)) | {"outcome_id": "o4", "event": "death"},
            _prov("P5", "clinical", M2 - timedelta(days=30)) | {"outcome_id": "o5", "event": "progression"},
        ])
        insert_rows(con, "labs", [_prov("P5", "labs", M2 + timedelta(days=500)) | {"lab_id": "l5", "name": "LDH"}])


def _decision(meeting: str, pid: str, at: datetime, agreement: ModelAgreement, risk: float | None,
              reason: OverrideReason = OverrideReason.NONE) -> Decision:
    return Decision(meeting_id=meeting, patient_id=pid, recommendation_category=Recommendation.SYSTEMIC,
                    recommendation_text="", model_agreement=agreement, reason_category=reason, reason_text="",
                    attendees=("oncology",), decided_by="tester", model_risk=risk, decided_at=at)


DECISIONS = [
    _decision("M1", "P1", D1, ModelAgreement.ACCEPTED, 0.8),
    _decision("M1", "P2", D1 + timedelta(minutes=10), ModelAgreement.ACCEPTED, 0.2),
    _decision("M1", "P3", D1 + timedelta(minutes=20), ModelAgreement.OVERRIDDEN, 0.3,
              OverrideReason.PATIENT_PREFERENCE),
    _decision("M1", "P4", D1 + timedelta(minutes=30), ModelAgreement.NOT_USED, None, OverrideReason.MISSING_DATA),
    _decision("M2", "P5", datetime(2025, 6, 11, 8, 0), ModelAgreement.ACCEPTED, 0.6),
    _decision("M2", "P5", datetime(2025, 6, 11, 9, 0), ModelAgreement.MODIFIED, 0.6, OverrideReason.COMORBIDITY),
    _decision("M2", "P6", datetime(2025, 6, 11, 9, 10), ModelAgreement.ACCEPTED, 0.5),
    _decision("M1", "P7", datetime(2025, 9, 30, 9, 0), ModelAgreement.ACCEPTED, 0.5),
]


def build_board(root: Path) -> db.BoardWriter:
    w = db.BoardWriter(db.board_path(root))
    for d in DECISIONS:
        record_decision(w, d, {"test": True}, "evidence-test")
    return w
