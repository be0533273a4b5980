"""What pages and the CLI call: ranked trials, per-criterion tables, what to test next.

All functions read the store through ``con`` (read-only is enough) and return polars frames.
"""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from core.trials.catalog import load_trials
from core.trials.engine import LEVEL_NAME, ArmEvaluator, ArmOutcome
from core.trials.evaluate import FRAME_OF_REASON, NO_PRIORITY, Reason
from core.trials.explain import explain, test_for
from core.trials.facts import PatientFacts, load_facts
from core.trials.model import CriterionStatus, Trial, Tri
from core.trials.ranking import priority_label, rank_score

MATCH_COLUMNS = ("rank", "trial_id", "protocol_no", "title", "is_demo", "arm", "arm_description", "is_open",
                 "status", "n_met", "n_not_met", "n_unknown", "n_to_resolve", "match_level", "priority_reason",
                 "tests_to_resolve", "rank_score")


def evaluate_patient(con: duckdb.DuckDBPyConnection, patient_id: str, *, as_of: date | None = None,
                     trials: list[Trial] | None = None) -> tuple[PatientFacts, list[ArmOutcome]]:
    """Facts of one patient and every arm of every trial evaluated for them.

    Raises:
        LookupError: the patient is not in the store.
    """
    trials = load_trials(con) if trials is None else trials
    facts = load_facts(con, [patient_id], as_of=as_of)
    if facts.n == 0:
        raise LookupError(f"no patient {patient_id!r} in the store")
    return facts, ArmEvaluator(facts).all_arms(trials)


def match_patient(con: duckdb.DuckDBPyConnection, patient_id: str, *, as_of: date | None = None,
                  trials: list[Trial] | None = None) -> pl.DataFrame:
    """Every trial arm for one patient, best first.

    Returns:
        One row per arm with the columns of ``MATCH_COLUMNS``: ``status`` is met / unknown /
        not met, ``n_to_resolve`` counts the unknown criteria that decide an unknown arm,
        ``tests_to_resolve`` lists the tests that would decide them, ``match_level`` is
        variant / gene / "" and ``rank_score`` orders the rows (see core/trials/ranking.py).

    Raises:
        LookupError: the patient is not in the store.
    """
    return _match_rows(evaluate_patient(con, patient_id, as_of=as_of, trials=trials)[1])


def _match_rows(outcomes: list[ArmOutcome]) -> pl.DataFrame:
    rows = []
    for o in outcomes:
        tests = sorted({test_for(c, Reason(int(r.reason[0])))
                        for c, r, rel in zip(o.leaves, o.results, o.relevant)
                        if rel[0] and r.status[0] == Tri.UNKNOWN})
        rows.append({
            "trial_id": o.trial.trial_id, "protocol_no": o.trial.protocol_no, "title": o.trial.title,
            "is_demo": o.trial.is_demo, "arm": o.arm.arm_id, "arm_description": o.arm.description,
            "is_open": o.is_open, "status": CriterionStatus.of(o.status[0]).value,
            "n_met": int(o.n_met[0]), "n_not_met": int(o.n_not_met[0]), "n_unknown": int(o.n_unknown[0]),
            "n_to_resolve": int(o.n_to_resolve[0]), "match_level": LEVEL_NAME[int(o.level[0])],
            "priority_reason": _priority_reason(o),
            "tests_to_resolve": tests,
            "rank_score": float(rank_score(o.status, o.n_to_resolve, o.priority, o.level, o.is_open)[0]),
        })
    if not rows:
        return pl.DataFrame(schema=_MATCH_SCHEMA)
    df = pl.DataFrame(rows, schema={c: t for c, t in _MATCH_SCHEMA.items() if c != "rank"})
    df = df.sort(["rank_score", "trial_id", "arm"], descending=[True, False, False])
    return df.with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int32)).select(MATCH_COLUMNS)


def _priority_reason(o: ArmOutcome) -> str:
    """What the arm's rank rests on (MatchMiner sort key), '' when nothing supports a match yet."""
    if o.status[0] == Tri.NOT_MET or (o.status[0] == Tri.UNKNOWN and o.priority[0] >= NO_PRIORITY):
        return ""
    return priority_label(int(o.priority[0]))


_MATCH_SCHEMA = {
    "rank": pl.Int32, "trial_id": pl.String, "protocol_no": pl.String, "title": pl.String, "is_demo": pl.Boolean,
    "arm": pl.String, "arm_description": pl.String, "is_open": pl.Boolean, "status": pl.String,
    "n_met": pl.Int32, "n_not_met": pl.Int32, "n_unknown": pl.Int32, "n_to_resolve": pl.Int32,
    "match_level": pl.String, "priority_reason": pl.String, "tests_to_resolve": pl.List(pl.String),
    "rank_score": pl.Float64,
}


def criteria_table(con: duckdb.DuckDBPyConnection, patient_id: str, trial_id: str, arm: str, *,
                   as_of: date | None = None) -> pl.DataFrame:
    """One row per criterion of one arm for one patient, with the evidence that decided it.

    Returns:
        Columns: ``path`` (CTML field path), ``node`` (clinical / genomic), ``description``,
        ``status`` (met / not met / unknown), ``negated``, ``decisive`` (the criterion decides
        the arm's status), ``reason``, ``match_level``, ``evidence_table``, ``evidence_id``,
        ``source_uri``, ``locator``, ``observed_at`` and ``test_to_resolve`` (for unknowns).

    Raises:
        LookupError: unknown patient; KeyError: unknown trial or arm.
    """
    trials = load_trials(con, [trial_id])
    if not trials:
        raise KeyError(f"no trial {trial_id!r} in the store")
    t = trials[0]
    a = t.arm(arm)
    facts = load_facts(con, [patient_id], as_of=as_of)
    if facts.n == 0:
        raise LookupError(f"no patient {patient_id!r} in the store")
    return _criteria_frame(facts, ArmEvaluator(facts).arm(t, a))


CRITERIA_SCHEMA = {
    "path": pl.String, "node": pl.String, "description": pl.String, "status": pl.String, "negated": pl.Boolean,
    "decisive": pl.Boolean, "reason": pl.String, "match_level": pl.String, "evidence_table": pl.String,
    "evidence_id": pl.String, "source_uri": pl.String, "locator": pl.String,
    "observed_at": pl.Datetime("us"), "test_to_resolve": pl.String}


def _criteria_frame(facts: PatientFacts, o: ArmOutcome, i: int = 0) -> pl.DataFrame:
    """Per-criterion rows of patient ``i`` of ``facts`` for one evaluated arm."""
    rows = []
    for c, r, rel in zip(o.leaves, o.results, o.relevant):
        reason = Reason(int(r.reason[i]))
        ev = _evidence_row(facts, reason, int(r.row[i])) or {}
        text, test = explain(c, int(r.status[i]), reason, ev)
        rows.append({
            "path": c.path, "node": c.node, "description": c.description,
            "status": CriterionStatus.of(r.status[i]).value, "negated": c.negate, "decisive": bool(rel[i]),
            "reason": text, "match_level": c.level.value, "evidence_table": ev.get("ev_table"),
            "evidence_id": ev.get("ev_id"), "source_uri": ev.get("source_uri"), "locator": ev.get("locator"),
            "observed_at": ev.get("observed_at"), "test_to_resolve": test,
        })
    return pl.DataFrame(rows, schema=CRITERIA_SCHEMA)


def _evidence_row(facts: PatientFacts, reason: Reason, row: int) -> dict | None:
    frame = FRAME_OF_REASON.get(reason)
    if frame is None or row < 0:
        return None
    return facts.frame(frame).row(row, named=True)


def what_to_test_next(con: duckdb.DuckDBPyConnection, patient_id: str, *, top_arms: int = 5,
                      as_of: date | None = None) -> pl.DataFrame:
    """Tests that would decide the unknown criteria of the best-ranked undecided arms.

    Args:
        top_arms: how many of the best open arms with status unknown to consider.

    Returns:
        One row per test: ``test``, ``resolves_arms`` (how many of those arms it helps decide),
        ``arms`` (trial_id / arm), ``criteria`` (the criteria it decides), ``best_rank``
        (rank of the best arm it helps); sorted by best_rank then resolves_arms.
    """
    facts, outcomes = evaluate_patient(con, patient_id, as_of=as_of)
    by_arm = {(o.trial.trial_id, o.arm.arm_id): o for o in outcomes}
    ranked = _match_rows(outcomes)
    best = ranked.filter((pl.col("status") == CriterionStatus.UNKNOWN.value) & pl.col("is_open")).head(top_arms)
    schema = {"test": pl.String, "resolves_arms": pl.Int32, "arms": pl.List(pl.String),
              "criteria": pl.List(pl.String), "best_rank": pl.Int32}
    if best.height == 0:
        return pl.DataFrame(schema=schema)
    crit: dict[str, dict] = {}
    for r in best.iter_rows(named=True):
        table = _criteria_frame(facts, by_arm[(r["trial_id"], r["arm"])])
        for c in table.filter(pl.col("decisive") & (pl.col("status") == "unknown")).iter_rows(named=True):
            e = crit.setdefault(c["test_to_resolve"], {"arms": [], "criteria": [], "best_rank": r["rank"]})
            label = f"{r['trial_id']} / {r['arm']}"
            if label not in e["arms"]:
                e["arms"].append(label)
            if c["description"] not in e["criteria"]:
                e["criteria"].append(c["description"])
    rows = [{"test": k, "resolves_arms": len(v["arms"]), "arms": v["arms"], "criteria": v["criteria"],
             "best_rank": v["best_rank"]} for k, v in crit.items()]
    return pl.DataFrame(rows, schema=schema).sort(["best_rank", "resolves_arms", "test"],
                                                  descending=[False, True, False])
