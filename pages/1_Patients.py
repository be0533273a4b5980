"""Patients: pick a patient, see every evidence item with where it came from."""
from __future__ import annotations

import polars as pl
import streamlit as st

from core.governance.masking import display_name, mask_frame
from core.ui.figures import timeline_figure
from pages import _cached as c

version = c.store_version()
if version is None:
    st.error("No evidence store yet. Run `python -m core build-demo` (or `python -m core ingest PATH`).")
    st.stop()
mask = st.session_state.get("mask_phi", True)

st.title("Patients")
cohort = st.radio("Cohort", ["current", "historical", "external", "all"], horizontal=True, key="cohort")
plist = c.patients(version, None if cohort == "all" else cohort)
shown = mask_frame("patients", plist, mask=mask).drop(["birth_date"] if mask else [])
st.caption(f"{plist.height} patients")
ids = plist["patient_id"].to_list()
if not ids:
    st.info("No patients in this cohort.")
    st.stop()
default = st.session_state.get("patient_id")
pid = st.selectbox("Patient", ids, index=ids.index(default) if default in ids else 0, key="patient_select")
st.session_state["patient_id"] = pid
with st.expander("Patient list", expanded=False):
    st.dataframe(shown, hide_index=True, width="stretch")

row = c.patient(version, pid)
st.header(display_name(row, mask=mask))
cols = st.columns(5)
cols[0].metric("Cancer", f"{row.get('cancer_type') or '?'}")
cols[1].metric("OncoTree", row.get("oncotree_code") or "?")
cols[2].metric("Stage", row.get("stage") or "?")
cols[3].metric("Sex", row.get("sex") or "?")
cols[4].metric("Age at diagnosis", f"{row['age_at_diagnosis_years']:.0f}" if row.get("age_at_diagnosis_years") else "?")

tl = c.timeline(version, pid)
st.subheader("Timeline")
st.plotly_chart(timeline_figure(tl), width="stretch", key="timeline")

st.subheader("Evidence with provenance")
ev = c.patient_evidence(version, pid)
kinds = sorted(set(ev["kind"].to_list()))
pick = st.multiselect("Kinds", kinds, default=kinds, key="evidence_kinds")
ev = ev.filter(pl.col("kind").is_in(pick))
st.dataframe(ev.select(["observed_at", "modality", "kind", "summary", "source_uri", "locator", "source_sha256",
                        "extractor", "extractor_version", "ingested_at", "ingest_run_id"]),
             hide_index=True, width="stretch", key="evidence_table")
