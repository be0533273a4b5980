"""Tumor-board evidence dashboard: login, navigation by role and the sidebar. No logic here."""
from __future__ import annotations

import logging

import streamlit as st

st.set_page_config(page_title="Tumor board evidence", page_icon="🩺", layout="wide")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

from pages._auth import logout, require_login  # noqa: E402  (after set_page_config)
from pages._cached import store_version  # noqa: E402

st.session_state.setdefault("mask_phi", True)
st.session_state.setdefault("patient_id", None)

PAGES = [
    st.Page("pages/1_Agenda.py", title="Board agenda", icon="🗓️", default=True, url_path="agenda"),
    st.Page("pages/2_Patient.py", title="Patient evidence", icon="🧾", url_path="patient"),
    st.Page("pages/3_Explain.py", title="Explain the model", icon="🔍", url_path="explain"),
    st.Page("pages/4_Similar.py", title="Similar cases", icon="👥", url_path="similar"),
    st.Page("pages/5_Trials.py", title="Trial hints", icon="🧪", url_path="trials"),
    st.Page("pages/6_Present.py", title="Presentation mode", icon="🖥️", url_path="present"),
    st.Page("pages/7_Pilot.py", title="Pilot review", icon="📊", url_path="pilot"),
]
ADMIN_PAGES = [
    st.Page("pages/8_Data.py", title="Data & ingest", icon="🗄️", url_path="data"),
    st.Page("pages/9_Audit.py", title="Audit log", icon="🔏", url_path="audit"),
]
# The sign-in screen registers the real pages too (hidden, not run): Streamlit then never lists the
# modules of pages/ on its own, and a deep link (/present?meeting=...) survives signing in.
user = require_login(lambda: st.navigation(PAGES + ADMIN_PAGES, position="hidden"))
if user.can("admin"):
    PAGES += ADMIN_PAGES

nav = st.navigation(PAGES)
with st.sidebar:
    st.markdown(f"**{user.username}** · {user.role}")
    if user.can("view_phi"):
        st.toggle("Mask PHI", key="mask_phi", help="Hide names, MRNs, birth dates and free text")
    else:
        st.session_state["mask_phi"] = True
        st.caption("PHI masked for your role")
    st.caption(f"Store version: {store_version() or 'none — run `python -m core build-demo`'}")
    if st.button("Sign out", key="sign_out"):
        logout()
        st.rerun()
nav.run()
