"""The agenda's urgency view renders (AppTest): order, why, response status, and the coordinator's reorder."""
from __future__ import annotations

import re
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
CASE = re.compile(r"^\*\*(\d+)\. (\S+)\*\*")


def _app(role: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["user"] = role
    at.session_state["role"] = role
    at.session_state["last_activity"] = time.time()
    return at


def _shown_order(at: AppTest) -> list[str]:
    return [m.group(2) for m in (CASE.match(x.value) for x in at.markdown) if m]


def _urgency_now(con):
    from core.board.agenda import upcoming_meeting
    from core.board.urgency import effective_order, urgency_table
    from core.store import db

    mid = upcoming_meeting(con).meeting_id
    cur = db.board_writer().read()
    try:
        table = urgency_table(con, cur, mid)
        return mid, table, effective_order(con, cur, mid, table)
    finally:
        cur.close()


def test_agenda_orders_by_urgency_and_says_why(demo_store):
    at = _app("oncologist").run()
    assert not at.exception, [e.value for e in at.exception]
    _, table, eff = _urgency_now(demo_store)
    mode = at.radio(key="agenda_order_mode")
    assert mode.value == ("saved" if eff.basis == "manual" else "urgency")
    if eff.basis != "manual":
        assert _shown_order(at) == table["patient_id"].to_list()
    text = " ".join(m.value for m in at.markdown)
    for r in table.iter_rows(named=True):
        assert r["why"] in text  # every case says why it sits where it does
        assert r["response_status"] in text
    assert any("Urgency =" in c.value for c in at.caption)  # the rule itself is on the page
    assert not [b for b in at.button if b.key == "reorder_save"]  # an oncologist cannot reorder


def test_agenda_can_show_the_submitted_order(demo_store):
    at = _app("oncologist").run()
    at.radio(key="agenda_order_mode").set_value("position").run()
    assert not at.exception
    positions = [r[0] for r in demo_store.execute(
        "SELECT patient_id FROM board_cases WHERE meeting_id = ? ORDER BY position",
        [_urgency_now(demo_store)[0]]).fetchall()]
    assert _shown_order(at) == positions


def test_coordinator_reorders_saves_and_goes_back(demo_store):
    from core.board.urgency import saved_order
    from core.store import db

    mid = _urgency_now(demo_store)[0]
    at = _app("coordinator").run()
    assert not at.exception, [e.value for e in at.exception]
    last = at.selectbox(key="reorder_case").options[-1]
    at.selectbox(key="reorder_case").set_value(last)
    at.number_input(key="reorder_to").set_value(1)
    at.button(key="reorder_move").click().run()
    assert not at.exception
    at.button(key="reorder_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="agenda_order_mode").value == "saved"
    assert _shown_order(at)[0] == last
    cur = db.board_writer().read()
    try:
        saved = saved_order(cur, mid)
        assert saved["basis"][0] == "manual" and saved["patient_id"][0] == last
        assert saved["saved_by"][0] == "coordinator"
        assert cur.execute("SELECT count(*) FROM audit_log WHERE action = 'agenda.order' AND actor = 'coordinator'"
                           ).fetchone()[0] >= 1
    finally:
        cur.close()
    at.button(key="reorder_reset").click().run()  # back to urgency, so other tests see the default order
    assert not at.exception
    assert at.radio(key="agenda_order_mode").value == "urgency"
    _, now, eff = _urgency_now(demo_store)
    assert eff.basis == "urgency" and _shown_order(at) == now["patient_id"].to_list()
