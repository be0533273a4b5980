"""Data status: what is in the store and every ingest error, with file and place."""
from __future__ import annotations

import streamlit as st

from core.store import queries
from pages import _cached as c
from pages._auth import page_guard

page_guard("admin")

version = c.require_store()
st.title("Data and ingest status")
st.caption(f"Store version {version}")
cur = c.cursor()
st.subheader("Cohort")
st.dataframe(queries.cohort_summary(cur), hide_index=True, width="stretch", key="cohort_summary")
st.subheader(f"Ingest errors and warnings ({queries.count_ingest_errors(cur)} errors)")
st.dataframe(queries.ingest_errors(cur, limit=500), hide_index=True, width="stretch", key="ingest_errors")
with st.expander("Row counts per table"):
    st.dataframe(queries.table_counts(cur), hide_index=True, key="table_counts")
