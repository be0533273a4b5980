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


@st.cache_data(show_spinner=False, max_entries=2000)  # also asked with whatever id a user types
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


@st.cache_data(show_spinner=False)
def trial_matches(version: str, patient_id: str) -> pl.DataFrame:
    from core.trials.api import match_patient

    return match_patient(cursor(), patient_id)


@st.cache_data(show_spinner=False)
def trial_criteria(version: str, patient_id: str, trial_id: str, arm: str) -> pl.DataFrame:
    from core.trials.api import criteria_table

    return criteria_table(cursor(), patient_id, trial_id, arm)


@st.cache_data(show_spinner=False)
def tests_next(version: str, patient_id: str) -> pl.DataFrame:
    from core.trials.api import what_to_test_next

    return what_to_test_next(cursor(), patient_id)


PICKER_LIMIT = 500


def _open_typed(version: str) -> None:
    """A newly typed, known id becomes the selection (the selectbox keeps its own value otherwise)."""
    typed = (st.session_state.get("open_patient_id") or "").strip()
    if typed and patient(version, typed) is not None:
        st.session_state["patient_select"] = typed


def patient_picker(version: str, label: str = "Patient") -> str:
    """The shared patient selector: the board's current patients, plus the one asked for (typed id,
    ``?patient=``, or the session's patient). A 10,000-patient list would be sent to the browser on
    every rerun; any other patient opens by its id."""
    ids = patients(version, "current")["patient_id"].to_list()
    if not ids:  # a store without a board cohort (plain `core ingest`): the first patients, sorted
        ids = patients(version, None)["patient_id"].head(PICKER_LIMIT).to_list()
    typed = (st.session_state.get("open_patient_id") or "").strip()
    asked = [x for x in (typed, st.query_params.get("patient"), st.session_state.get("patient_id")) if x]
    default = next((x for x in asked if x in ids or patient(version, x) is not None), None)
    if default is not None and default not in ids:
        ids = [default, *ids]
    pick, other = st.columns([3, 1])
    other.text_input("Open another patient by id", key="open_patient_id", placeholder="e.g. PT1A2B3C4D5E",
                     on_change=_open_typed, args=(version,))
    if typed and typed not in ids and patient(version, typed) is None:
        other.caption("No patient with that id in this store version.")
    if not ids:
        st.info("No patients in this store version: ingest some (`python -m core ingest PATH`) or open one by id.")
        st.stop()
    pid = pick.selectbox(label, ids, index=ids.index(default) if default in ids else 0, key="patient_select")
    st.session_state["patient_id"] = pid
    return pid


@st.cache_data(show_spinner=False)
def explanation(version: str, patient_id: str) -> dict:
    """Stored explanation of the latest prediction, else one computed now (``on_demand`` says which)."""
    from core.models import read

    cur = cursor()
    pred = read.latest_prediction(cur, patient_id)
    if pred is not None:
        pid = pred["prediction_id"]
        return {"on_demand": False, "prediction": pred, "attributions": read.attributions(cur, pid),
                "modalities": read.modality_contributions(cur, pid), "ablations": read.ablations(cur, pid)}
    od = read.explain_on_demand(cur, patient_id)
    return {"on_demand": True, "prediction": od.prediction, "attributions": od.attributions,
            "modalities": od.modality_contributions, "ablations": od.ablations}


@st.cache_data(show_spinner=False)
def global_explanations(version: str) -> dict:
    from core.models import read

    cur = cursor()
    return {"importance": read.global_importance(cur), "cohort_ablation": read.cohort_ablation(cur),
            "card": read.model_card(cur)}
