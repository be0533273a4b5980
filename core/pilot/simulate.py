"""A simulated 90-day pilot for the demo: weekly board meetings in the past, decided cases, real model risks.

The pilot runs on the board's regular Wednesday meetings, starting the first Wednesday
a week after the thresholds were fixed (``meta.fixed_on``), so that 12-month outcomes
are observable by the demo's reference date. Its cases are HISTORICAL patients who, at
the meeting, are diagnosed, already past their first board (or at it), alive, free of
recorded progression and still followed up; so the board's regular first-board index date
of every patient, and with it the model's training target, is unchanged. A patient is
discussed once during the pilot.

What the board saw is the registered model's risk as of the meeting (features cut off at
the meeting time), which is what ``model_risk`` on the decision records. Agreement draws
give ~75-80% acceptance improving over the weeks, overrides mostly for patient preference,
some modified and a few not used; turnaround (case ready -> decided) is shorter than the
pre-pilot baseline of ``data/pilot/thresholds.toml``.

Evidence-store rows (board_meetings, board_cases) are written by ``write_pilot_agenda``
inside build-demo's writer; decisions go through ``core.board.decisions.record_decision``
into the board store, hash-chained in the audit log like real ones. Everything drawn is
deterministic: the agenda by seed, each decision by its (meeting, patient).
"""
from __future__ import annotations

import argparse
import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from core.board.decisions import Decision, ModelAgreement, OverrideReason, Recommendation, record_decision
from core.ingest.base import stable_id
from core.models import target
from core.store.db import BoardWriter
from core.store.queries import frame

logger = logging.getLogger(__name__)

N_MEETINGS = 12
CASES_PER_MEETING = (8, 12)
MEETING_TIME = time(7, 30)
TITLE = "Multidisciplinary Tumor Board (pilot week {week})"
TITLE_LIKE = "%(pilot week %"
SIM_ACTOR = "pilot-simulation (demo)"
OUTCOME_MARGIN_DAYS = 30  # follow-up needed after the last meeting beyond the 365-day horizon
REASON_WEIGHTS = {
    OverrideReason.PATIENT_PREFERENCE: 0.36, OverrideReason.COMORBIDITY: 0.18, OverrideReason.DISAGREE_EVIDENCE: 0.14,
    OverrideReason.MISSING_DATA: 0.10, OverrideReason.GUIDELINE: 0.09, OverrideReason.TRIAL: 0.08,
    OverrideReason.OTHER: 0.05,
}
REASON_TEXT = {
    OverrideReason.PATIENT_PREFERENCE: "Patient's stated preference after discussion of options.",
    OverrideReason.COMORBIDITY: "Performance status and comorbidities argue for a different plan.",
    OverrideReason.DISAGREE_EVIDENCE: "Recent imaging/pathology not reflected in the model inputs.",
    OverrideReason.MISSING_DATA: "Key results not yet on file when the model scored.",
    OverrideReason.GUIDELINE: "Guideline pathway recommends otherwise for this stage.",
    OverrideReason.TRIAL: "Eligible for an open trial at the centre.",
    OverrideReason.OTHER: "See clinic letter.",
}
PLAN_TEXT = {
    Recommendation.SURVEILLANCE: "Continue surveillance; restaging imaging in 3 months.",
    Recommendation.FURTHER_WORKUP: "Further work-up before a treatment decision.",
    Recommendation.SURGERY: "Refer for surgical resection.",
    Recommendation.CHEMORADIATION: "Concurrent chemoradiation.",
    Recommendation.SYSTEMIC: "Start systemic therapy per pathway.",
    Recommendation.TARGETED: "Targeted therapy according to the driver on file.",
    Recommendation.IMMUNOTHERAPY: "Immunotherapy per pathway.",
    Recommendation.TRIAL: "Refer for trial screening.",
}
ATTENDEES = ("medical oncology", "radiology", "pathology", "surgery", "radiation oncology", "nursing")


# ---- schedule and agenda ---------------------------------------------------------------------------

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
    used: set[str] = set()
    rows = []
    for week, (when, pool) in enumerate(zip(times, pools), start=1):
        left = {p for later in pools[week - 1:] for p in later["patient_id"].to_list()} - used
        avail = pool.filter(~pl.col("patient_id").is_in(list(used)))
        first = avail.filter(pl.col("first_board").dt.date() == when.date())
        others = avail.filter(pl.col("first_board").dt.date() != when.date())
        want = int(rng.integers(CASES_PER_MEETING[0], CASES_PER_MEETING[1] + 1))
        k = min(want, math.ceil(len(left) / (N_MEETINGS - week + 1)))
        picked = first["patient_id"].to_list()
        n_more = max(0, min(k - len(picked), others.height))
        if n_more:
            # re-discussions: recently diagnosed patients come back more often
            days = ((when - others["first_board"]).dt.total_seconds() / 86400).to_numpy()
            w = np.exp(-days / 365.0)
            picked += list(rng.choice(others["patient_id"].to_numpy(), size=n_more, replace=False, p=w / w.sum()))
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


# ---- decisions ---------------------------------------------------------------------------------------

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


@dataclass(frozen=True)
class ModelView:
    """What the model said about one case at the meeting."""

    risk: float
    risk_low: float
    risk_high: float
    modalities_used: tuple[str, ...]
    modalities_missing: tuple[str, ...]
    model_id: str
    model_version: str


def score_at_meetings(con: duckdb.DuckDBPyConnection, agenda: pl.DataFrame) -> dict[tuple[str, str], ModelView]:
    """The registered model's risk for each case as of its meeting time ({} when no model is registered)."""
    from core.models.features import patient_features
    from core.models.registry import load_model

    if agenda.height == 0:
        return {}
    try:
        model, entry = load_model(con)
    except LookupError as e:
        logger.warning("pilot simulation without model risks: %s", e)
        return {}
    out: dict[tuple[str, str], ModelView] = {}
    # a patient is on one pilot meeting, so one as-of per patient
    as_of = agenda.select("patient_id", pl.col("scheduled_at").cast(pl.Datetime("us")).alias("as_of"))
    feats = patient_features(con, as_of["patient_id"].to_list(), as_of=as_of, projection=model.projection)
    pred = model.predict(feats)
    by_pid = {pid: i for i, pid in enumerate(feats["patient_id"].to_list())}
    for r in agenda.iter_rows(named=True):
        i = by_pid.get(r["patient_id"])
        if i is None:
            continue
        out[(r["meeting_id"], r["patient_id"])] = ModelView(
            float(pred.risk[i]), float(pred.risk_low[i]), float(pred.risk_high[i]), tuple(pred.used(i)),
            tuple(pred.missing(i)), entry.model_id, entry.version)
    return out


def case_rng(meeting: str, patient_id: str) -> np.random.Generator:
    return np.random.default_rng(int(stable_id("pilot-decision", meeting, patient_id), 16))


def draw_decision(case: dict, view: ModelView | None, n_weeks: int = N_MEETINGS) -> Decision:
    """One board decision, deterministic for its (meeting, patient)."""
    rng = case_rng(case["meeting_id"], case["patient_id"])
    week = int(case.get("week") or 1)
    n_missing = len(view.modalities_missing) if view else 5
    if view is None or rng.random() < 0.03 + 0.03 * (n_missing >= 3):
        agreement, reason = ModelAgreement.NOT_USED, OverrideReason.MISSING_DATA if view is None or n_missing >= 3 \
            else OverrideReason.OTHER
    else:
        p_accept = 0.71 + 0.12 * (week - 1) / max(n_weeks - 1, 1) - 0.04 * (n_missing >= 2)
        if rng.random() < p_accept:
            agreement, reason = ModelAgreement.ACCEPTED, OverrideReason.NONE
        else:
            agreement = ModelAgreement.MODIFIED if rng.random() < 0.45 else ModelAgreement.OVERRIDDEN
            w = dict(REASON_WEIGHTS)
            if n_missing >= 2:
                w[OverrideReason.MISSING_DATA] += 0.25
            keys = list(w)
            p = np.array([w[k] for k in keys])
            reason = keys[int(rng.choice(len(keys), p=p / p.sum()))]
    rec = _recommendation(case, view, rng)
    offset = int(case.get("minutes_before") or 0) + int(case.get("minutes_planned") or 5)
    attendees = tuple(ATTENDEES[i] for i in sorted(rng.choice(len(ATTENDEES), size=int(rng.integers(3, 6)),
                                                               replace=False)))
    return Decision(
        meeting_id=case["meeting_id"], patient_id=case["patient_id"], recommendation_category=rec,
        recommendation_text=PLAN_TEXT.get(rec, ""), model_agreement=agreement, reason_category=reason,
        reason_text=REASON_TEXT.get(reason, "") if reason != OverrideReason.NONE else "", attendees=attendees,
        decided_by=SIM_ACTOR, prediction_id=None, model_risk=None if view is None else view.risk,
        decided_at=case["scheduled_at"] + timedelta(minutes=offset))


def _recommendation(case: dict, view: ModelView | None, rng: np.random.Generator) -> Recommendation:
    stage = (case.get("stage") or "").upper()
    if case.get("first_discussion"):
        if stage.startswith("IV"):
            return Recommendation.TARGETED if rng.random() < 0.35 else Recommendation.SYSTEMIC
        if stage.startswith("III"):
            return Recommendation.CHEMORADIATION if case.get("cancer_type") == "lung" else Recommendation.SURGERY
        return Recommendation.SURGERY
    high = view is not None and view.risk >= 0.4
    u = rng.random()
    if u < (0.45 if high else 0.7):
        return Recommendation.SURVEILLANCE
    if u < (0.8 if high else 0.9):
        return Recommendation.FURTHER_WORKUP
    return Recommendation.TRIAL if rng.random() < 0.3 else Recommendation.SYSTEMIC


def plan_decisions(con: duckdb.DuckDBPyConnection, agenda: pl.DataFrame | None = None) -> list[tuple[Decision, dict]]:
    """A decision and its snapshot for every pilot case in the store (``pilot_agenda`` unless given)."""
    agenda = pilot_agenda(con) if agenda is None else agenda
    if agenda.height == 0:
        return []
    agenda = agenda.sort("scheduled_at", "position").with_columns(
        (pl.col("minutes_planned").cum_sum().over("meeting_id") - pl.col("minutes_planned")).alias("minutes_before"))
    views = score_at_meetings(con, agenda)
    out = []
    for case in agenda.iter_rows(named=True):
        view = views.get((case["meeting_id"], case["patient_id"]))
        d = draw_decision(case, view)
        snapshot = {"simulated": True, "generator": "core.pilot.simulate", "meeting_id": case["meeting_id"],
                    "position": case["position"], "week": case["week"],
                    "model": None if view is None else {
                        "model_id": view.model_id, "model_version": view.model_version, "risk": view.risk,
                        "risk_low": view.risk_low, "risk_high": view.risk_high, "as_of": case["scheduled_at"],
                        "modalities_used": list(view.modalities_used),
                        "modalities_missing": list(view.modalities_missing)}}
        out.append((d, snapshot))
    return out


def record_pilot_decisions(writer: BoardWriter, planned: list[tuple[Decision, dict]], store_version: str | None) -> int:
    """Record the planned decisions through ``record_decision``; cases already decided are skipped
    (re-running a build with the same seed adds nothing). Returns the number recorded."""
    if not planned:
        return 0
    cur = writer.read()
    try:
        done = {(m, p) for m, p in cur.execute(
            "SELECT meeting_id, patient_id FROM decisions WHERE meeting_id IN (SELECT unnest(?))",
            [sorted({d.meeting_id for d, _ in planned})]).fetchall()}
    finally:
        cur.close()
    n = 0
    for d, snap in planned:
        if (d.meeting_id, d.patient_id) in done:
            continue
        record_decision(writer, d, snap | {"store_version": store_version}, store_version)
        n += 1
    return n


def store_version_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """File name of the store ``con`` writes (the version it will publish)."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return Path(rows[0][0]).name if rows and rows[0][0] else None


def simulate_pilot(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> None:
    """build-demo post-build step: pilot agenda into the new evidence store, decisions into the board store.

    When the board store is held by a running app, the agenda still lands and the decisions can be
    added later with ``python -m core pilot simulate`` (app stopped).
    """
    from core.pilot.verdict import load_thresholds
    from core.store import db

    seed = int(getattr(args, "seed", 0) or 0)
    reference = getattr(args, "reference_date", None) or date.today()
    fixed = load_thresholds().meta.get("fixed_on")
    fixed_on = date.fromisoformat(str(fixed)) if fixed else None
    agenda = plan_agenda(con, seed, reference, fixed_on)
    n = write_pilot_agenda(con, agenda)
    planned = plan_decisions(con)
    try:
        writer = db.board_writer()
    except duckdb.IOException as e:
        logger.warning("pilot agenda written (%d cases) but the board store is busy (%s): stop the app and run "
                       "`python -m core pilot simulate` to record the pilot decisions", n, type(e).__name__)
        return
    k = record_pilot_decisions(writer, planned, store_version_of(con))
    logger.info("simulated pilot: %d meetings, %d cases, %d decisions recorded", agenda["meeting_id"].n_unique(),
                n, k)
