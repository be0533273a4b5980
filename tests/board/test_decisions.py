import pytest

from core.board.decisions import (Decision, ModelAgreement, OverrideReason, Recommendation, case_history,
                                  record_decision, verify_snapshot)
from core.governance import audit
from core.store.db import BoardWriter


def _decision(**kw):
    base = dict(meeting_id="M1", patient_id="PT1", recommendation_category=Recommendation.TARGETED,
                recommendation_text="osimertinib", model_agreement=ModelAgreement.ACCEPTED,
                reason_category=OverrideReason.NONE, reason_text="", attendees=("onc", "rad"), decided_by="dr.a")
    base.update(kw)
    return Decision(**base)


def test_decision_snapshot_and_audit(tmp_path):
    w = BoardWriter(tmp_path / "b.duckdb")
    did = record_decision(w, _decision(), {"risk": 0.31, "evidence": [1, 2]}, "evidence-x")
    hist = case_history(w, "PT1")
    assert hist.height == 1 and hist["model_agreement"][0] == "accepted"
    assert verify_snapshot(w, did)
    with w.transaction() as cur:  # the data behind a snapshot changing must be detectable
        cur.execute("UPDATE evidence_snapshots SET payload_json = '{\"risk\":0.9}'")
    assert not verify_snapshot(w, did)
    assert audit.verify(w.read()).ok
    w.close()


@pytest.mark.parametrize("kw,msg", [
    ({"attendees": ()}, "attendee"),
    ({"model_agreement": ModelAgreement.OVERRIDDEN}, "reason"),
    ({"recommendation_category": "magic"}, "magic"),
])
def test_invalid_decisions_are_refused(kw, msg):
    with pytest.raises(ValueError, match=msg):
        _decision(**kw)
