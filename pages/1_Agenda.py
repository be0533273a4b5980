"""Board agenda: the upcoming meeting's cases, what each is missing and what is flagged."""
from __future__ import annotations

import streamlit as st

from core.board.readiness import readiness_label
from pages import _cached as c

version = c.require_store()
mask = st.session_state.get("mask_phi", True)
meetings = c.meetings(version)
if meetings.height == 0:
    st.info("No board meetings in the store. `python -m core build-demo` seeds an upcoming meeting.")
    st.stop()
up = c.upcoming_meeting(version)
ids = meetings["meeting_id"].to_list()
labels = {r["meeting_id"]: f"{r['scheduled_at']:%a %d %b %Y %H:%M} · {r['title']} ({r['n_cases']} cases)"
          for r in meetings.iter_rows(named=True)}
default = st.session_state.get("meeting_id") or (up.meeting_id if up else ids[0])
mid = st.selectbox("Meeting", ids, index=ids.index(default) if default in ids else 0, format_func=labels.get,
                   key="agenda_meeting")
st.session_state["meeting_id"] = mid
st.title(labels[mid])

ag = c.agenda(version, mid)
if ag.height == 0:
    st.info("This meeting has no cases yet.")
    st.stop()
ready = sum(1 for r in ag.iter_rows(named=True) if not r["missing"] and r["n_discrepancies"] == 0)
m = st.columns(4)
m[0].metric("Cases", ag.height)
m[1].metric("Fully ready", ready)
m[2].metric("Open discrepancies", int(ag["n_discrepancies"].sum()))
m[3].metric("Planned minutes", int(ag["minutes_planned"].fill_null(0).sum()))
if st.button("▶ Start presentation", type="primary", key="start_presentation"):
    st.session_state["patient_id"] = ag["patient_id"][0]
    st.switch_page("pages/6_Present.py")

for r in ag.iter_rows(named=True):
    with st.container(border=True):
        left, mid_col, right = st.columns([5, 4, 2])
        who = r["patient_id"]
        left.markdown(f"**{r['position']}. {who}** · {r['cancer_type'] or '?'} · stage {r['stage'] or '?'} · "
                      f"{r['minutes_planned'] or '?'} min · presenter {r['presenter'] or '?'}")
        left.caption("Question: " + ("•••" if mask else (r["question"] or "—")))
        mid_col.markdown(readiness_label(r))
        if r["risk"] is not None:
            mid_col.caption(f"Model 12-month progression risk {r['risk']:.2f} ({r['risk_low']:.2f}–{r['risk_high']:.2f})")
        if right.button("Prepare", key=f"prep_{who}"):
            st.session_state["patient_id"] = who
            st.switch_page("pages/2_Patient.py")
