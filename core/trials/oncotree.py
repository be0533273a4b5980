"""A compact OncoTree subset: resolve codes or names, and tell descendants from ancestors.

CTML names diagnoses by OncoTree *name* ("Breast", "Lung Adenocarcinoma") or by code
(``LUAD``), plus MatchMiner's groupings ``_SOLID_`` and ``_LIQUID_``. A criterion node
matches the patient's diagnosis when the diagnosis is the node itself or one of its
descendants. The bundled tree (``data/knowledge/oncotree_subset.tsv``) covers lung, breast
and colorectal cancer and the fixtures' melanoma types; codes outside it are "unknown",
never "not met".
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from pathlib import Path

from core.config import PROJECT_ROOT

TREE_PATH = PROJECT_ROOT / "data" / "knowledge" / "oncotree_subset.tsv"

# Coarse cancer_type values of the patients table, used when no OncoTree code is on file.
CANCER_TYPE_CODES = {"lung": "LUNG", "breast": "BREAST", "colorectal": "COADREAD"}


class Relation(IntEnum):
    """How a patient's diagnosis relates to a criterion node (values are the three-valued status)."""

    WITHIN = 1       # the diagnosis is the node or a descendant: met
    UNRESOLVED = 0   # the diagnosis is less specific than the node, or not in the tree: unknown
    OUTSIDE = -1     # a known diagnosis elsewhere in the tree: not met


@dataclass(frozen=True)
class OncoTree:
    """Parent links of the subset, indexed by code; names resolve case-insensitively."""

    parent: dict[str, str | None]
    names: dict[str, str]          # code -> display name
    by_name: dict[str, str]        # lower-case name or code -> code
    below: dict[str, frozenset[str]]  # code -> itself and all descendants

    def resolve(self, text: str | None) -> str | None:
        """Code for an OncoTree code or name (case-insensitive), or None if not in the subset."""
        if text is None:
            return None
        return self.by_name.get(str(text).strip().lower())

    def ancestors(self, code: str) -> list[str]:
        """Strict ancestors of ``code``, nearest first."""
        out: list[str] = []
        cur = self.parent.get(code)
        while cur is not None and cur not in out:
            out.append(cur)
            cur = self.parent.get(cur)
        return out

    def descendants(self, code: str) -> frozenset[str]:
        """``code`` and every code below it."""
        return self.below.get(code, frozenset({code}))

    def relation(self, patient_code: str | None, node: str) -> Relation:
        """Relation of one patient diagnosis (code or name) to a criterion node (resolved code)."""
        p = self.resolve(patient_code)
        if p is None:
            return Relation.UNRESOLVED
        if p in self.descendants(node):
            return Relation.WITHIN
        if p in self.ancestors(node):
            return Relation.UNRESOLVED  # only an ancestor of the node is on file
        return Relation.OUTSIDE

    def most_specific(self, codes: list[str]) -> list[str]:
        """Drop codes that are ancestors of another code in the list (keeps unresolved codes)."""
        resolved = {c: self.resolve(c) for c in codes}
        anc: set[str] = set()
        for r in resolved.values():
            if r is not None:
                anc.update(self.ancestors(r))
        return [c for c, r in resolved.items() if r is None or r not in anc]


@lru_cache(maxsize=4)
def load_oncotree(path: Path = TREE_PATH) -> OncoTree:
    """Read the subset TSV (``code name main_type parent``; ``#`` lines are comments)."""
    parent: dict[str, str | None] = {}
    names: dict[str, str] = {}
    with open(path, newline="") as fh:
        rows = csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t")
        for r in rows:
            code = r["code"].strip()
            parent[code] = (r.get("parent") or "").strip() or None
            names[code] = r["name"].strip()
    by_name = {c.lower(): c for c in parent}
    for c, n in names.items():
        by_name.setdefault(n.lower(), c)
    below: dict[str, set[str]] = {c: {c} for c in parent}
    for c in parent:
        cur = parent[c]
        seen = {c}
        while cur is not None and cur not in seen:
            below.setdefault(cur, {cur}).add(c)
            seen.add(cur)
            cur = parent.get(cur)
    return OncoTree(parent=parent, names=names, by_name=by_name,
                    below={k: frozenset(v) for k, v in below.items()})
