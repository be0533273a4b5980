"""Rank arms for a patient, in the spirit of MatchMiner's trial_match_sorting.

Order of keys (each breaks ties of the previous one):

1. open arms before suspended arms / closed trials;
2. status: met, then unknown, then not met;
3. fewer unknown criteria that decide the arm (``n_to_resolve``): a trial missing one test
   comes before one missing three;
4. MatchMiner's sort value of the best supporting criterion: MMR / MSI 20, TMB 30,
   signature 40, variant tier 1 / 2 / 3 / 4 = 50 / 60 / 80 / 90, CNV 70-73, wild-type 100,
   untiered alteration 95, clinical-only 999 (lower is better);
5. variant-level before gene-level before no genomic match.

``rank_score`` packs these keys into one number (higher is better) so that sorting by it
alone reproduces the order; it is stored in trial_matches.rank_score.
"""
from __future__ import annotations

import numpy as np

from core.trials.evaluate import MMR_PRIORITY, NO_PRIORITY, SIGNATURE_PRIORITY, TMB_PRIORITY, WILDTYPE_PRIORITY
from core.trials.facts_genomic import CNV_PRIORITY, TIER_PRIORITY, UNTIERED_PRIORITY


def rank_score(status: np.ndarray, n_to_resolve: np.ndarray, priority: np.ndarray, level: np.ndarray,
               is_open: bool | np.ndarray) -> np.ndarray:
    """One float per arm: higher ranks first (see the module docstring for the key order)."""
    pts = np.select([status == 1, status == 0], [3, 2], 0).astype(np.float64)
    score = pts * 1_000_000
    score -= np.minimum(n_to_resolve, 99).astype(np.float64) * 10_000
    score -= np.minimum(priority, NO_PRIORITY).astype(np.float64) * 10
    score -= level.astype(np.float64) * 2
    score += np.where(is_open, 4_000_000, 0)
    return score


def priority_label(priority: int) -> str:
    """Why an arm sorts where it does, e.g. 'MMR/MSI', 'tier 1 alteration'."""
    if priority == MMR_PRIORITY:
        return "MMR deficient / MSI-H"
    if priority == TMB_PRIORITY:
        return "TMB"
    if priority == SIGNATURE_PRIORITY:
        return "mutational signature"
    tiers = {v: k for k, v in TIER_PRIORITY.items() if k != "3"}
    if priority in tiers:
        return f"level {tiers[priority]} alteration" if priority != 80 else "level 3 alteration"
    cnv = {v: k for k, v in CNV_PRIORITY.items()}
    if priority in cnv:
        return f"copy-number ({cnv[priority].lower()})"
    if priority == WILDTYPE_PRIORITY:
        return "wild-type"
    if priority == UNTIERED_PRIORITY:
        return "untiered alteration"
    return "clinical criteria"
