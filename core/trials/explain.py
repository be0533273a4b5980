"""Words for one criterion result: why it is met / not met / unknown, and what test resolves it."""
from __future__ import annotations

from typing import Any

from core.trials import normalize as nz
from core.trials.evaluate import Reason
from core.trials.model import Criterion, GenomicSpec, Tri


def test_for(c: Criterion, reason: Reason) -> str:
    """The action that would turn an unknown criterion into met / not met."""
    if c.key == "variant":
        s: GenomicSpec = c.params[0]
        if reason == Reason.VARIANT_AMBIGUOUS:
            return f"confirm {s.gene} deletion zygosity (copy number)"
        gene = next((g for g in (s.gene, s.fusion_partner) if g not in (None, "any_gene", "intergenic")), None)
        what = {nz.SV: " (fusion)", nz.CNV: " (copy number)"}.get(s.category or "", "")
        return f"test {gene}{what}" if gene else "tumour sequencing (NGS panel)"
    if c.key in ("biomarker_numeric", "biomarker_status"):
        canon = c.params[0]
        if reason == Reason.BIOMARKER_EQUIVOCAL and canon == nz.HER2:
            return "test HER2 by ISH (IHC equivocal)"
        return nz.BIOMARKER_TESTS.get(canon, f"test {canon}")
    if c.key == "age":
        return "record date of birth"
    if c.key == "gender":
        return "record sex"
    if c.key == "oncotree":
        return "record a specific OncoTree diagnosis"
    return "review this criterion by hand"


def explain(c: Criterion, status: int, reason: Reason, ev: dict[str, Any] | None) -> tuple[str, str | None]:
    """(reason text, test to resolve or None) for one patient's result on one criterion."""
    ev = ev or {}
    text = _reason_text(c, reason, ev)
    if c.negate and status != Tri.UNKNOWN:
        text += " - the criterion requires the opposite" if status == Tri.NOT_MET else " - as the exclusion requires"
    test = test_for(c, reason) if status == Tri.UNKNOWN else None
    return text, test


def _reason_text(c: Criterion, reason: Reason, ev: dict[str, Any]) -> str:
    when = _date(ev.get("observed_at"))
    if reason == Reason.VARIANT_FOUND:
        what = " ".join(str(x) for x in (ev.get("gene"), ev.get("protein") or _category_word(ev)) if x)
        partner = f" with {ev['partner']}" if ev.get("partner") else ""
        tier = f", level {ev['tier']}" if ev.get("tier") else ""
        origin = f", {ev['origin']}" if ev.get("origin") else ""
        return f"{what}{partner} on file{when}{tier}{origin}"
    if reason == Reason.GENE_ALTERED:
        return f"{ev.get('gene')} {ev.get('protein') or _category_word(ev)} on file{when}: not wild-type"
    if reason == Reason.VARIANT_AMBIGUOUS:
        return f"{ev.get('gene')} {_category_word(ev)} on file{when}: cannot tell whether it is the requested call"
    if reason == Reason.GENE_TESTED:
        panel = f" (panel {ev['panel_name']})" if ev.get("panel_name") else ""
        gene = ev.get("gene") or "sequencing"
        return f"{gene} tested{panel}{when}: no matching alteration"
    if reason == Reason.GENE_NOT_TESTED:
        return "gene not covered by any panel on file: not tested is not negative"
    if reason == Reason.NO_SEQUENCING:
        return "no tumour sequencing on file"
    if reason in (Reason.BIOMARKER, Reason.BIOMARKER_EQUIVOCAL):
        label = nz.BIOMARKER_LABELS.get(ev.get("canon", ""), ev.get("name") or "biomarker")
        if ev.get("canon") in (nz.TMB, nz.PDL1, nz.ECOG):
            unit = nz.BIOMARKER_UNITS.get(ev["canon"], "")
            value = f"{_num(ev.get('value_num'))}{unit}"
        else:
            value = ev.get("status") or ev.get("value_text") or ""
        src = " (from a note)" if ev.get("ev_table") == "note_events" else ""
        return f"{label} {value}{when}{src}"
    if reason == Reason.BIOMARKER_MISSING:
        return f"{nz.BIOMARKER_LABELS.get(c.params[0], c.params[0])} not on file"
    if reason == Reason.AGE:
        return f"age {_num(ev.get('age_min'))} years ({ev.get('age_basis')})"
    if reason == Reason.AGE_BOUNDED:
        hi = ev.get("age_max")
        rng = f"at least {_num(ev.get('age_min'))}" if hi in (None, float("inf")) else \
            f"{_num(ev.get('age_min'))}-{_num(hi)}"
        return f"age only known as {rng} years ({ev.get('age_basis')})"
    if reason == Reason.AGE_MISSING:
        return "age not on file"
    if reason == Reason.SEX:
        return f"sex {ev.get('sex')}"
    if reason == Reason.SEX_MISSING:
        return "sex not on file"
    if reason == Reason.DIAGNOSIS:
        return f"diagnosis {ev.get('code')}{when}"
    if reason == Reason.DIAGNOSIS_UNRESOLVED:
        return f"diagnosis {ev.get('code')} is too general or outside the bundled OncoTree subset to decide"
    if reason == Reason.DIAGNOSIS_MISSING:
        return "no diagnosis on file"
    if reason == Reason.UNSUPPORTED:
        return f"not evaluated by this engine ({c.raw})"
    return ""


def _category_word(ev: dict[str, Any]) -> str:
    cat = ev.get("category")
    if cat == nz.CNV:
        return nz.CNV_LABELS.get(ev.get("cnv") or "", "copy-number change")
    if cat == nz.SV:
        return "fusion"
    return "mutation"


def _num(x: Any) -> str:
    if x is None:
        return "?"
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def _date(x: Any) -> str:
    return f" ({x:%Y-%m-%d})" if hasattr(x, "strftime") else ""
