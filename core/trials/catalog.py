"""Trials as stored in the evidence store (``trials`` table, written by core/ingest/ctml.py)."""
from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache

import duckdb

from core.trials.ctml import parse_trial
from core.trials.model import CtmlError, GenomicSpec, Trial

logger = logging.getLogger(__name__)


def load_trials(con: duckdb.DuckDBPyConnection, trial_ids: list[str] | None = None) -> list[Trial]:
    """Every stored trial (or those in ``trial_ids``), parsed and validated, ordered by trial_id.

    A stored trial that no longer validates (e.g. after a parser change) is skipped with a
    warning naming it, instead of failing the whole match.
    """
    rows = con.execute("SELECT trial_id, ctml_json FROM trials ORDER BY trial_id").fetchall()
    out = []
    for trial_id, doc_json in rows:
        if trial_ids is not None and trial_id not in trial_ids:
            continue
        try:
            out.append(_parse_cached(trial_id, doc_json, hashlib.sha256(doc_json.encode()).hexdigest()))
        except (CtmlError, ValueError) as e:
            logger.warning("stored trial %s does not validate and is skipped: %s", trial_id, e)
    return out


@lru_cache(maxsize=512)
def _parse_cached(trial_id: str, doc_json: str, _sha: str) -> Trial:
    trial, _ = parse_trial(json.loads(doc_json), fallback_id=trial_id)
    if trial.trial_id != trial_id:  # a renamed duplicate (see core/ingest/ctml.py)
        trial = Trial(trial_id, trial.protocol_no, trial.nct_id, trial.title, trial.phase, trial.status,
                      trial.is_demo, trial.arms, trial.doc)
    return trial


def trial_genes(trials: list[Trial]) -> set[str]:
    """HUGO symbols the trials ask about (to load only those genes' panel coverage)."""
    genes: set[str] = set()
    for t in trials:
        for a in t.arms:
            for c in a.leaves():
                if c.key == "variant":
                    s: GenomicSpec = c.params[0]
                    genes.update(g for g in (s.gene, s.fusion_partner) if g not in (None, "any_gene", "intergenic"))
    return genes
