"""Evaluate arms' match trees with Kleene logic, for many patients at once.

AND is the minimum and OR the maximum of the children's statuses (-1 not met, 0 unknown,
1 met), so "unknown AND not met" is not met, "unknown OR met" is met, and the negation of
unknown stays unknown. Leaf results are cached by criterion, so the same condition in many
arms (age >= 18, a diagnosis) is evaluated once per batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.trials.evaluate import NO_PRIORITY, LeafResult, evaluate_positive
from core.trials.facts import PatientFacts
from core.trials.model import Arm, Criterion, Leaf, MatchLevel, Node, Trial, Tri

LEVEL_CODE = {MatchLevel.VARIANT: 0, MatchLevel.GENE: 1, MatchLevel.NONE: 2}
LEVEL_NAME = {0: MatchLevel.VARIANT.value, 1: MatchLevel.GENE.value, 2: ""}


@dataclass
class ArmOutcome:
    """One arm evaluated for every patient of a ``PatientFacts`` (arrays of length n)."""

    trial: Trial
    arm: Arm
    status: np.ndarray             # int8
    leaves: list[Criterion]
    results: list[LeafResult]      # negation applied
    relevant: list[np.ndarray]     # bool per leaf: the leaf decides the arm's status
    supporting: list[np.ndarray]   # bool per leaf: a met leaf that is part of a (possible) match
    n_met: np.ndarray
    n_not_met: np.ndarray
    n_unknown: np.ndarray
    n_to_resolve: np.ndarray       # unknown leaves that decide an unknown arm
    priority: np.ndarray           # int16 best MatchMiner sort value among supporting leaves
    level: np.ndarray              # int8 0 variant / 1 gene / 2 none

    @property
    def is_open(self) -> bool:
        closed = self.trial.status is not None and "closed" in self.trial.status.lower()
        return not (self.arm.suspended or closed)


class ArmEvaluator:
    """Evaluates arms against one ``PatientFacts``, caching leaf results."""

    def __init__(self, facts: PatientFacts) -> None:
        self.facts = facts
        self._cache: dict[tuple, LeafResult] = {}

    def leaf(self, c: Criterion) -> LeafResult:
        res = self._cache.get(c.eval_key)
        if res is None:
            res = evaluate_positive(self.facts, c.key, c.params)
            self._cache[c.eval_key] = res
        return res.negated() if c.negate else res

    def arm(self, trial: Trial, arm: Arm) -> ArmOutcome:
        node_status: dict[int, np.ndarray] = {}
        leaf_results: dict[int, LeafResult] = {}

        def walk(node: Node) -> np.ndarray:
            if isinstance(node, Leaf):
                r = self.leaf(node.criterion)
                leaf_results[id(node)] = r
                st = r.status
            else:
                kids = np.stack([walk(k) for k in node.children])
                st = kids.min(axis=0) if node.op == "and" else kids.max(axis=0)
            node_status[id(node)] = st
            return st

        status = walk(arm.tree)
        n = self.facts.n
        leaves: list[Criterion] = []
        results: list[LeafResult] = []
        relevant: list[np.ndarray] = []
        supporting: list[np.ndarray] = []

        def mark(node: Node, rel: np.ndarray, sup: np.ndarray) -> None:
            st = node_status[id(node)]
            if isinstance(node, Leaf):
                leaves.append(node.criterion)
                results.append(leaf_results[id(node)])
                relevant.append(rel)
                supporting.append(sup & (st == Tri.MET))
                return
            for k in node.children:
                kst = node_status[id(k)]
                mark(k, rel & (kst == st), sup & (kst != Tri.NOT_MET))

        mark(arm.tree, np.ones(n, bool), status != Tri.NOT_MET)
        stat = np.stack([r.status for r in results])
        rel = np.stack(relevant)
        sup = np.stack(supporting)
        prio = np.where(sup, np.stack([r.priority for r in results]), NO_PRIORITY).min(axis=0).astype(np.int16)
        codes = np.array([LEVEL_CODE[c.level] if not c.negate else 2 for c in leaves], dtype=np.int8)[:, None]
        level = np.where(sup, codes, 2).min(axis=0).astype(np.int8)
        return ArmOutcome(
            trial=trial, arm=arm, status=status.astype(np.int8), leaves=leaves, results=results,
            relevant=relevant, supporting=supporting,
            n_met=(stat == Tri.MET).sum(axis=0).astype(np.int16),
            n_not_met=(stat == Tri.NOT_MET).sum(axis=0).astype(np.int16),
            n_unknown=(stat == Tri.UNKNOWN).sum(axis=0).astype(np.int16),
            n_to_resolve=(rel & (stat == Tri.UNKNOWN)).sum(axis=0).astype(np.int16),
            priority=prio, level=level,
        )

    def all_arms(self, trials: list[Trial]) -> list[ArmOutcome]:
        return [self.arm(t, a) for t in trials for a in t.arms]
