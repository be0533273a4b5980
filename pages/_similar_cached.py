"""Cached similar-case calls for the Similar cases page (keyed on the store version)."""
from __future__ import annotations

import streamlit as st

from pages import _cached as c


@st.cache_data(show_spinner="Finding similar historical cases…")
def outcomes(version: str, patient_id: str, k: int, kind: str, same_cancer: bool, same_driver: bool,
             treated_with: str | None):
    from core.similar.search import SimilarFilters, neighbour_outcomes

    f = SimilarFilters(same_cancer_type=same_cancer, same_driver=same_driver, treated_with=treated_with or None)
    return neighbour_outcomes(c.cursor(), patient_id, k, kind, f)


@st.cache_data(show_spinner=False)
def emap(version: str, patient_id: str, k: int, kind: str):
    from core.similar.search import embedding_map

    return embedding_map(c.cursor(), patient_id, k, kind)
