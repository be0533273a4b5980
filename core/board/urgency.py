"""How urgent each case on a board agenda is: a transparent score, and the order the board used.

The score is a plain sum of named components; each case carries a ``why`` line listing every
component that contributed and its points, so nobody has to trust a black box:

* **new progression** (``NEW_PROGRESSION_POINTS``): RECIST PD at a study after the patient's last
  board discussion (a decision in the board store or an earlier meeting's case list), or at any
  study if the patient was never discussed. Only studies up to the meeting date count;
* **review triggers** of the latest model prediction, by severity (``TRIGGER_POINTS``, capped at
  ``TRIGGERS_CAP``); discrepancy triggers are left out here because discrepancies count below;
* **open discrepancies** (``DISCREPANCY_POINTS`` each, capped): those whose latest review in the
  board store is not closed (``CLOSED_REVIEW_STATUSES``);
* **pending decision** (``PENDING_DECISION_POINTS``): no decision recorded for this meeting yet,
  so decided cases sink during the meeting;
* **waiting time** (``WAIT_POINTS_PER_DAY`` since the case was added, capped at ``WAIT_CAP``).

Ties keep the coordinator's original position. The coordinator can save a manual order
(``save_order``, audited); ``effective_order`` returns it, else the urgency order.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum

import duckdb
import polars as pl

from core.governance import audit
from core.imaging.recist import Response, progression_since, response_series
from core.store.db import BoardWriter
from core.store.queries import frame

NEW_PROGRESSION_POINTS = 40.0
TRIGGER_POINTS = {"high": 10.0, "medium": 5.0, "low": 2.0}
TRIGGERS_CAP = 25.0
DISCREPANCY_POINTS = 8.0
DISCREPANCIES_CAP = 24.0
PENDING_DECISION_POINTS = 10.0
WAIT_POINTS_PER_DAY = 0.5
WAIT_CAP = 14.0
CLOSED_REVIEW_STATUSES = ("resolved", "dismissed", "not a discrepancy")
DISCREPANCY_TRIGGER = "cross_modal_discrepancy"  # counted as an open discrepancy instead


class OrderBasis(StrEnum):
    URGENCY = "urgency"  # the order by urgency score was used
    MANUAL = "manual"    # the coordinator's order


@dataclass(frozen=True)
class Component:
    name: str
    points: float
    detail: str


@dataclass(frozen=True)
class AgendaOrder:
    patient_ids: tuple[str, ...]
    basis: OrderBasis
    saved_by: str | None = None
    saved_at: datetime | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# ---- pure scoring -------------------------------------------------------------------------------

def score_rules() -> str:
    """The scoring rule in one line, from the constants (shown beside the ranked agenda)."""
    trig = " / ".join(f"{s} {p:g}" for s, p in TRIGGER_POINTS.items())
    return (f"Urgency = new RECIST progression {NEW_PROGRESSION_POINTS:g} + review triggers ({trig}, max "
            f"{TRIGGERS_CAP:g}) + open discrepancies {DISCREPANCY_POINTS:g} each (max {DISCREPANCIES_CAP:g}) + "
            f"no decision yet {PENDING_DECISION_POINTS:g} + {WAIT_POINTS_PER_DAY:g} per day on the list "
            f"(max {WAIT_CAP:g}). Ties keep the submitted order.")


def components(case: dict, reference: datetime) -> list[Component]:
    """Every urgency component of one case (pure); ``case`` is a row of ``case_facts``."""
    out: list[Component] = []
    if case["new_progression"]:
        last = case["last_discussed_at"]
        when = f"since last board ({last:%Y-%m-%d})" if last is not None else "and never discussed at a board"
        out.append(Component("new_progression", NEW_PROGRESSION_POINTS, f"RECIST PD {when}"))
    counts = {s: case[f"n_triggers_{s}"] or 0 for s in TRIGGER_POINTS}
    trig = min(TRIGGERS_CAP, sum(TRIGGER_POINTS[s] * n for s, n in counts.items()))
    if trig:
        n = sum(counts.values())
        parts = ", ".join(f"{k} {s}" for s, k in counts.items() if k)
        out.append(Component("review_triggers", trig, f"{n} review trigger{'s' * (n != 1)} ({parts})"))
    n_disc = case["n_open_discrepancies"] or 0
    if n_disc:
        out.append(Component("open_discrepancies", min(DISCREPANCIES_CAP, DISCREPANCY_POINTS * n_disc),
                             f"{n_disc} open discrepanc{'y' if n_disc == 1 else 'ies'}"))
    if not case["decided"]:
        out.append(Component("pending_decision", PENDING_DECISION_POINTS, "no decision yet"))
    if case["added_at"] is not None:
        days = max(0.0, (reference - case["added_at"]).total_seconds() / 86400)
        pts = round(min(WAIT_CAP, WAIT_POINTS_PER_DAY * days), 1)
        if pts:
            out.append(Component("waiting", pts, f"on the list for {days:.0f} day{'s' * (round(days) != 1)}"))
    return out


def score_cases(facts: pl.DataFrame, reference: datetime) -> pl.DataFrame:
    """Add score, rank, why and points_<component> to ``case_facts`` rows (pure); ordered by rank."""
    names = ("new_progression", "review_triggers", "open_discrepancies", "pending_decision", "waiting")
    per_case = [components(case, reference) for case in facts.iter_rows(named=True)]
    points = [{c.name: c.points for c in comps} for comps in per_case]
    out = facts.with_columns(
        pl.Series("score", [round(sum(p.values()), 1) for p in points], dtype=pl.Float64),
        pl.Series("why", [" · ".join(f"{c.detail} (+{c.points:g})" for c in comps) or "nothing urgent on file"
                          for comps in per_case], dtype=pl.Utf8),
        *[pl.Series(f"points_{n}", [p.get(n, 0.0) for p in points], dtype=pl.Float64) for n in names],
    ).sort(["score", "position", "patient_id"], descending=[True, False, False], nulls_last=True)
    out = out.with_columns(pl.int_range(1, out.height + 1, dtype=pl.Int64).alias("rank"))
    first = ["rank", "patient_id", "score", "why", "response_status"]
    return out.select(first + [c for c in out.columns if c not in first])


def response_status(series: pl.DataFrame, since: datetime | None) -> tuple[bool | None, str]:
    """(new progression since ``since``, a short status line) from a RECIST series (pure)."""
    if series.height == 0:
        return None, "no lesion measurements"
    prog = progression_since(series, since)
    if prog:
        return True, "PD since last board" if since is not None else "PD, never discussed at a board"
    assessed = series.filter(~pl.col("response").is_in([str(Response.BASELINE), str(Response.NE)]))
    if assessed.height == 0:
        return prog, "baseline only, no evaluable follow-up"
    last = assessed.row(-1, named=True)
    return prog, f"{last['response']} on {last['observed_at']:%Y-%m-%d}"


# ---- facts from the stores ------------------------------------------------------------------------

FACTS_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.Utf8, "position": pl.Int64, "added_at": pl.Datetime("us"), "last_discussed_at": pl.Datetime("us"),
    "new_progression": pl.Boolean, "response_status": pl.Utf8, **{f"n_triggers_{s}": pl.Int64 for s in TRIGGER_POINTS},
    "n_open_discrepancies": pl.Int64, "decided": pl.Boolean,
}

def case_facts(evidence_con: duckdb.DuckDBPyConnection, board_cur: duckdb.DuckDBPyConnection,
               meeting_id: str) -> tuple[pl.DataFrame, datetime | None]:
    """One row per case of the meeting with what the score needs, and the meeting time.

    Columns: patient_id, position, added_at, last_discussed_at, new_progression, response_status,
    n_triggers_high / _medium / _low, n_open_discrepancies, decided.
    """
    cases = frame(evidence_con, """SELECT c.patient_id, c.position, c.added_at, m.scheduled_at
                                   FROM board_cases c JOIN board_meetings m USING (meeting_id)
                                   WHERE c.meeting_id = ? ORDER BY c.position, c.patient_id""", [meeting_id])
    if cases.height == 0:
        return pl.DataFrame(schema=FACTS_SCHEMA), None
    at = cases["scheduled_at"][0]
    ids = cases["patient_id"].to_list()
    earlier = dict(evidence_con.execute("""
        SELECT c.patient_id, max(m.scheduled_at) FROM board_cases c JOIN board_meetings m USING (meeting_id)
        WHERE c.patient_id IN (SELECT unnest(?)) AND c.meeting_id <> ? AND m.scheduled_at < ? GROUP BY 1""",
                                        [ids, meeting_id, at]).fetchall())
    decided_before = dict(board_cur.execute("""
        SELECT patient_id, max(decided_at) FROM decisions
        WHERE patient_id IN (SELECT unnest(?)) AND meeting_id <> ? AND decided_at < ? GROUP BY 1""",
                                            [ids, meeting_id, at]).fetchall())
    decided_now = {r[0] for r in board_cur.execute(
        "SELECT DISTINCT patient_id FROM decisions WHERE meeting_id = ?", [meeting_id]).fetchall()}
    trig = _trigger_counts(evidence_con, ids)
    disc = _open_discrepancies(evidence_con, board_cur, ids)
    rows = []
    for c in cases.iter_rows(named=True):
        pid = c["patient_id"]
        last = max([d for d in (earlier.get(pid), decided_before.get(pid)) if d is not None], default=None)
        series = response_series(evidence_con, pid)
        if at is not None:
            series = series.filter(pl.col("observed_at") <= at)  # what was known at the meeting
        prog, status = response_status(series, last)
        rows.append({"patient_id": pid, "position": c["position"], "added_at": c["added_at"],
                     "last_discussed_at": last, "new_progression": prog, "response_status": status,
                     **{f"n_triggers_{s}": trig.get((pid, s), 0) for s in TRIGGER_POINTS},
                     "n_open_discrepancies": disc.get(pid, 0), "decided": pid in decided_now})
    return pl.DataFrame(rows, schema=FACTS_SCHEMA), at


def _trigger_counts(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[tuple[str, str], int]:
    """(patient, severity) -> triggers of the latest prediction, discrepancy triggers left out."""
    rows = con.execute("""
        WITH latest AS (SELECT patient_id, prediction_id FROM (
                 SELECT patient_id, prediction_id,
                        row_number() OVER (PARTITION BY patient_id ORDER BY scored_at DESC, prediction_id) AS rn
                 FROM predictions WHERE patient_id IN (SELECT unnest(?))) WHERE rn = 1)
        SELECT t.patient_id, lower(coalesce(t.severity, 'low')) AS sev, count(*)
        FROM review_triggers t JOIN latest l USING (patient_id, prediction_id)
        WHERE coalesce(t.trigger, '') <> ? GROUP BY 1, 2""", [ids, DISCREPANCY_TRIGGER]).fetchall()
    out: dict[tuple[str, str], int] = {}
    for pid, sev, n in rows:
        key = (pid, sev if sev in TRIGGER_POINTS else "low")
        out[key] = out.get(key, 0) + n
    return out


def _open_discrepancies(evidence_con: duckdb.DuckDBPyConnection, board_cur: duckdb.DuckDBPyConnection,
                        ids: list[str]) -> dict[str, int]:
    found = evidence_con.execute("SELECT discrepancy_id, patient_id FROM discrepancies "
                                 "WHERE patient_id IN (SELECT unnest(?))", [ids]).fetchall()
    closed = {r[0] for r in board_cur.execute("""
        SELECT discrepancy_id FROM (
          SELECT discrepancy_id, status,
                 row_number() OVER (PARTITION BY discrepancy_id ORDER BY reviewed_at DESC, review_id DESC) AS rn
          FROM discrepancy_reviews WHERE patient_id IN (SELECT unnest(?)))
        WHERE rn = 1 AND lower(status) IN (SELECT unnest(?))""", [ids, list(CLOSED_REVIEW_STATUSES)]).fetchall()}
    out: dict[str, int] = {}
    for did, pid in found:
        if did not in closed:
            out[pid] = out.get(pid, 0) + 1
    return out


def urgency_table(evidence_con: duckdb.DuckDBPyConnection, board_cur: duckdb.DuckDBPyConnection, meeting_id: str,
                  as_of: datetime | None = None) -> pl.DataFrame:
    """The meeting's cases ranked by urgency, each with its score and why.

    Args:
        evidence_con: evidence store (read-only is fine).
        board_cur: a cursor on the board store (decisions, discrepancy reviews).
        as_of: "now" for the waiting time (default: now, but never later than the meeting).

    Returns:
        One row per case, ordered by rank (1 = most urgent): rank, patient_id, score, why,
        response_status, position, added_at, last_discussed_at, new_progression, n_triggers_*,
        n_open_discrepancies, decided, points_<component>. Empty for an unknown meeting.
    """
    facts, at = case_facts(evidence_con, board_cur, meeting_id)
    now = as_of or _now()
    return score_cases(facts, min(now, at) if at is not None else now)


# ---- the order used ------------------------------------------------------------------------------

def save_order(writer: BoardWriter, meeting_id: str, ordered_patient_ids: list[str], actor: str,
               basis: OrderBasis | str) -> str:
    """Record the agenda order used for a meeting (append-only) with an audit entry; returns its id.

    Raises:
        ValueError: empty or duplicated ids, no actor, or an unknown basis.
    """
    basis = OrderBasis(basis)
    ids = list(ordered_patient_ids)
    if not ids:
        raise ValueError("an agenda order needs at least one case")
    if len(set(ids)) != len(ids):
        raise ValueError("an agenda order lists each case once")
    if not actor:
        raise ValueError("an agenda order needs the user who saved it")
    order_id, at = uuid.uuid4().hex, _now()
    with writer.transaction() as cur:
        for pos, pid in enumerate(ids, start=1):
            cur.execute("INSERT INTO agenda_orders VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [order_id, meeting_id, pid, pos, str(basis), actor, at])
        audit.append(cur, actor, "agenda.order", meeting_id,
                     {"order_id": order_id, "basis": str(basis), "patient_ids": ids})
    return order_id


def saved_order(board_cur: duckdb.DuckDBPyConnection, meeting_id: str) -> pl.DataFrame:
    """The latest saved order of a meeting (patient_id, position, basis, saved_by, saved_at); may be empty."""
    return frame(board_cur, """
        SELECT patient_id, position, basis, saved_by, saved_at FROM agenda_orders
        WHERE order_id = (SELECT order_id FROM agenda_orders WHERE meeting_id = ?
                          ORDER BY saved_at DESC, order_id LIMIT 1)
        ORDER BY position""", [meeting_id])


def effective_order(evidence_con: duckdb.DuckDBPyConnection, board_cur: duckdb.DuckDBPyConnection, meeting_id: str,
                    urgency: pl.DataFrame | None = None) -> AgendaOrder:
    """The coordinator's saved manual order if there is one, else the urgency order.

    Cases added after a manual save follow, in urgency order; cases since removed are dropped.
    A saved order with basis ``urgency`` (e.g. "back to urgency") means the live urgency order.
    """
    urgency = urgency if urgency is not None else urgency_table(evidence_con, board_cur, meeting_id)
    by_urgency = urgency["patient_id"].to_list() if urgency.height else []
    saved = saved_order(board_cur, meeting_id)
    if saved.height and saved["basis"][0] == OrderBasis.MANUAL:
        kept = [p for p in saved["patient_id"].to_list() if p in set(by_urgency)]
        order = kept + [p for p in by_urgency if p not in set(kept)]
        return AgendaOrder(tuple(order), OrderBasis.MANUAL, saved["saved_by"][0], saved["saved_at"][0])
    if saved.height:
        return AgendaOrder(tuple(by_urgency), OrderBasis.URGENCY, saved["saved_by"][0], saved["saved_at"][0])
    return AgendaOrder(tuple(by_urgency), OrderBasis.URGENCY)
