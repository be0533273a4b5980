"""Parsed CTML: trials, arms, match trees and their leaf criteria (valid by construction).

A match tree has ``and`` / ``or`` groups and leaves. A CTML ``clinical`` node becomes one
leaf per key (each key is a separate condition, joined by ``and``); a ``genomic`` node is a
single leaf, because all its keys describe one alteration that a single variant must satisfy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class Tri(IntEnum):
    """Kleene three-valued truth: AND is min, OR is max, NOT is negation."""

    NOT_MET = -1
    UNKNOWN = 0
    MET = 1


class CriterionStatus(StrEnum):
    MET = "met"
    NOT_MET = "not met"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, value: int) -> CriterionStatus:
        return {1: cls.MET, 0: cls.UNKNOWN, -1: cls.NOT_MET}[int(value)]


class MatchLevel(StrEnum):
    VARIANT = "variant"   # a specific alteration (protein change, exon, CNV call, fusion partner)
    GENE = "gene"         # any alteration of a category in the gene
    NONE = ""             # not a genomic criterion


@dataclass(frozen=True)
class CtmlProblem:
    """One validation finding: which trial, which field path, what is wrong."""

    protocol_no: str
    path: str
    reason: str
    severity: str = "error"  # error: the trial is rejected; warning: loaded, criterion evaluates as unknown

    def __str__(self) -> str:
        return f"trial {self.protocol_no}: {self.path}: {self.reason}"


class CtmlError(ValueError):
    """A trial that cannot be loaded; names the trial (protocol_no) and the field path."""

    def __init__(self, problems: list[CtmlProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class GenomicSpec:
    """The alteration a genomic criterion asks for (values normalised, negation removed)."""

    gene: str | None = None                # HUGO symbol; "any_gene" and None mean any
    category: str | None = None            # MUTATION / CNV / SV / ANY
    protein_change: str | None = None      # p.L858R
    wildcard_protein_change: str | None = None  # p.V600 (any single substitution at V600)
    exon: int | None = None
    variant_classification: str | None = None   # MAF class, e.g. In_Frame_Del
    cnv_call: str | None = None            # AMP / GAIN / HOMDEL / HETDEL
    fusion_partner: str | None = None      # HUGO symbol, "any_gene" or "intergenic"
    wildtype: bool | None = None           # True: the gene is tested and carries no alteration

    @property
    def level(self) -> MatchLevel:
        specific = (self.protein_change, self.wildcard_protein_change, self.exon, self.variant_classification,
                    self.cnv_call)
        partner = self.fusion_partner not in (None, "any_gene")
        return MatchLevel.VARIANT if any(v is not None for v in specific) or partner else MatchLevel.GENE


@dataclass(frozen=True)
class Criterion:
    """A leaf of a match tree.

    ``key`` names the evaluator (see core/trials/evaluate.py); ``params`` are its
    normalised, hashable arguments, so that equal criteria in many arms are evaluated once.
    """

    path: str                  # e.g. treatment_list.step[0].arm[1].match[0].and[2].clinical.age_numerical
    node: str                  # clinical / genomic
    key: str
    params: tuple[Any, ...]
    negate: bool
    description: str
    raw: str                   # the CTML text of the condition, for display

    @property
    def eval_key(self) -> tuple[str, tuple[Any, ...]]:
        return (self.key, self.params)

    @property
    def level(self) -> MatchLevel:
        if self.key == "variant":
            return self.params[0].level
        return MatchLevel.NONE


@dataclass(frozen=True)
class Group:
    op: str                    # "and" / "or"
    children: tuple[Node, ...]
    path: str


@dataclass(frozen=True)
class Leaf:
    criterion: Criterion


Node = Group | Leaf


@dataclass(frozen=True)
class Arm:
    arm_id: str                # unique within the trial (arm_code, made unique when codes repeat)
    arm_code: str
    description: str
    suspended: bool
    path: str
    tree: Node

    def leaves(self) -> list[Criterion]:
        out: list[Criterion] = []
        stack: list[Node] = [self.tree]
        while stack:
            n = stack.pop()
            if isinstance(n, Leaf):
                out.append(n.criterion)
            else:
                stack.extend(reversed(n.children))
        return out


@dataclass(frozen=True)
class Trial:
    trial_id: str
    protocol_no: str
    nct_id: str | None
    title: str
    phase: str | None
    status: str | None
    is_demo: bool
    arms: tuple[Arm, ...]
    doc: dict[str, Any] = field(compare=False, hash=False, repr=False)

    def arm(self, arm_id: str) -> Arm:
        for a in self.arms:
            if a.arm_id == arm_id or a.arm_code == arm_id:
                return a
        raise KeyError(f"trial {self.trial_id} has no arm {arm_id!r} (arms: {[a.arm_id for a in self.arms]})")
