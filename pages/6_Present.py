"""Presentation mode for the shared screen: one case per screen, large type, PHI masked."""
from __future__ import annotations

import html

import streamlit as st
import streamlit.components.v1 as components

from core.board.navigation import neighbour
from core.ui.response_figures import RESPONSE_COLOURS
from pages import _agenda_cached as ac
from pages import _cached as c
from pages import _decision_form, _imaging
from pages import _widgets as w
from pages._auth import current_user, page_guard

page_guard()

version = c.require_store()
st.markdown("""<style>
html, body, [class*="css"], .stMarkdown, .stMetric {font-size: 1.35rem !important;}
h1 {font-size: 3rem !important;} h2, h3 {font-size: 2.1rem !important;}
[data-testid="stMetricValue"] {font-size: 3rem !important; font-weight: 700;}
[data-testid="stMetricLabel"] p {font-size: 1.3rem !important;}
.block-container {padding-top: 4.5rem; max-width: 100%;}  /* clear the sticky header */
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {display: none;}
</style>""", unsafe_allow_html=True)

qp = st.query_params
up = c.upcoming_meeting(version)
meeting_id = qp.get("meeting") or st.session_state.get("meeting_id") or (up.meeting_id if up else None)
if meeting_id is None:
    st.info("No meeting to present.")
    st.page_link("pages/1_Agenda.py", label="Exit", icon="⏏️")  # the sidebar is hidden here
    st.stop()
order = c.agenda(version, meeting_id)["patient_id"].to_list()
if not order:
    st.info("This meeting has no cases.")
    st.page_link("pages/1_Agenda.py", label="Exit", icon="⏏️")  # the sidebar is hidden here
    st.stop()
pid = qp.get("patient") if qp.get("patient") in order else neighbour(order, st.session_state.get("patient_id"), 0)


def _go(step: int) -> None:
    st.session_state["patient_id"] = neighbour(order, pid, step)
    st.query_params.update({"meeting": meeting_id, "patient": st.session_state["patient_id"]})


nav = st.columns([1, 5, 1, 1])
at = order.index(pid)
nav[0].button("◀ Previous", on_click=_go, args=(-1,), key="prev_case", width="stretch", disabled=at == 0)
nav[2].button("Next ▶", on_click=_go, args=(1,), key="next_case", width="stretch", type="primary",
              disabled=at == len(order) - 1)
nav[3].page_link("pages/1_Agenda.py", label="Exit", icon="⏏️")
nav[1].markdown(f"<div style='text-align:center;font-size:1.4rem'>Case {order.index(pid) + 1} of {len(order)}"
                f" · ← → keys move between cases</div>", unsafe_allow_html=True)
st.session_state["patient_id"] = pid
st.query_params.update({"meeting": meeting_id, "patient": pid})

s = c.case_summary(version, pid)  # presentation mode always masks PHI: pseudonym only
st.title(f"Patient {pid} · {s.age_years or '?'} y · {s.sex or '?'} · {s.oncotree_code or s.cancer_type} · stage {s.stage or '?'}")
resp = ac.response_headline(version, pid, meeting_id)  # RECIST 1.1-style, as of this meeting; no PHI in it
badge = "" if resp.latest not in RESPONSE_COLOURS else (
    f"<span style='background:{RESPONSE_COLOURS[resp.latest]};color:{'#222' if resp.latest == 'NE' else '#fff'};"
    f"padding:0 0.4em;border-radius:0.2em;font-weight:700'>{html.escape(resp.latest)}</span> ")
st.markdown(f"<div style='font-size:1.9rem;line-height:1.4'>Response (RECIST 1.1-style): {badge}"
            f"{html.escape(resp.line)}</div>", unsafe_allow_html=True)
if resp.flag:
    st.markdown(f"<div style='font-size:1.9rem;font-weight:700;color:#fff;background:#D73027;padding:0.2em 0.5em;"
                f"border-radius:0.3em'>🔴 {html.escape(resp.flag)}</div>", unsafe_allow_html=True)
left, mid, right = st.columns([5, 4, 3])
with left:
    w.summary_card(s, big=True)
with mid:
    _imaging.render(version, pid, compact=True)
with right:
    w.prediction_block(s.prediction, big=True)
    for d in s.discrepancies:
        st.error(f"⚠️ {d.get('description')}")
st.divider()
user = current_user()
if user is not None and user.can("decide"):
    _decision_form.render(meeting_id, pid, s, user=user.username)
else:
    st.caption("Sign in as an oncologist to record the board's decision.")

# Arrow keys click the Previous / Next buttons (the component runs in a same-origin iframe).
components.html("""<script>
const doc = window.parent.document;
if (!doc._tbKeys) { doc._tbKeys = true;
  doc.addEventListener('keydown', e => {
    if (['INPUT','TEXTAREA'].includes(e.target.tagName)) return;
    const want = e.key === 'ArrowRight' ? 'Next' : e.key === 'ArrowLeft' ? 'Previous' : null;
    if (!want) return;
    const b = [...doc.querySelectorAll('button')].find(x => x.innerText.includes(want));
    if (b) b.click();
  });
}</script>""", height=0)
