"""Board agenda: the meeting's cases by urgency (with why), what each is missing and what is flagged."""
from __future__ import annotations

import streamlit as st

from core.board.readiness import readiness_label
from core.board.urgency import OrderBasis, score_rules
from pages import _agenda_cached as ac
from pages import _cached as c
from pages._auth import current_user, page_guard

page_guard()

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
user = current_user()
rev = ac.board_revision()
urg = ac.urgency(version, mid, rev)
eff = ac.effective_order(version, mid, rev)
by_pid = {r["patient_id"]: r for r in urg.iter_rows(named=True)}

ready = sum(1 for r in ag.iter_rows(named=True) if not r["missing"] and r["n_discrepancies"] == 0)
m = st.columns(5)
m[0].metric("Cases", ag.height)
m[1].metric("Fully ready", ready)
m[2].metric("New progression", sum(1 for r in by_pid.values() if r["new_progression"]))
m[3].metric("Open discrepancies", int(ag["n_discrepancies"].sum()))
m[4].metric("Planned minutes", int(ag["minutes_planned"].fill_null(0).sum()))

orders = {"urgency": list(urg["patient_id"]), "position": list(ag["patient_id"])}
names = {"urgency": "By urgency", "position": "As submitted"}
if eff.basis == OrderBasis.MANUAL:
    orders = {"saved": list(eff.patient_ids), **orders}
    names["saved"] = f"Coordinator's order (saved by {eff.saved_by}, {eff.saved_at:%d %b %H:%M})"
if "_agenda_mode_next" in st.session_state:  # set by a save below, applied before the widget exists
    st.session_state["agenda_order_mode"] = st.session_state.pop("_agenda_mode_next")
if st.session_state.get("agenda_order_mode") not in orders:
    st.session_state.pop("agenda_order_mode", None)
mode = st.radio("Order", list(orders), format_func=names.get, horizontal=True, key="agenda_order_mode")
st.caption(score_rules())
shown = orders[mode]

if st.button("▶ Start presentation", type="primary", key="start_presentation"):
    if user is not None:  # the order used is recorded (and audited) when the board starts
        ac.save_order(mid, list(eff.patient_ids), user.username, eff.basis)
    st.session_state["patient_id"] = eff.patient_ids[0] if eff.patient_ids else shown[0]
    st.switch_page("pages/6_Present.py")

if user is not None and user.can("edit_agenda"):
    key = f"pending_order_{mid}"
    if sorted(st.session_state.get(key) or []) != sorted(shown):
        st.session_state[key] = list(shown)
    pending: list[str] = st.session_state[key]

    def _move() -> None:
        who, to = st.session_state["reorder_case"], int(st.session_state["reorder_to"])
        pending.remove(who)
        pending.insert(to - 1, who)

    with st.expander("Reorder by hand (coordinator)", expanded=False):
        r = st.columns([4, 2, 2])
        r[0].selectbox("Case", pending, key="reorder_case")
        r[1].number_input("Move to position", 1, len(pending), 1, key="reorder_to")
        r[2].button("Move", on_click=_move, key="reorder_move")
        st.markdown("Pending order: " + " → ".join(f"{i}. {p}" for i, p in enumerate(pending, 1)))
        b = st.columns(2)
        if b[0].button("Save this order", type="primary", key="reorder_save"):
            ac.save_order(mid, pending, user.username, OrderBasis.MANUAL)
            st.session_state["_agenda_mode_next"] = "saved"
            st.rerun()
        if b[1].button("Back to the urgency order", key="reorder_reset"):
            ac.save_order(mid, orders["urgency"], user.username, OrderBasis.URGENCY)
            st.session_state.pop(key, None)
            st.session_state["_agenda_mode_next"] = "urgency"
            st.rerun()

cases = {r["patient_id"]: r for r in ag.iter_rows(named=True)}
for i, who in enumerate(shown, 1):
    r, u = cases[who], by_pid.get(who, {})
    with st.container(border=True):
        left, mid_col, right = st.columns([5, 4, 2])
        left.markdown(f"**{i}. {who}** · {r['cancer_type'] or '?'} · stage {r['stage'] or '?'} · "
                      f"{r['minutes_planned'] or '?'} min · presenter {r['presenter'] or '?'}")
        left.caption("Question: " + ("•••" if mask else (r["question"] or "—")))
        if u:
            left.markdown(f"Urgency **{u['score']:g}** (rank {u['rank']}): {u['why']}")
        status = u.get("response_status") or "no lesion measurements"
        mid_col.markdown(("🔴 **" + status + "**") if u.get("new_progression") else f"Response: {status}")
        mid_col.markdown(readiness_label(r))
        if r["risk"] is not None:
            mid_col.caption(f"Model 12-month progression risk {r['risk']:.2f} ({r['risk_low']:.2f}–{r['risk_high']:.2f})")
        if right.button("Prepare", key=f"prep_{who}"):
            st.session_state["patient_id"] = who
            st.switch_page("pages/2_Patient.py")
