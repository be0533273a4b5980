"""Pilot fixtures: the hand-built stores of ``pilot_store.py`` (built once per module)."""
from __future__ import annotations

import pytest

from core.store import db
import pilot_store


@pytest.fixture(scope="module")
def hand_stores(tmp_path_factory):
    """(read-only evidence connection, board writer) of the hand-built pilot."""
    root = tmp_path_factory.mktemp("pilot_hand")
    pilot_store.build_evidence(root)
    w = pilot_store.build_board(root)
    con = db.connect_readonly(root)
    yield con, w
    con.close()
    w.close()
