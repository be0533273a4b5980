"""The simulated pilot's agenda: weekly Wednesday meetings in the past and which historical patients are on them.

The pilot runs on the board's regular Wednesday meetings, starting the first Wednesday
a week after the thresholds were fixed (``meta.fixed_on``), so that 12-month outcomes
are observable by the demo's reference date. Its cases are HISTORICAL patients who, at
the meeting, are diagnosed, already past their first board (or at it), alive, free of
recorded progression and still followed up; so every patient's first-board index date,
and with it the model's training target, is unchanged. A patient is discussed once
during the pilot; how many cases a meeting has is bounded by the eligible patients of
the cohort (about 3 a meeting for 120 patients, 8-12 from about 300).
"""
from __future__ import annotations

import logging
import math
from datetime import date, datetime, time, timedelta

import duckdb
import numpy as np
import polars as pl

from core.models import target
from core.store.queries import frame

logger = logging.getLogger(__name__)

N_MEETINGS = 12
CASES_PER_MEETING = (8, 12)
MEETING_TIME = time(7, 30)
TITLE = "Multidisciplinary Tumor Board (pilot week {week})"
TITLE_LIKE = "%(pilot week %"
OUTCOME_MARGIN_DAYS = 30  # follow-up needed after the last meeting beyond the 365-day horizon


def pilot_start(reference: date, fixed_on: date | None) -> date:
    """First meeting: the first Wednesday at least a week after the thresholds were fixed, moved earlier
    (with a warning) when that leaves too little follow-up before ``reference`` to observe 12-month outcomes."""
    latest = reference - timedelta(days=target.HORIZON_DAYS + OUTCOME_MARGIN_DAYS + 7 * (N_MEETINGS - 1))
    start = (fixed_on or latest) + timedelta(days=7)
    start += timedelta(days=(2 - start.weekday()) % 7)  # Wednesday
    if start > latest:
        logger.warning("thresholds fixed on %s leave no observable 12-month outcomes before %s; "
                       "the simulated pilot starts earlier than that", fixed_on, reference)
        start = latest - timedelta(days=(latest.weekday() - 2) % 7)
    return start


def meeting_times(start: date, n: int = N_MEETINGS) -> list[datetime]:
    return [datetime.combine(start + timedelta(days=7 * k), MEETING_TIME) for k in range(n)]


def meeting_id(when: datetime) -> str:
    """The board's meeting id convention (core/synth/build.py): one meeting per Wednesday."""
    return f"MTB-{when:%Y%m%d}"


def patient_course(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Historical patients with first board, diagnosis, first progression/death and last contact.

    First event and last contact come from ``target.outcome_labels`` with an index date before
    any evidence, so 'event' and 'follow-up' mean exactly what the model's target means.
    """
    idx = frame(con, """SELECT patient_id, cohort, TIMESTAMP '1900-01-01' AS index_date, 'course' AS index_rule
                        FROM patients WHERE cohort = 'historical' ORDER BY patient_id""")
    if idx.height == 0:
        return pl.DataFrame(schema={"patient_id": pl.Utf8, "first_board": pl.Datetime("us"),
                                    "diagnosis_at": pl.Datetime("us"), "first_event": pl.Datetime("us"),
                                    "followup_end": pl.Datetime("us")})
    course = target.outcome_labels(con, idx).select("patient_id", pl.col("event_date").alias("first_event"),
                                                    "followup_end")
    boards = target.index_dates(con, idx["patient_id"].to_list()).filter(pl.col("index_rule") == "board meeting")
    dx = frame(con, "SELECT patient_id, CAST(diagnosis_date AS TIMESTAMP) AS diagnosis_at FROM patients "
                    "WHERE cohort = 'historical'")
    return (boards.select("patient_id", pl.col("index_date").alias("first_board"))
            .join(dx, on="patient_id", how="left").join(course, on="patient_id", how="left")
            .with_columns(pl.col(c).cast(pl.Datetime("us")) for c in ("first_board", "diagnosis_at", "first_event",
                                                                       "followup_end"))
            .sort("patient_id"))


def eligible_at(course: pl.DataFrame, when: datetime) -> pl.DataFrame:
    """Patients who could be on the board at ``when``: first board on or before that day, diagnosed,
    alive and progression-free, and seen again afterwards."""
    day_end = datetime.combine(when.date(), time.max)
    return course.filter(
        (pl.col("first_board") <= day_end)
        & (pl.col("diagnosis_at").is_null() | (pl.col("diagnosis_at") < when))
        & (pl.col("first_event").is_null() | (pl.col("first_event") > when))
        & (pl.col("followup_end") > when))


def plan_agenda(con: duckdb.DuckDBPyConnection, seed: int, reference: date, fixed_on: date | None) -> pl.DataFrame:
    """Which historical patients are on which pilot meeting, with the pilot's preparation times.

    Returns one row per case: meeting_id, scheduled_at, week (1..12), patient_id, first_discussion
    (the meeting is the patient's first board), added_at, ready_at, minutes_planned, presenter.
    """
    from core.synth.catalog import CLINICIANS

    rng = np.random.default_rng([seed, 90])
    times = meeting_times(pilot_start(reference, fixed_on))
    course = patient_course(con)
    pools = [eligible_at(course, t) for t in times]
    last_week = {pid: week for week, pool in enumerate(pools, start=1) for pid in pool["patient_id"].to_list()}
    used: set[str] = set()
    rows = []
    for week, (when, pool) in enumerate(zip(times, pools), start=1):
        left = {p for later in pools[week - 1:] for p in later["patient_id"].to_list()} - used
        avail = pool.filter(~pl.col("patient_id").is_in(list(used)))
        # every case already on that Wednesday's board is a pilot case (eligible or not: it was discussed)
        first = course.filter((pl.col("first_board").dt.date() == when.date())
                              & ~pl.col("patient_id").is_in(list(used)))
        others = avail.filter(pl.col("first_board").dt.date() != when.date())
        want = int(rng.integers(CASES_PER_MEETING[0], CASES_PER_MEETING[1] + 1))
        k = min(want, math.ceil(len(left) / (N_MEETINGS - week + 1)))  # spread a small cohort over all weeks
        picked = first["patient_id"].to_list()
        pids = others["patient_id"].to_list()
        urgent = sum(last_week[p] == week for p in pids)  # now or never: not eligible at a later meeting
        n_more = min(max(k - len(picked), urgent), others.height)
        if n_more:
            # re-discussions: recently diagnosed patients come back more often (weighted random order,
            # keys u^(1/w)); patients whose eligibility ends sooner go first so later weeks keep cases
            days = ((when - others["first_board"]).dt.total_seconds() / 86400).to_numpy()
            keys = rng.random(len(pids)) ** (1.0 / np.exp(-days / 365.0))
            order = sorted(range(len(pids)), key=lambda i: (last_week[pids[i]], -keys[i]))
            picked += [pids[i] for i in order[:n_more]]
        for pid in picked:
            used.add(pid)
            added = when - timedelta(hours=float(rng.uniform(60, 115)))
            prep = float(np.clip(rng.lognormal(math.log(20), 0.5), 3, 60))
            rows.append({"meeting_id": meeting_id(when), "scheduled_at": when, "week": week, "patient_id": str(pid),
                         "first_discussion": pid in set(first["patient_id"].to_list()),
                         "added_at": _minute(added), "ready_at": _minute(added + timedelta(hours=prep)),
                         "minutes_planned": int(rng.integers(4, 10)),
                         "presenter": CLINICIANS["oncology"][int(rng.integers(len(CLINICIANS["oncology"])))]})
    schema = {"meeting_id": pl.Utf8, "scheduled_at": pl.Datetime("us"), "week": pl.Int64, "patient_id": pl.Utf8,
              "first_discussion": pl.Boolean, "added_at": pl.Datetime("us"), "ready_at": pl.Datetime("us"),
              "minutes_planned": pl.Int64, "presenter": pl.Utf8}
    return pl.DataFrame(rows, schema=schema)


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def write_pilot_agenda(con: duckdb.DuckDBPyConnection, agenda: pl.DataFrame) -> int:
    """Write the pilot meetings and cases into a writable evidence store; returns the number of cases.

    A meeting that already exists that Wednesday (a historical first board) becomes the pilot
    meeting; its existing case rows keep their question and get the pilot's preparation times.
    """
    if agenda.height == 0:
        return 0
    from core.synth.catalog import SITES

    meetings = agenda.group_by("meeting_id", "scheduled_at", "week").len().sort("scheduled_at")
    con.execute("BEGIN TRANSACTION")
    try:
        for m in meetings.iter_rows(named=True):
            title = TITLE.format(week=m["week"])
            con.execute("""INSERT INTO board_meetings (meeting_id, scheduled_at, site, title) VALUES (?, ?, ?, ?)
                           ON CONFLICT (meeting_id) DO UPDATE SET title = excluded.title""",
                        [m["meeting_id"], m["scheduled_at"], SITES[0], title])
        existing = frame(con, """SELECT meeting_id, patient_id, position, question FROM board_cases
                                 WHERE meeting_id IN (SELECT unnest(?))""", [meetings["meeting_id"].to_list()])
        known = {(r["meeting_id"], r["patient_id"]): r for r in existing.iter_rows(named=True)}
        last_pos = {mid: int(existing.filter(pl.col("meeting_id") == mid)["position"].max() or 0)
                    for mid in meetings["meeting_id"].to_list()}
        facts = _case_facts(con, agenda["patient_id"].to_list())
        for r in agenda.iter_rows(named=True):
            old = known.get((r["meeting_id"], r["patient_id"]))
            if old is not None:
                con.execute("""UPDATE board_cases SET added_at = ?, ready_at = ?, minutes_planned = ?, presenter = ?
                               WHERE meeting_id = ? AND patient_id = ?""",
                            [r["added_at"], r["ready_at"], r["minutes_planned"], r["presenter"], r["meeting_id"],
                             r["patient_id"]])
                continue
            last_pos[r["meeting_id"]] += 1
            con.execute("""INSERT INTO board_cases (meeting_id, patient_id, position, question, added_at, ready_at,
                                                    minutes_planned, presenter) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                        [r["meeting_id"], r["patient_id"], last_pos[r["meeting_id"]],
                         _question(facts.get(r["patient_id"], {})), r["added_at"], r["ready_at"],
                         r["minutes_planned"], r["presenter"]])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return agenda.height


def _case_facts(con: duckdb.DuckDBPyConnection, pids: list[str]) -> dict[str, dict]:
    df = frame(con, """SELECT patient_id, cancer_type, oncotree_code, stage FROM patients
                       WHERE patient_id IN (SELECT unnest(?))""", [pids])
    return {r["patient_id"]: r for r in df.iter_rows(named=True)}


def _question(f: dict) -> str:
    dx = " ".join(x for x in (f"stage {f['stage']}" if f.get("stage") else "", f.get("oncotree_code") or
                              f.get("cancer_type") or "") if x)
    return f"{dx or 'Cancer'} on follow-up: restaging review, continue the current plan?"


def pilot_agenda(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The pilot cases as stored (meetings titled '... (pilot week N)'), in meeting and position order."""
    df = frame(con, """
        SELECT c.meeting_id, m.scheduled_at, CAST(regexp_extract(m.title, 'pilot week (\\d+)', 1) AS INTEGER) AS week,
               c.patient_id, c.position, c.added_at, c.ready_at, c.minutes_planned, p.cancer_type, p.stage,
               CAST(date_trunc('day', m.scheduled_at) = date_trunc('day', f.first_board) AS BOOLEAN) AS first_discussion
        FROM board_cases c JOIN board_meetings m USING (meeting_id) JOIN patients p USING (patient_id)
        LEFT JOIN (SELECT bc.patient_id, min(bm.scheduled_at) AS first_board FROM board_cases bc
                   JOIN board_meetings bm USING (meeting_id) GROUP BY 1) f USING (patient_id)
        WHERE m.title LIKE ? ORDER BY m.scheduled_at, c.position""", [TITLE_LIKE])
    return df
