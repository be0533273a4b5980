"""Decision capture form (UI only): structured category, agreement with the model, attendees."""
from __future__ import annotations

import json

import streamlit as st

from core.board.decisions import Decision, ModelAgreement, OverrideReason, Recommendation, record_decision
from pages import _cached as c


def render(meeting_id: str, patient_id: str, summary, *, user: str) -> None:
    with st.form(key=f"decision_{patient_id}", clear_on_submit=True):
        st.markdown("#### Record the board's decision")
        a, b = st.columns(2)
        rec = a.selectbox("Recommendation", list(Recommendation), format_func=str, key="dec_rec")
        agree = b.radio("Agreement with the model", list(ModelAgreement), format_func=str, horizontal=True,
                        key="dec_agree")
        reason = a.selectbox("Reason (if modified / overridden / not used)", list(OverrideReason), format_func=str,
                             key="dec_reason")
        attendees = b.text_input("Attendees (comma separated)", key="dec_attendees",
                                 placeholder="medical oncology, radiology, pathology, surgery")
        text = st.text_area("Recommendation details", key="dec_text", height=80)
        why = st.text_area("Reason details", key="dec_why", height=60)
        ok = st.form_submit_button("Save decision", type="primary")
    if not ok:
        return
    pred = summary.prediction or {}
    try:
        d = Decision(meeting_id=meeting_id, patient_id=patient_id, recommendation_category=rec,
                     recommendation_text=text, model_agreement=agree, reason_category=reason, reason_text=why,
                     attendees=tuple(x.strip() for x in attendees.split(",") if x.strip()), decided_by=user,
                     prediction_id=pred.get("prediction_id"), model_risk=pred.get("risk"))
    except ValueError as e:
        st.error(f"Not saved: {e}")
        return
    snapshot = {"summary": json.loads(json.dumps(summary.to_dict(), default=str)), "store_version": c.store_version()}
    did = record_decision(c.board_writer(), d, snapshot, c.store_version())
    st.success(f"Decision saved ({did[:8]}); snapshot of what was shown stored with its hash.")
