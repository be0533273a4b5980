"""Cached pilot-review computations (UI side), keyed on the evidence-store version, the decisions
table's fingerprint and the threshold file's hash, so a new ingest, a new decision or an audited
threshold change each invalidate the review."""
from __future__ import annotations

import hashlib
from datetime import date

import streamlit as st

from core.pilot import report
from core.pilot.verdict import THRESHOLDS_PATH, load_thresholds
from pages import _cached as c


def thresholds_sha() -> str:
    return hashlib.sha256(THRESHOLDS_PATH.read_bytes()).hexdigest()


def board_state() -> str:
    with c.board_writer().read() as cur:
        return report.board_state(cur)


@st.cache_data(show_spinner=False)
def default_window(version: str, board: str, thresholds: str) -> report.PilotWindow:
    with c.board_writer().read() as cur:
        return report.default_window(cur, load_thresholds(), evidence_con=c.cursor())


@st.cache_data(show_spinner="Measuring the pilot…")
def review(version: str, board: str, thresholds: str, start: date, end: date) -> report.PilotReview:
    # version, board and thresholds only key the cache
    with c.board_writer().read() as cur:
        return report.build_review(c.cursor(), cur, start, end)
