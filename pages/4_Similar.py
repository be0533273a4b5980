"""Similar historical cases: why they are similar, what happened to them, where the patient sits in the cohort."""
from __future__ import annotations

import streamlit as st

from core.similar import figures
from core.similar.search import NoCaseVector
from pages import _cached as c
from pages import _similar_cached as sc
from pages._auth import page_guard

page_guard()

version = c.require_store()
pid = c.patient_picker(version)
st.title(f"Similar historical cases · {pid}")
a, b, d, e = st.columns([1, 1, 1, 2])
k = a.slider("Neighbours", 5, 30, 10, key="sim_k")
kind = b.radio("Similarity on", ["fused", "imaging"], horizontal=True, key="sim_kind",
               help="fused: every modality on file; imaging: lesion features and image embedding only")
same_cancer = d.checkbox("Same cancer type", value=True, key="sim_same_cancer")
same_driver = d.checkbox("Same driver", value=False, key="sim_same_driver")
treated = e.text_input("Treated with (e.g. osimertinib)", key="sim_treated")
try:
    res = sc.outcomes(version, pid, k, kind, same_cancer, same_driver, treated.strip() or None)
except (NoCaseVector, ValueError) as err:
    st.warning(str(err))
    st.stop()
st.caption(f"Filters: {res.filters}. Similar cases are historical patients; their outcomes are what happened "
           "to them, not a prediction for this patient.")
if res.neighbours.height == 0:
    st.info("No historical case passes these filters.")
    st.stop()
table = figures.neighbour_table(res.neighbours).drop("outcome_colour")
st.dataframe(table, hide_index=True, width="stretch", key="neighbour_table",
             column_config={"similarity": st.column_config.ProgressColumn("similarity", min_value=0, max_value=1,
                                                                          format="%.2f")})
left, right = st.columns(2)
with left:
    st.subheader("Progression-free survival")
    st.plotly_chart(figures.km_figure(res.km, res.medians, "pfs"), width="stretch", key="km_pfs")
with right:
    st.subheader("Response and 12-month progression")
    st.plotly_chart(figures.response_figure(res.rates), width="stretch", key="response_rates")
st.subheader("Where this patient sits in the cohort")
m = sc.emap(version, pid, k, kind)
colour = st.radio("Colour by", ["cancer_type", "outcome"], horizontal=True, key="map_colour")
st.plotly_chart(figures.embedding_map_figure(m, colour), width="stretch", key="embedding_map")
st.caption(f"2-D map drawn with {m.method}; distances on it are approximate.")
