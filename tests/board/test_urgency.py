"""Agenda order by urgency on a hand-made set of cases, and the coordinator's saved order."""
from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from core.board import urgency
from core.board.urgency import OrderBasis, effective_order, save_order, urgency_table
from core.governance import audit
from core.ingest.base import insert_rows
from core.store import schema
from core.store.db import BoardWriter

MEETING = datetime(2026, 11, 25, 7, 30)
AS_OF = MEETING - timedelta(days=1)
OLD = datetime(2026, 6, 1, 7, 30)


def _prov(pid: str, at: datetime | None, locator: str) -> dict:
    return {"patient_id": pid, "modality": "imaging", "observed_at": at, "source_uri": "file:///ann.csv",
            "source_sha256": "b" * 64, "locator": locator, "extractor": "tests", "extractor_version": "1",
            "ingested_at": OLD, "ingest_run_id": "run1"}


def _lesion(rows: list, pid: str, at: datetime, mm: float) -> None:
    k = len(rows)
    rows.append({**_prov(pid, at, f"row {k + 2}"), "measurement_id": f"m{k}", "lesion_id": "L1",
                 "study_uid": f"{pid}-S{k}", "long_axis_mm": mm})


@pytest.fixture
def evidence() -> duckdb.DuckDBPyConnection:
    """Six cases A-F on the meeting, each with one reason to be urgent (or none)."""
    con = duckdb.connect()
    schema.migrate(con)
    insert_rows(con, "board_meetings", [{"meeting_id": "M-NOW", "scheduled_at": MEETING, "title": "now"},
                                        {"meeting_id": "M-OLD", "scheduled_at": OLD, "title": "earlier"}])
    positions = {"F": 1, "B": 2, "A": 3, "C": 4, "D": 5, "E": 6}
    insert_rows(con, "board_cases", [
        {"meeting_id": "M-NOW", "patient_id": p, "position": pos,
         "added_at": AS_OF - timedelta(days=40 if p == "E" else 2)} for p, pos in positions.items()]
        + [{"meeting_id": "M-OLD", "patient_id": "A", "position": 1, "added_at": OLD - timedelta(days=7)}])
    les: list[dict] = []
    # A: discussed at M-OLD, then progressed (30 -> 40 mm): new progression since last board
    _lesion(les, "A", OLD - timedelta(days=30), 30.0)
    _lesion(les, "A", OLD + timedelta(days=60), 40.0)
    # B: progressed in March, decision in April (board store): not new
    _lesion(les, "B", datetime(2026, 1, 5), 30.0)
    _lesion(les, "B", datetime(2026, 3, 5), 40.0)
    # F: progression measured only after the meeting date: not known at the meeting
    _lesion(les, "F", datetime(2026, 10, 1), 30.0)
    _lesion(les, "F", MEETING + timedelta(days=20), 45.0)
    insert_rows(con, "lesion_measurements", les)
    insert_rows(con, "predictions", [
        {"prediction_id": "c-old", "patient_id": "C", "scored_at": OLD},
        {"prediction_id": "c-new", "patient_id": "C", "scored_at": AS_OF - timedelta(days=3)}])
    insert_rows(con, "review_triggers", [
        {"trigger_id": f"t{i}", "patient_id": "C", "prediction_id": pred, "trigger": trig, "severity": sev}
        for i, (pred, trig, sev) in enumerate([
            ("c-new", "low_confidence", "high"), ("c-new", "missing_key_modality", "medium"),
            ("c-new", "cross_modal_discrepancy", "high"),  # counted as a discrepancy, not twice
            ("c-old", "low_confidence", "high"), ("c-old", "low_confidence", "high")])])  # stale prediction
    insert_rows(con, "discrepancies", [
        {"discrepancy_id": "d1", "patient_id": "D", "kind": "egfr", "description": "x"},
        {"discrepancy_id": "d2", "patient_id": "D", "kind": "mass", "description": "y"}])
    yield con
    con.close()


@pytest.fixture
def board(tmp_path) -> BoardWriter:
    w = BoardWriter(tmp_path / "board.duckdb")
    with w.transaction() as cur:
        cur.execute("INSERT INTO decisions (decision_id, meeting_id, patient_id, decided_at, decided_by) "
                    "VALUES ('x1', 'M-APR', 'B', ?, 'dr'), ('x2', 'M-NOW', 'E', ?, 'dr')",
                    [datetime(2026, 4, 1), AS_OF])
        cur.execute("INSERT INTO discrepancy_reviews VALUES ('r1', 'd1', 'D', 'open', '', 'dr', ?), "
                    "('r2', 'd1', 'D', 'resolved', 'other assay', 'dr', ?)", [OLD, OLD + timedelta(days=1)])
    yield w
    w.close()


def _table(evidence, board):
    cur = board.read()
    try:
        return urgency_table(evidence, cur, "M-NOW", as_of=AS_OF)
    finally:
        cur.close()


def test_urgency_order_and_points(evidence, board):
    t = _table(evidence, board)
    assert t["patient_id"].to_list() == ["A", "C", "D", "E", "F", "B"]  # F before B: tie kept in agenda position
    assert t["rank"].to_list() == [1, 2, 3, 4, 5, 6]
    score = dict(zip(t["patient_id"], t["score"], strict=True))
    assert score == {"A": 51.0, "C": 26.0, "D": 19.0, "E": 14.0, "F": 11.0, "B": 11.0}
    row = {r["patient_id"]: r for r in t.iter_rows(named=True)}
    assert row["A"]["points_new_progression"] == urgency.NEW_PROGRESSION_POINTS
    assert row["B"]["points_new_progression"] == 0 and row["B"]["response_status"].startswith("PD")  # known PD
    assert row["F"]["new_progression"] is None  # a later scan is not known at the meeting
    assert row["C"]["points_review_triggers"] == 15.0  # latest prediction only, discrepancy trigger left out
    assert row["D"]["n_open_discrepancies"] == 1  # d1 resolved in the board store
    assert row["E"]["points_pending_decision"] == 0 and row["E"]["points_waiting"] == urgency.WAIT_CAP


def test_why_names_every_component_and_its_points(evidence, board):
    why = dict(zip(*_table(evidence, board).select("patient_id", "why").to_dict().values(), strict=True))
    assert why["A"] == ("RECIST PD since last board (2026-06-01) (+40) · no decision yet (+10) · "
                        "on the list for 2 days (+1)")
    assert "2 review triggers (1 high, 1 medium) (+15)" in why["C"]
    assert "1 open discrepancy (+8)" in why["D"]
    assert "no decision yet" not in why["E"] and "(+14)" in why["E"]


def test_progression_status_lines(evidence, board):
    status = dict(zip(*_table(evidence, board).select("patient_id", "response_status").to_dict().values(), strict=True))
    assert status["A"] == "PD since last board"
    assert status["C"] == "no lesion measurements"
    assert status["F"] == "baseline only, no evaluable follow-up"


def test_manual_order_is_saved_audited_and_used(evidence, board):
    t = _table(evidence, board)
    cur = board.read()
    try:
        assert effective_order(evidence, cur, "M-NOW", t).basis == OrderBasis.URGENCY
    finally:
        cur.close()
    save_order(board, "M-NOW", ["B", "A", "C", "Z"], actor="coordinator", basis="manual")  # Z left the agenda
    cur = board.read()
    try:
        eff = effective_order(evidence, cur, "M-NOW", t)
        assert eff.basis == OrderBasis.MANUAL and eff.saved_by == "coordinator"
        assert eff.patient_ids == ("B", "A", "C", "D", "E", "F")  # unsaved cases follow in urgency order
        entry = cur.execute("SELECT actor, action, target, detail FROM audit_log WHERE action = 'agenda.order'").fetchall()
        assert entry and entry[0][:3] == ("coordinator", "agenda.order", "M-NOW") and '"manual"' in entry[0][3]
        assert audit.verify(cur).ok
    finally:
        cur.close()
    save_order(board, "M-NOW", list(t["patient_id"]), actor="coordinator", basis=OrderBasis.URGENCY)
    cur = board.read()
    try:
        back = effective_order(evidence, cur, "M-NOW", t)
        assert back.basis == OrderBasis.URGENCY and back.patient_ids == tuple(t["patient_id"])
        assert cur.execute("SELECT count(DISTINCT order_id) FROM agenda_orders").fetchone()[0] == 2  # history kept
    finally:
        cur.close()


@pytest.mark.parametrize("ids,basis,msg", [
    ([], "manual", "at least one"), (["A", "A"], "manual", "once"), (["A"], "alphabetical", "alphabetical"),
])
def test_invalid_orders_are_refused(board, ids, basis, msg):
    with pytest.raises(ValueError, match=msg):
        save_order(board, "M-NOW", ids, actor="coordinator", basis=basis)


def test_unknown_meeting_gives_an_empty_table(evidence, board):
    assert _table(evidence, board).height == 6
    cur = board.read()
    try:
        assert urgency_table(evidence, cur, "nope").height == 0
        assert effective_order(evidence, cur, "nope").patient_ids == ()
    finally:
        cur.close()


def test_existing_board_store_gets_the_order_table(tmp_path):
    path = tmp_path / "old-board.duckdb"
    con = duckdb.connect(str(path))
    v1 = tuple(t.ddl() for t in schema.BOARD_TABLES_V1 if t.name != "agenda_orders")  # as before this table
    schema.migrate(con, (schema.Migration(1, "initial board schema", v1),))
    con.close()
    w = BoardWriter(path)
    cur = w.read()
    try:
        assert cur.execute("SELECT max(version) FROM schema_version").fetchone()[0] >= 2
        assert cur.execute("SELECT count(*) FROM agenda_orders").fetchone()[0] == 0
    finally:
        cur.close()
        w.close()
