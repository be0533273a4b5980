"""Cached calls of the agenda page: urgency order, the order in force, response status.

Board-store results are keyed on ``board_revision()`` (the last audit sequence number), which
changes with every board write (decision, review, saved order), so a save shows at once.
"""
from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from core.board import urgency as u
from core.governance import audit
from pages import _cached as c


def board_revision() -> int:
    with c.board_writer().read() as cur:
        return audit.revision(cur)


@st.cache_data(show_spinner=False)
def urgency(version: str, meeting_id: str, board_rev: int) -> pl.DataFrame:
    with c.board_writer().read() as cur:
        return u.urgency_table(c.cursor(), cur, meeting_id)


@st.cache_data(show_spinner=False)
def effective_order(version: str, meeting_id: str, board_rev: int) -> u.AgendaOrder:
    with c.board_writer().read() as cur:
        return u.effective_order(c.cursor(), cur, meeting_id, urgency(version, meeting_id, board_rev))


def save_order(meeting_id: str, patient_ids: list[str], actor: str, basis: u.OrderBasis) -> str:
    return u.save_order(c.board_writer(), meeting_id, patient_ids, actor, basis)


@st.cache_data(show_spinner=False)
def response_series(version: str, patient_id: str) -> pl.DataFrame:
    """RECIST series of one patient (for the patient page and presentation mode)."""
    from core.imaging.recist import response_series as f

    return f(c.cursor(), patient_id)


@st.cache_data(show_spinner=False)
def _response_headline(version: str, patient_id: str, meeting_id: str | None, board_rev: int, day: str):
    from core.imaging import recist

    with c.board_writer().read() as cur:
        return recist.board_response_headline(c.cursor(), cur, patient_id, meeting_id=meeting_id)


def response_headline(version: str, patient_id: str, meeting_id: str | None = None):
    """Latest RECIST response and new progression since the patient's last board (``recist.ResponseHeadline``).

    Keyed on the store version, the board revision (a decision moves "last board") and the day
    (a meeting passing moves it too). ``meeting_id``: the meeting presented, which does not count.
    """
    return _response_headline(version, patient_id, meeting_id, board_revision(), date.today().isoformat())
