"""Match every patient against every trial arm, in patient batches, for the trial_matches table."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timezone

import duckdb
import numpy as np
import polars as pl

from core.store import schema
from core.trials.catalog import load_trials, trial_genes
from core.trials.engine import ArmEvaluator, ArmOutcome
from core.trials.evaluate import FRAME_OF_REASON, Reason
from core.trials.facts import PatientFacts, load_facts
from core.trials.model import Trial, Tri
from core.trials.ranking import rank_score

logger = logging.getLogger(__name__)

FRAMES = ("variants", "tested", "biomarkers", "patients", "diagnoses")
# reason code -> index into FRAMES (-1: no evidence row)
FRAME_CODE = np.full(max(Reason) + 1, -1, dtype=np.int8)
for _r, _f in FRAME_OF_REASON.items():
    FRAME_CODE[int(_r)] = FRAMES.index(_f)


def match_all(con: duckdb.DuckDBPyConnection, *, as_of: date | None = None, patient_ids: list[str] | None = None,
              trials: list[Trial] | None = None, batch_size: int = 100_000,
              progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """Every (patient, trial, arm) with its status, counts and score: the rows of ``trial_matches``.

    Args:
        patient_ids: patients to match (default: all in the store).
        batch_size: patients per batch (memory grows linearly with it).
        progress: called with (patients done, patients total) after each batch.

    Returns:
        Columns of trial_matches: patient_id, trial_id, arm, status (met / unknown / not met),
        n_met, n_not_met, n_unknown, rank_score, criteria_json, computed_at. ``criteria_json``
        is filled for met and unknown rows only: ``{"n_to_resolve": k, "criteria": [{"path",
        "status", "evidence": "table:id" | null}, ...]}``; for not-met rows use
        core.trials.api.criteria_table.
    """
    trials = load_trials(con) if trials is None else trials
    genes = trial_genes(trials)
    computed_at = datetime.now(timezone.utc).replace(tzinfo=None)
    frames = []
    everyone = patient_ids is None
    if patient_ids is None:
        patient_ids = [r[0] for r in con.execute("SELECT patient_id FROM patients ORDER BY patient_id").fetchall()]
    for start in range(0, len(patient_ids), batch_size):
        t0 = time.perf_counter()
        batch = None if (everyone and len(patient_ids) <= batch_size) else patient_ids[start:start + batch_size]
        facts = load_facts(con, batch, genes=genes, as_of=as_of, detail=False)
        t1 = time.perf_counter()
        outcomes = ArmEvaluator(facts).all_arms(trials)
        t2 = time.perf_counter()
        refs = _EvidenceRefs(facts)
        frames.extend(_arm_frame(o, facts, refs) for o in outcomes)
        logger.info("matched %d patients x %d arms: facts %.2fs, evaluate %.2fs, frames %.2fs", facts.n,
                    len(outcomes), t1 - t0, t2 - t1, time.perf_counter() - t2)
        if progress:
            progress(min(start + batch_size, len(patient_ids)), len(patient_ids))
    if not frames:
        return _empty()
    out = pl.concat(frames)
    return out.with_columns(pl.lit(computed_at).alias("computed_at"))


def write_trial_matches(con: duckdb.DuckDBPyConnection, matches: pl.DataFrame, *, replace_all: bool = True,
                        statuses: tuple[str, ...] = ("met", "unknown")) -> int:
    """Store ``match_all`` output in ``trial_matches``; returns the number of rows written.

    Like MatchMiner, only candidate rows are stored by default (met and unknown arms): a
    (patient, arm) pair of the run without a row is *not met* as of ``computed_at``. Pass
    ``statuses=("met", "unknown", "not met")`` to store every pair (about 10x the rows;
    the primary-key index makes that write slow on 100k patients). ``replace_all=False``
    replaces only the rows of the patients in ``matches``.
    """
    ids = matches["patient_id"].unique().to_list() if not replace_all else []
    matches = matches.filter(pl.col("status").is_in(list(statuses)))
    con.execute("BEGIN TRANSACTION")
    try:
        if replace_all:
            _recreate_trial_matches(con)  # far faster than DELETE on a primary-key table of millions of rows
        else:
            con.execute("DELETE FROM trial_matches WHERE patient_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        con.register("_trial_matches_new", matches.to_arrow())
        con.execute("INSERT INTO trial_matches (patient_id, trial_id, arm, status, n_met, n_not_met, n_unknown, "
                    "rank_score, criteria_json, computed_at) SELECT patient_id, trial_id, arm, status, n_met, "
                    "n_not_met, n_unknown, rank_score, criteria_json, computed_at FROM _trial_matches_new")
        con.unregister("_trial_matches_new")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return matches.height


def _recreate_trial_matches(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS trial_matches")
    con.execute(schema.EVIDENCE_TABLES["trial_matches"].ddl())
    for m in schema.EVIDENCE_MIGRATIONS:
        for stmt in m.statements:
            if "ON trial_matches" in stmt:
                con.execute(stmt)


class _EvidenceRefs:
    """Every evidence row of a batch as a JSON string '"table:id"', in one Series (built on first use).

    ``offsets[frame]`` is where that facts frame starts, so a (reason, row) pair maps to one
    index and a whole column of evidence references is a single ``gather``.
    """

    def __init__(self, facts: PatientFacts) -> None:
        self.facts = facts
        self._all: pl.Series | None = None
        self.offsets = np.zeros(len(FRAMES), dtype=np.int64)

    @property
    def all(self) -> pl.Series:
        if self._all is None:
            parts, start = [], 0
            for i, name in enumerate(FRAMES):
                f = self.facts.frame(name)
                self.offsets[i] = start
                start += f.height
                parts.append(f.select(pl.format('"{}:{}"', pl.col("ev_table"),
                                                pl.col("ev_id").str.replace_all('"', "'"))).to_series())
            self._all = pl.concat(parts) if parts else pl.Series(dtype=pl.String)
        return self._all

    def gather(self, reason: np.ndarray, row: np.ndarray) -> pl.Series:
        """JSON evidence reference per element ('null' when no row decided it)."""
        refs = self.all
        frame = FRAME_CODE[reason]
        ok = (frame >= 0) & (row >= 0)
        idx = np.where(ok, self.offsets[np.maximum(frame, 0)] + row, 0)
        out = refs.gather(idx) if refs.len() else pl.repeat("null", len(idx), dtype=pl.String, eager=True)
        return pl.select(pl.when(pl.Series(ok)).then(out).otherwise(pl.lit("null"))).to_series()


def _status_words(status: np.ndarray) -> pl.Series:
    return pl.Series(status).replace_strict({-1: "not met", 0: "unknown", 1: "met"}, return_dtype=pl.String)


def _arm_frame(o: ArmOutcome, facts: PatientFacts, refs: _EvidenceRefs) -> pl.DataFrame:
    n = facts.n
    if n == 0:
        return _empty().drop("computed_at")
    criteria = pl.repeat(None, n, dtype=pl.String, eager=True).alias("criteria_json")
    idx = np.flatnonzero(o.status != Tri.NOT_MET)
    if len(idx):
        criteria = criteria.scatter(idx, _criteria_json(o, idx, refs))
    return pl.DataFrame([
        facts.patients["patient_id"],
        pl.repeat(o.trial.trial_id, n, dtype=pl.String, eager=True).alias("trial_id"),
        pl.repeat(o.arm.arm_id, n, dtype=pl.String, eager=True).alias("arm"),
        _status_words(o.status).alias("status"),
        pl.Series("n_met", o.n_met.astype(np.int32)), pl.Series("n_not_met", o.n_not_met.astype(np.int32)),
        pl.Series("n_unknown", o.n_unknown.astype(np.int32)),
        pl.Series("rank_score", rank_score(o.status, o.n_to_resolve, o.priority, o.level, o.is_open)),
        criteria,
    ])


def _criteria_json(o: ArmOutcome, idx: np.ndarray, refs: _EvidenceRefs) -> pl.Series:
    cols: list[pl.Series] = [pl.Series("k", o.n_to_resolve[idx].astype(np.int32))]
    parts: list[pl.Expr] = [pl.lit('{"n_to_resolve":'), pl.col("k").cast(pl.String), pl.lit(',"criteria":[')]
    for j, (c, r) in enumerate(zip(o.leaves, o.results)):
        cols.append(_status_words(r.status[idx]).alias(f"s{j}"))
        cols.append(refs.gather(r.reason[idx], r.row[idx]).alias(f"e{j}"))
        sep = "," if j else ""
        parts += [pl.lit(f'{sep}{{"path":{json.dumps(c.path)},"status":"'), pl.col(f"s{j}"),
                  pl.lit('","evidence":'), pl.col(f"e{j}"), pl.lit("}")]
    parts.append(pl.lit("]}"))
    return pl.DataFrame(cols).select(pl.concat_str(parts).alias("criteria_json")).to_series()


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "patient_id": pl.String, "trial_id": pl.String, "arm": pl.String, "status": pl.String, "n_met": pl.Int32,
        "n_not_met": pl.Int32, "n_unknown": pl.Int32, "rank_score": pl.Float64, "criteria_json": pl.String,
        "computed_at": pl.Datetime("us")})
