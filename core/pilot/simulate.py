"""A simulated 90-day pilot for the demo: decided cases with real model risks, recorded like real decisions.

The agenda (which historical patients are on which weekly pilot meeting) comes from
``core.pilot.sim_agenda``. What the board saw is the registered model's risk as of the
meeting (features cut off at the meeting time), which is what ``model_risk`` on the
decision records. Agreement draws give ~75-80% acceptance improving over the weeks,
overrides mostly for patient preference, some modified and a few not used; turnaround
(case ready -> decided) is shorter than the pre-pilot baseline of
``data/pilot/thresholds.toml``.

Evidence-store rows (board_meetings, board_cases) are written inside build-demo's writer;
decisions go through ``core.board.decisions.record_decision`` into the board store,
hash-chained in the audit log like real ones. Everything drawn is deterministic: the
agenda by seed, each decision by its (meeting, patient).
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from core.board.decisions import Decision, ModelAgreement, OverrideReason, Recommendation, record_decision
from core.ingest.base import stable_id
from core.pilot.sim_agenda import N_MEETINGS, pilot_agenda, plan_agenda, write_pilot_agenda
from core.store.db import BoardWriter

logger = logging.getLogger(__name__)

SIM_ACTOR = "pilot-simulation (demo)"
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
