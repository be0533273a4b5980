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


@st.cache_resource(show_spinner=False)
def board_writer():
    """The process-wide single writer of the board store (decisions, audit)."""
    return db.board_writer()


@st.cache_data(show_spinner=False)
def upcoming_meeting(version: str):
    from core.board.agenda import upcoming_meeting as f

    return f(cursor())


@st.cache_data(show_spinner=False)
def meetings(version: str) -> pl.DataFrame:
    from core.board.agenda import meetings as f

    return f(cursor())


@st.cache_data(show_spinner=False)
def agenda(version: str, meeting_id: str) -> pl.DataFrame:
    from core.board.agenda import agenda as f

    return f(cursor(), meeting_id)


@st.cache_data(show_spinner=False)
def case_summary(version: str, patient_id: str):
    from core.board.case_summary import case_summary as f

    return f(cursor(), patient_id)


@st.cache_data(show_spinner=False)
def variants(version: str, patient_id: str) -> pl.DataFrame:
    return queries.variants(cursor(), patient_id)


@st.cache_data(show_spinner=False)
def tested_genes(version: str, patient_id: str) -> pl.DataFrame:
    return queries.tested_genes(cursor(), patient_id)


def open_source(table: str, sha: str, locator: str):
    from core.evidence.source_view import open_source as f

    return f(cursor(), table, sha, locator)


def require_store() -> str:
    """The store version, or stop the page with instructions."""
    v = store_version()
    if v is None:
        st.error("No evidence store yet. Run `python -m core build-demo` (or `python -m core ingest PATH`).")
        st.stop()
    return v
