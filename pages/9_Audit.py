"""Admin: the hash-chained audit log, filterable, with a chain check."""
from __future__ import annotations

import streamlit as st

from core.governance.audit import verify
from core.governance.audit_view import audit_entries
from pages import _cached as c
from pages._auth import page_guard

page_guard("audit")

st.title("Audit log")
w = c.board_writer()
r = verify(w.read())
(st.success if r.ok else st.error)(f"Hash chain: {r.reason} ({r.entries} entries)"
                                   + ("" if r.ok else f" — first bad entry #{r.first_bad_seq}"))
a, b = st.columns(2)
actor = a.text_input("Actor", key="audit_actor") or None
prefix = b.selectbox("Action", ["", "login.", "decision.", "patient.", "case.", "user.", "session.", "threshold."],
                     key="audit_action") or None
st.dataframe(audit_entries(w, actor=actor, action_prefix=prefix), hide_index=True, width="stretch", key="audit_table")
