"""CTML (MatchMiner's clinical trial markup) -> validated ``Trial`` objects.

Supported match-tree vocabulary (MatchMiner's, plus two documented extensions):

* groups ``and`` / ``or`` (lists); an arm's ``match`` list is an implicit ``and``;
* ``clinical``: ``oncotree_primary_diagnosis`` (name or code, descendants included,
  ``_SOLID_`` / ``_LIQUID_``), ``age_numerical`` (">=18"), ``gender``, ``er_status`` /
  ``pr_status`` / ``her2_status`` (Positive / Negative), ``tmb_numerical`` (">=10"); extensions
  ``ecog_numerical`` ("<=1") and ``pdl1_tps_numerical`` (">=50", PD-L1 tumour proportion score, %);
  ``disease_status`` is ignored as in MatchMiner;
* ``genomic``: ``hugo_symbol``, ``variant_category`` (Mutation / Copy Number Variation /
  Structural Variation / Any Variation), ``protein_change``, ``wildcard_protein_change``,
  ``exon``, ``variant_classification``, ``cnv_call``, ``wildtype``,
  ``fusion_partner_hugo_symbol`` (a gene, ``any_gene`` or ``intergenic``), ``mmr_status``,
  ``ms_status`` and the ``*_signature`` keys (tobacco, apobec, pole, temozolomide, uva);
* a leading ``!`` on a value negates the condition (on any key of a genomic node it negates
  the whole node, as in MatchMiner).

Problems name the trial (``protocol_no``) and the field path. Structural problems reject the
trial (``CtmlError``); an unsupported key or value is a warning and its criterion always
evaluates to *unknown*, so nothing is silently dropped or silently failed.
"""
from __future__ import annotations

import json
import re
from typing import Any

import yaml

from core.trials import normalize as nz
from core.trials.ctml_genomic import genomic_node, split_negation, unsupported_leaf
from core.trials.model import Arm, Criterion, CtmlError, CtmlProblem, Group, Leaf, Node, Trial
from core.trials.oncotree import load_oncotree

NUMERIC_EXPR = re.compile(r"^\s*(>=|<=|==|=|>|<)?\s*(-?\d+(?:\.\d+)?)\s*$")
CLINICAL_NUMERIC = {
    "age_numerical": ("AGE", "age", " years"),
    "tmb_numerical": (nz.TMB, "TMB", " mut/Mb"),
    "ecog_numerical": (nz.ECOG, "ECOG", ""),
    "ecog_performance_status": (nz.ECOG, "ECOG", ""),
    "pdl1_tps_numerical": (nz.PDL1, "PD-L1 TPS", "%"),
}
RECEPTORS = {"er_status": nz.ER, "pr_status": nz.PR, "her2_status": nz.HER2}
IGNORED_CLINICAL = {"disease_status"}
def read_documents(data: bytes, name: str) -> list[dict[str, Any]]:
    """Trial documents of one CTML file (a mapping, or a list of mappings).

    Raises:
        ValueError: not parseable as JSON / YAML, or not trial-shaped; the message says where.
    """
    text = data.decode("utf-8-sig")
    try:
        doc = json.loads(text) if name.lower().endswith(".json") else yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"JSON syntax error at line {e.lineno} column {e.colno}: {e.msg}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ValueError(f"YAML syntax error{where}: {getattr(e, 'problem', None) or 'unreadable YAML'}") from e
    docs = doc if isinstance(doc, list) else [doc]
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            raise ValueError(f"document {i}: a trial must be a mapping, found {type(d).__name__}")
    return docs


def parse_trial(doc: dict[str, Any], *, fallback_id: str) -> tuple[Trial, list[CtmlProblem]]:
    """Validate one CTML document and build its ``Trial``.

    Args:
        doc: the parsed CTML mapping.
        fallback_id: trial id when ``protocol_no`` is missing (e.g. the file name).

    Returns:
        The trial and its warnings.

    Raises:
        CtmlError: structural problems (each names the trial and the field path).
    """
    protocol_no = doc.get("protocol_no")
    p = _Parser(str(protocol_no) if protocol_no not in (None, "") else fallback_id)
    if protocol_no in (None, ""):
        p.warn("protocol_no", f"missing; the trial is identified as {fallback_id!r}")
    arms = p.arms(doc)
    errors = [x for x in p.problems if x.severity == "error"]
    if errors:
        raise CtmlError(errors)
    title = str(doc.get("title") or doc.get("short_title") or doc.get("long_title") or p.protocol_no)
    demo = doc.get("demo") is True or str(doc.get("demo", "")).lower() == "true" or title.startswith("[DEMO]")
    trial = Trial(
        trial_id=p.protocol_no, protocol_no=p.protocol_no,
        nct_id=str(doc["nct_id"]) if doc.get("nct_id") else None, title=title,
        phase=str(doc["phase"]) if doc.get("phase") is not None else None,
        status=str(doc["status"]) if doc.get("status") is not None else None,
        is_demo=demo, arms=tuple(arms), doc=doc,
    )
    return trial, [x for x in p.problems if x.severity != "error"]


class _Parser:
    """Walks one trial document, collecting problems instead of stopping at the first."""

    def __init__(self, protocol_no: str) -> None:
        self.protocol_no = protocol_no
        self.problems: list[CtmlProblem] = []
        self.tree = load_oncotree()

    def err(self, path: str, reason: str) -> None:
        self.problems.append(CtmlProblem(self.protocol_no, path, reason, "error"))

    def has_errors_under(self, path: str) -> bool:
        return any(p.path.startswith(path) and p.severity == "error" for p in self.problems)

    def warn(self, path: str, reason: str) -> None:
        self.problems.append(CtmlProblem(self.protocol_no, path, reason, "warning"))

    # ---- trial structure ---------------------------------------------------------------
    def arms(self, doc: dict[str, Any]) -> list[Arm]:
        tl = doc.get("treatment_list")
        if not isinstance(tl, dict):
            self.err("treatment_list", "missing or not a mapping (expected treatment_list.step[].arm[])")
            return []
        steps = tl.get("step")
        if not isinstance(steps, list) or not steps:
            self.err("treatment_list.step", "missing or not a non-empty list")
            return []
        out: list[Arm] = []
        for si, step in enumerate(steps):
            spath = f"treatment_list.step[{si}]"
            if not isinstance(step, dict):
                self.err(spath, "a step must be a mapping")
                continue
            arms = step.get("arm") or []
            if not isinstance(arms, list):
                self.err(f"{spath}.arm", "must be a list of arms")
                continue
            for ai, arm in enumerate(arms):
                a = self.arm(arm, f"{spath}.arm[{ai}]", step)
                if a is not None:
                    out.append(a)
            if not arms and "match" in step:  # step-level criteria only
                tree = self.match_list(step["match"], f"{spath}.match")
                if tree is not None:
                    code = str(step.get("step_code") or si)
                    out.append(Arm(f"step {code}", f"step {code}", str(step.get("step_type") or ""), False,
                                   spath, tree))
        if not out and not any(x.severity == "error" for x in self.problems):
            self.err("treatment_list", "no arm has match criteria")
        return _unique_arm_ids(out)

    def arm(self, arm: Any, path: str, step: dict[str, Any]) -> Arm | None:
        if not isinstance(arm, dict):
            self.err(path, "an arm must be a mapping")
            return None
        code = str(arm.get("arm_code") or arm.get("arm_internal_id") or path.rsplit(".", 1)[-1])
        suspended = str(arm.get("arm_suspended", "N")).strip().upper() in ("Y", "YES", "TRUE")
        if "match" in arm:
            tree = self.match_list(arm["match"], f"{path}.match")
        elif "match" in step:
            tree = self.match_list(step["match"], f"{path.rsplit('.arm', 1)[0]}.match")
        else:
            levels = [d for d in (arm.get("dose_level") or []) if isinstance(d, dict) and "match" in d]
            if not levels:
                self.warn(path, f"arm {code} has no match criteria; it is not evaluated")
                return None
            tree = self.match_list(levels[0]["match"], f"{path}.dose_level[0].match")
        if tree is None:
            return None
        return Arm(code, code, str(arm.get("arm_description") or ""), suspended, path, tree)

    def match_list(self, value: Any, path: str) -> Node | None:
        items = value if isinstance(value, list) else [value]
        if not items:
            self.err(path, "empty match list")
            return None
        nodes = [self.node(x, f"{path}[{i}]" if isinstance(value, list) else path) for i, x in enumerate(items)]
        nodes = [n for n in nodes if n is not None]
        if not nodes:
            return None
        return nodes[0] if len(nodes) == 1 else Group("and", tuple(nodes), path)

    # ---- match tree -----------------------------------------------------------------------
    def node(self, obj: Any, path: str) -> Node | None:
        if not isinstance(obj, dict) or not obj:
            self.err(path, "a match node must be a mapping with one of and / or / clinical / genomic")
            return None
        parts: list[Node] = []
        for key, val in obj.items():
            kpath = f"{path}.{key}"
            if key in ("and", "or"):
                if not isinstance(val, list) or not val:
                    self.err(kpath, f"'{key}' must be a non-empty list")
                    continue
                kids = [self.node(x, f"{kpath}[{i}]") for i, x in enumerate(val)]
                kids = [k for k in kids if k is not None]
                if kids:
                    parts.append(Group(key, tuple(kids), kpath))
            elif key == "clinical":
                n = self.clinical(val, kpath)
                if n is not None:
                    parts.append(n)
            elif key == "genomic":
                n = genomic_node(self, val, kpath)
                if n is not None:
                    parts.append(n)
            else:
                parts.append(unsupported_leaf(self, kpath, f"node type {key!r}", f"{key}: {val}", "clinical"))
        if len(obj) > 1:
            self.warn(path, f"node has several keys {sorted(obj)}; they are joined with 'and'")
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Group("and", tuple(parts), path)

    def clinical(self, obj: Any, path: str) -> Node | None:
        if not isinstance(obj, dict) or not obj:
            self.err(path, "clinical node must be a non-empty mapping")
            return None
        leaves: list[Node] = []
        for key, val in obj.items():
            kpath = f"{path}.{key}"
            k = str(key).lower()
            raw = f"{key}: {val}"
            if k in IGNORED_CLINICAL:
                self.warn(kpath, f"{key} is not evaluated (MatchMiner ignores it too)")
                continue
            negate, text = split_negation(val)
            if k in CLINICAL_NUMERIC:
                canon, label, unit = CLINICAL_NUMERIC[k]
                m = NUMERIC_EXPR.match(text)
                if not m:
                    self.err(kpath, f"expected a comparison such as '>=18', found {text!r}")
                    continue
                op = {"=": "==", None: "=="}.get(m.group(1), m.group(1))
                thr = float(m.group(2))
                if canon == "AGE":
                    key_name, params = "age", (op, thr)
                else:
                    key_name, params = "biomarker_numeric", (canon, op, thr)
                desc = f"{label} {op} {_fmt(thr)}{unit}"
                leaves.append(Leaf(Criterion(kpath, "clinical", key_name, params, negate,
                                             ("NOT " if negate else "") + desc, raw)))
            elif k == "gender":
                g = nz.sex(text)
                if g is None:
                    self.err(kpath, f"expected Male or Female, found {text!r}")
                    continue
                leaves.append(Leaf(Criterion(kpath, "clinical", "gender", (g,), negate,
                                             f"sex {'is not' if negate else 'is'} {g}", raw)))
            elif k == "oncotree_primary_diagnosis":
                code = self.tree.resolve(text)
                if code is None:
                    self.warn(kpath, f"diagnosis {text!r} is not in the bundled OncoTree subset; "
                                     "only exact matches are recognised, other diagnoses evaluate as unknown")
                label = f"{self.tree.names[code]} ({code})" if code else text
                leaves.append(Leaf(Criterion(kpath, "clinical", "oncotree", (code or text, code is not None), negate,
                                             f"diagnosis {'not ' if negate else ''}within {label}", raw)))
            elif k in RECEPTORS:
                canon = RECEPTORS[k]
                v = text.strip().lower()
                if v not in (nz.POSITIVE, nz.NEGATIVE):
                    leaves.append(unsupported_leaf(self, kpath, f"{key} value {text!r} (expected Positive or Negative)",
                                                   raw, "clinical"))
                    continue
                leaves.append(Leaf(Criterion(kpath, "clinical", "biomarker_status", (canon, v), negate,
                                             f"{'NOT ' if negate else ''}{nz.BIOMARKER_LABELS[canon]} {v}", raw)))
            else:
                leaves.append(unsupported_leaf(self, kpath, f"clinical key {key!r}", raw, "clinical"))
        if not leaves:
            return None
        return leaves[0] if len(leaves) == 1 else Group("and", tuple(leaves), path)

def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _unique_arm_ids(arms: list[Arm]) -> list[Arm]:
    """Arm codes repeat in real CTML (two 'DOSE' arms): suffix the repeats with their position."""
    counts: dict[str, int] = {}
    for a in arms:
        counts[a.arm_code] = counts.get(a.arm_code, 0) + 1
    out = []
    for i, a in enumerate(arms):
        if counts[a.arm_code] > 1:
            a = Arm(f"{a.arm_code} #{i + 1}", a.arm_code, a.description, a.suspended, a.path, a.tree)
        out.append(a)
    return out
