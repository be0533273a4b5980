"""The UI side of caching: the only place that decorates core calls for Streamlit.

Every cached query is keyed on the store version, so a new ingest invalidates it.
"""
from __future__ import annotations

import duckdb
import polars as pl
import streamlit as st

from core.store import db, queries


def store_version() -> str | None:
    return db.current_version()


@st.cache_resource(show_spinner=False)
def _connection(version: str) -> duckdb.DuckDBPyConnection:
    return db.connect_readonly()


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the current read-only store (connections are not thread-safe)."""
    v = store_version()
    if v is None:
        raise FileNotFoundError("no evidence store: run `python -m core build-demo`")
    return _connection(v).cursor()


@st.cache_data(show_spinner=False)
def patients(version: str, cohort: str | None = None) -> pl.DataFrame:
    return queries.patients(cursor(), cohort=cohort)


@st.cache_data(show_spinner=False)
def patient(version: str, patient_id: str) -> dict | None:
    return queries.patient(cursor(), patient_id)


@st.cache_data(show_spinner=False)
def patient_evidence(version: str, patient_id: str) -> pl.DataFrame:
    return queries.patient_evidence(cursor(), patient_id)


@st.cache_data(show_spinner=False)
def timeline(version: str, patient_id: str) -> pl.DataFrame:
    return queries.timeline(cursor(), patient_id)
