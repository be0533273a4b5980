"""Honest evaluation on held-out data: cross-validated predictions of the whole training procedure.

Every fold refits everything (per-modality trees, fusion layer, Platt split) on the other
folds and predicts the held-out patients, so every number below is out-of-sample. A
single-modality baseline is that modality's tree model with its own fusion layer and Platt
scaling refit on the same fold (``restrict_late_fusion``): what training it alone gives.
Reported: AUROC with bootstrap 95 % CI, AUPRC, Brier, ECE and a reliability diagram;
single-modality models trained alone (the baselines the fusion must beat) and a paired
bootstrap CI of the difference; subgroups (cancer type, sex, age band); robustness when
each modality is missing for everyone; coverage of the uncertainty interval when a
modality is hidden; discrepancy detection against the generator's planted discrepancies.

Strategies are pluggable (``STRATEGIES``) so other fusion designs are compared on the same
folds: ``--compare-fusion`` adds early fusion (one LightGBM on all features), intermediate
fusion (per-modality torch encoders, masked mean) and attention fusion (the same encoders,
attention over the present modalities), each with AUROC (95 % CI), ECE, the paired AUROC
difference to late fusion, and AUROC when each modality is missing for everyone.
"""
from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from sklearn.model_selection import StratifiedKFold

from core.models import metrics as M
from core.models.features import MODALITIES
from core.models.early_fusion import fit_early_fusion
from core.models.fusion import FusionStrategy, cancer_types
from core.models.fusion_fit import fit_late_fusion, restrict_late_fusion
from core.models.train import LabelledCohort

logger = logging.getLogger(__name__)

AGE_BANDS = ((0, 50, "<50"), (50, 65, "50-64"), (65, 75, "65-74"), (75, 200, "75+"))
MIN_SUBGROUP = 20


def _fit_late(x: pl.DataFrame, y: np.ndarray, seed: int, n_members: int) -> FusionStrategy:
    return fit_late_fusion(x, y, seed=seed, n_members=n_members)


def _fit_early(x: pl.DataFrame, y: np.ndarray, seed: int, n_members: int) -> FusionStrategy:
    return fit_early_fusion(x, y, seed=seed)


def _fit_intermediate(x: pl.DataFrame, y: np.ndarray, seed: int, n_members: int) -> FusionStrategy:
    from core.models.torch_fusion import fit_torch_fusion  # torch is imported only when compared

    return fit_torch_fusion(x, y, attention=False, seed=seed)


def _fit_attention(x: pl.DataFrame, y: np.ndarray, seed: int, n_members: int) -> FusionStrategy:
    from core.models.torch_fusion import fit_torch_fusion

    return fit_torch_fusion(x, y, attention=True, seed=seed)


# name -> (label, fit function). Add strategies here to compare them on the same folds.
STRATEGIES: dict[str, tuple[str, Callable[[pl.DataFrame, np.ndarray, int, int], FusionStrategy]]] = {
    "late": ("late fusion (served)", _fit_late),
    "early": ("early fusion (one LightGBM on all features)", _fit_early),
    "intermediate": ("intermediate fusion (torch encoders, masked mean)", _fit_intermediate),
    "attention": ("attention fusion (torch encoders, attention)", _fit_attention),
}


@dataclass
class CVResult:
    """Out-of-fold predictions for every labelled patient."""

    patient_ids: list[str]
    y: np.ndarray
    cancer_type: list[str]
    sex: list[str]
    age_band: list[str]
    present: dict[str, np.ndarray]                       # modality -> bool per patient
    risk: dict[str, np.ndarray] = field(default_factory=dict)      # strategy -> risk
    dropped: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # strategy -> modality -> risk without it
    single: dict[str, np.ndarray] = field(default_factory=dict)    # modality -> risk of the model trained on it alone
    interval: dict[str, np.ndarray] = field(default_factory=dict)  # 'low', 'high', 'sd' (late)
    masked: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # modality -> low/high/sd with it hidden
    folds: int = 5


def _age_band(age: float | None) -> str:
    if age is None or np.isnan(age):
        return "unknown"
    for lo, hi, name in AGE_BANDS:
        if lo <= age < hi:
            return name
    return "unknown"


def cross_validate(cohort: LabelledCohort, *, folds: int = 5, seed: int = 0, strategies: tuple[str, ...] = ("late",),
                   n_members: int = 4, singles: bool = True, masked: bool = True) -> CVResult:
    """Stratified k-fold out-of-fold predictions of each strategy (see module docstring).

    Args:
        singles: also fit each single-modality model (the baselines).
        masked: also predict with each modality dropped (robustness, interval checks).
    """
    x, y = cohort.features, cohort.y
    n = len(y)
    res = CVResult(
        patient_ids=x["patient_id"].to_list(), y=y, cancer_type=cancer_types(x),
        sex=["female" if v == 1 else "male" if v == 0 else "unknown" for v in x["clin_female"].to_list()],
        age_band=[_age_band(a) for a in x["clin_age_years"].to_list()],
        present={m: x[f"present_{m}"].to_numpy().astype(bool) for m in MODALITIES}, folds=folds)
    for s in strategies:
        res.risk[s] = np.full(n, np.nan)
        res.dropped[s] = {m: np.full(n, np.nan) for m in MODALITIES}
    if singles:
        res.single = {m: np.full(n, np.nan) for m in MODALITIES}
    res.interval = {k: np.full(n, np.nan) for k in ("low", "high", "sd")}
    res.masked = {m: {k: np.full(n, np.nan) for k in ("risk", "low", "high", "sd")} for m in MODALITIES}
    skf = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for k, (tr, te) in enumerate(skf.split(np.zeros(n), y)):
        xtr, xte, ytr = x[tr.tolist()], x[te.tolist()], y[tr]
        fseed = seed * 100 + k
        late_model = None
        for s in strategies:
            model = STRATEGIES[s][1](xtr, ytr, fseed, n_members)
            if s == "late":
                late_model = model
            res.risk[s][te] = model.predict_proba(xte)
            if not masked:
                continue
            for m in MODALITIES:
                res.dropped[s][m][te] = model.predict_proba(xte, drop=frozenset({m}))
            if s == "late":
                pred = model.predict(xte)  # type: ignore[attr-defined]
                res.interval["low"][te], res.interval["high"][te], res.interval["sd"][te] = (
                    pred.risk_low, pred.risk_high, pred.logit_sd)
                for m in MODALITIES:
                    pm = model.predict(xte, drop=frozenset({m}))  # type: ignore[attr-defined]
                    for key, arr in (("risk", pm.risk), ("low", pm.risk_low), ("high", pm.risk_high), ("sd", pm.logit_sd)):
                        res.masked[m][key][te] = arr
        if singles:
            late = late_model if late_model is not None else fit_late_fusion(xtr, ytr, seed=fseed, n_members=0)
            for m in MODALITIES:
                try:  # its trees never saw another modality: only the layer and Platt scaling are refit
                    res.single[m][te] = restrict_late_fusion(late, (m,)).predict_proba(xte)
                except ValueError as e:
                    logger.warning("fold %d: no %s-only model (%s)", k, m, e)
        logger.info("fold %d/%d done", k + 1, folds)
    return res


def headline(cv: CVResult, strategy: str = "late") -> dict:
    """Compact cross-validated metrics of one strategy (stored in the model registry)."""
    s = M.summarize(cv.y, cv.risk[strategy], n_boot=500)
    return {"folds": cv.folds} | s.as_dict()


# ---- report ---------------------------------------------------------------------------------------

def _subset_rows(cv: CVResult, n_boot: int) -> list[dict]:
    rows = []
    full = cv.risk["late"]
    rows.append({"subset": "all modalities (late fusion)", "modality": "all"}
                | M.summarize(cv.y, full, n_boot).as_dict()
                | {"auroc_where_present": float("nan"), "n_present": len(cv.y)})
    for m, p in cv.single.items():
        ok = ~np.isnan(p)
        if not ok.any():
            continue
        pres = cv.present[m] & ok
        rows.append({"subset": f"{m} only (trained alone)", "modality": m}
                    | M.summarize(cv.y[ok], p[ok], n_boot).as_dict()
                    | {"auroc_where_present": M.auroc(cv.y[pres], p[pres]), "n_present": int(pres.sum())})
    return rows


def _group_rows(cv: CVResult, n_boot: int) -> list[dict]:
    rows = []
    p = cv.risk["late"]
    for name, labels in (("cancer type", cv.cancer_type), ("sex", cv.sex), ("age band", cv.age_band)):
        arr = np.array(labels)
        for g in sorted(set(labels)):
            sel = arr == g
            y = cv.y[sel]
            enough = sel.sum() >= MIN_SUBGROUP and 5 <= y.sum() <= len(y) - 5
            row = {"group": name, "value": g, "n": int(sel.sum()), "events": int(y.sum()), "enough_data": bool(enough)}
            if enough:
                row |= {k: v for k, v in M.summarize(y, p[sel], n_boot).as_dict().items() if k not in ("n", "events")}
            rows.append(row)
    return rows


def _robustness_rows(cv: CVResult, n_boot: int = 1000) -> list[dict]:
    """One row per fusion strategy on the same folds: AUROC (95 % CI), ECE, Brier, the paired AUROC
    difference to late fusion (95 % CI), and AUROC with each modality missing for every patient."""
    rows = []
    for s, dropped in cv.dropped.items():
        summ = M.summarize(cv.y, cv.risk[s], n_boot)
        row = {"strategy": STRATEGIES[s][0], "key": s, "all": summ.auroc, "auroc_low": summ.auroc_low,
               "auroc_high": summ.auroc_high, "brier": summ.brier}
        if s != "late" and "late" in cv.risk:
            d, lo, hi = M.paired_delta_ci(cv.y, cv.risk[s], cv.risk["late"], n_boot=n_boot)
            row |= {"delta_vs_late": d, "delta_low": lo, "delta_high": hi}
        for m in MODALITIES:
            row[f"without {m}"] = M.auroc(cv.y, dropped[m])
        row["ece"] = summ.ece
        rows.append(row)
    return rows


def _interval_rows(cv: CVResult) -> list[dict]:
    """Per modality, among patients who had it: does hiding it widen the interval, and does the
    masked 90 % interval contain the risk computed with it (should be ~90 %)?"""
    rows = []
    for m in MODALITIES:
        pres = cv.present[m] & ~np.isnan(cv.masked[m]["sd"])
        if not pres.any():
            continue
        full = cv.risk["late"][pres]
        lo, hi = cv.masked[m]["low"][pres], cv.masked[m]["high"][pres]
        rows.append({"modality": m, "n": int(pres.sum()),
                     "widens_logit_pct": float(100 * np.mean(cv.masked[m]["sd"][pres] > cv.interval["sd"][pres])),
                     "mean_width_with": float(np.mean(cv.interval["high"][pres] - cv.interval["low"][pres])),
                     "mean_width_without": float(np.mean(hi - lo)),
                     "coverage_pct": float(100 * np.mean((full >= lo) & (full <= hi)))})
    return rows


def build_report(cv: CVResult, *, entry: dict | None = None, discrepancy_eval: dict | None = None,
                 n_boot: int = 1000) -> dict:
    """Everything ``python -m core evaluate`` writes, as a JSON-able dict."""
    subsets = _subset_rows(cv, n_boot)
    full = cv.risk["late"]
    singles = [r for r in subsets if r["modality"] != "all"]
    best = max(singles, key=lambda r: r["auroc"]) if singles else None
    comparison = None
    if best is not None:
        p_best = cv.single[best["modality"]]
        ok = ~np.isnan(p_best)
        d, lo, hi = M.paired_delta_ci(cv.y[ok], full[ok], p_best[ok], n_boot=n_boot)
        comparison = {"best_single": best["modality"], "best_single_auroc": best["auroc"],
                      "multimodal_auroc": M.auroc(cv.y, full), "delta_auroc": d, "delta_low": lo, "delta_high": hi,
                      "multimodal_beats_best_single": bool(d > 0), "significant": bool(lo > 0)}
    return {
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "model": entry or {},
        "protocol": f"{cv.folds}-fold stratified cross-validation of the full training procedure; "
                    f"bootstrap 95% CI ({n_boot} resamples of patients)",
        "overall": M.summarize(cv.y, full, n_boot).as_dict(),
        "ece_if_perfectly_calibrated_p95": M.ece_null_quantile(full),
        "reliability": M.reliability_bins(cv.y, full),
        "modality_subsets": subsets,
        "multimodal_vs_best_single": comparison,
        "subgroups": _group_rows(cv, n_boot),
        "robustness_missing_modality": _robustness_rows(cv, n_boot),
        "interval_when_modality_hidden": _interval_rows(cv),
        "discrepancy_detection": discrepancy_eval or {},
    }


def _fmt(v: object, nd: int = 3) -> str:
    if isinstance(v, float):
        return "n/a" if np.isnan(v) else f"{v:.{nd}f}"
    return str(v)


def render_markdown(report: dict) -> str:
    """The evaluation report as Markdown (the same numbers as the JSON)."""
    o = report["overall"]
    lines = ["# Model evaluation: progression or death within 12 months", "",
             f"Generated {report['generated_at']}. Protocol: {report['protocol']}.", ""]
    st = report.get("store") or {}
    if st:
        lines += [f"Store version `{st.get('version')}`: {st.get('patients')} patients, image embeddings "
                  f"{'present' if st.get('image_embeddings') else 'absent'}.", ""]
    mdl = report.get("model") or {}
    if mdl:
        lines += [f"Served model: `{mdl.get('model_id')}` version `{mdl.get('version')}`, training data hash "
                  f"`{str(mdl.get('training_data_hash', ''))[:16]}`.", ""]
    lines += ["## Overall (held-out, late fusion)", "",
              "| n | events | AUROC (95% CI) | AUPRC | Brier | ECE |", "|---|---|---|---|---|---|",
              f"| {o['n']} | {o['events']} | {_fmt(o['auroc'])} ({_fmt(o['auroc_low'])}-{_fmt(o['auroc_high'])}) | "
              f"{_fmt(o['auprc'])} | {_fmt(o['brier'])} | {_fmt(o['ece'])} |", "",
              f"ECE a perfectly calibrated model would exceed only 5% of the time at this sample size: "
              f"{_fmt(report['ece_if_perfectly_calibrated_p95'])}.", "",
              "## Reliability diagram (bins of predicted risk)", "",
              "| bin | n | mean predicted | observed (95% CI) |", "|---|---|---|---|"]
    for b in report["reliability"]:
        lines.append(f"| {b['bin_low']:.1f}-{b['bin_high']:.1f} | {b['n']} | {_fmt(b['mean_predicted'])} | "
                     f"{_fmt(b['observed'])} ({_fmt(b['observed_low'])}-{_fmt(b['observed_high'])}) |")
    lines += ["", "## Per modality subset", "",
              "Single-modality models are trained alone on the same folds; patients without the modality get "
              "that model's base rate. *AUROC where present* is restricted to patients who have the modality.", "",
              "| subset | AUROC (95% CI) | AUPRC | Brier | ECE | AUROC where present (n) |", "|---|---|---|---|---|---|"]
    for r in report["modality_subsets"]:
        lines.append(f"| {r['subset']} | {_fmt(r['auroc'])} ({_fmt(r['auroc_low'])}-{_fmt(r['auroc_high'])}) | "
                     f"{_fmt(r['auprc'])} | {_fmt(r['brier'])} | {_fmt(r['ece'])} | "
                     f"{_fmt(r['auroc_where_present'])} ({r['n_present']}) |")
    c = report.get("multimodal_vs_best_single")
    if c:
        verdict = ("beats" if c["multimodal_beats_best_single"] else "does NOT beat")
        lines += ["", f"**Multimodal {verdict} the best single modality ({c['best_single']})**: AUROC "
                      f"{_fmt(c['multimodal_auroc'])} vs {_fmt(c['best_single_auroc'])}, difference "
                      f"{_fmt(c['delta_auroc'])} (paired bootstrap 95% CI {_fmt(c['delta_low'])} to "
                      f"{_fmt(c['delta_high'])}"
                      + ("; the interval excludes 0)." if c["significant"] else "; the interval includes 0).")
                      + " The best single modality is picked on these same folds, which favours it."]
    lines += ["", "## Subgroups (late fusion)", "", "| group | value | n | events | AUROC (95% CI) | Brier | ECE |",
              "|---|---|---|---|---|---|---|"]
    for r in report["subgroups"]:
        if r["enough_data"]:
            lines.append(f"| {r['group']} | {r['value']} | {r['n']} | {r['events']} | {_fmt(r['auroc'])} "
                         f"({_fmt(r['auroc_low'])}-{_fmt(r['auroc_high'])}) | {_fmt(r['brier'])} | {_fmt(r['ece'])} |")
        else:
            lines.append(f"| {r['group']} | {r['value']} | {r['n']} | {r['events']} | not enough data | | |")
    lines += ["", "## Fusion strategies compared, and robustness when a modality is missing", "",
              "Same folds and patients for every strategy. AUROC with bootstrap 95% CI; difference to late fusion "
              "with a paired bootstrap 95% CI; AUROC when a modality is missing for every patient; ECE.", "",
              "| strategy | AUROC (95% CI) | vs late (95% CI) | " + " | ".join(f"without {m}" for m in MODALITIES)
              + " | ECE |", "|---|---|---|" + "---|" * len(MODALITIES) + "---|"]
    for r in report["robustness_missing_modality"]:
        ci = f" ({_fmt(r['auroc_low'])}-{_fmt(r['auroc_high'])})" if "auroc_low" in r else ""
        delta = (f"{_fmt(r['delta_vs_late'])} ({_fmt(r['delta_low'])} to {_fmt(r['delta_high'])})"
                 if "delta_vs_late" in r else "")
        lines.append(f"| {r['strategy']} | {_fmt(r['all'])}{ci} | {delta} | "
                     + " | ".join(_fmt(r[f'without {m}']) for m in MODALITIES) + f" | {_fmt(r['ece'])} |")
    lines += ["", "## Uncertainty interval when a modality is hidden", "",
              "Among patients who have the modality: how often hiding it widens the interval (log-odds), mean "
              "90% interval width with and without it, and how often the masked interval contains the risk "
              "computed with the modality (target about 90%).", "",
              "| modality | n | widens (%) | width with | width without | coverage (%) |", "|---|---|---|---|---|---|"]
    for r in report["interval_when_modality_hidden"]:
        lines.append(f"| {r['modality']} | {r['n']} | {r['widens_logit_pct']:.0f} | {_fmt(r['mean_width_with'])} | "
                     f"{_fmt(r['mean_width_without'])} | {r['coverage_pct']:.0f} |")
    fa = report.get("explanation_faithfulness") or {}
    if fa.get("modalities"):
        lines += ["", "## Do the explanations find what is true? (synthetic cohort only)", "",
                  "Spearman correlation between each modality's summed SHAP (served model, historical patients) "
                  "and the generator's latent log-hazard term of that modality (clinical: clinical + labs terms).", "",
                  "| modality | n | Spearman |", "|---|---|---|"]
        for r in fa["modalities"]:
            lines.append(f"| {r['modality']} | {r['n']} | {_fmt(r['spearman_shap_vs_truth'], 2)} |")
    d = report.get("discrepancy_detection") or {}
    lines += ["", "## Discrepancy detection against the generator's planted discrepancies", ""]
    if d.get("kinds"):
        lines += ["| kind | planted | detected | true positives | precision | recall |", "|---|---|---|---|---|---|"]
        for k in d["kinds"]:
            lines.append(f"| {k['kind']} | {k['planted']} | {k['detected']} | {k['true_positives']} | "
                         f"{_fmt(k['precision'])} | {_fmt(k['recall'])} |")
        lines += ["", f"Matched per (patient, kind) from `{d.get('truth_file', '?')}`."]
    else:
        lines.append(d.get("note", "No truth file found: precision and recall not measured."))
    return "\n".join(lines) + "\n"


# ---- discrepancies against the generator's truth ----------------------------------------------------

def discrepancy_evaluation(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> dict:
    """Precision / recall of ``detect_discrepancies`` against the planted discrepancies, per (patient, kind).

    Truth rows (``discrepancies.parquet`` / ``.csv`` / ``.json``) are matched to patients by
    ``patient_id``, by ``idx`` through ``patients.parquet``, by ``mrn``, or by the note file
    they name (``file_a``, relative to the demo folder, which ends the note's ``source_uri``).
    """
    from core.ingest.base import MRN_SYSTEM
    from core.models.discrepancy import DiscrepancyKind, detect_discrepancies, truth_kind
    from core.store.queries import frame

    files = sorted(p for p in truth_dir.glob("discrepanc*") if p.suffix in (".parquet", ".csv", ".json", ".jsonl"))
    if not files:
        return {"note": f"no discrepancy truth file in {truth_dir}"}
    rows = _read_rows(files[0])
    idx_to_pid: dict[str, str] = {}
    if (truth_dir / "patients.parquet").exists():
        tp = pl.read_parquet(truth_dir / "patients.parquet", columns=["idx", "patient_id"])
        idx_to_pid = {str(i): p for i, p in tp.iter_rows() if p}
    uris = frame(con, "SELECT DISTINCT patient_id, source_uri FROM notes")
    by_uri = {u.replace("\\", "/"): p for p, u in uris.iter_rows()}
    mrns = dict(frame(con, "SELECT value, patient_id FROM patient_identifiers WHERE system = ?", [MRN_SYSTEM]).iter_rows())
    truth: set[tuple[str, str]] = set()
    unmatched = 0
    for r in rows:
        pid = r.get("patient_id") or idx_to_pid.get(str(r.get("idx"))) or mrns.get(str(r.get("mrn") or ""))
        if not pid and r.get("file_a"):
            rel = str(r["file_a"]).replace("\\", "/")
            pid = next((p for uri, p in by_uri.items() if uri.endswith("/" + rel)), None)
        if not pid:
            unmatched += 1
            continue
        truth.add((pid, truth_kind(str(r.get("kind", "")))))
    found = detect_discrepancies(con)
    fam = {DiscrepancyKind.NOTE_VARIANT_VS_SEQUENCING.value: DiscrepancyKind.NOTE_BIOMARKER_VS_VARIANT.value}
    detected = {(p, fam.get(k, k)) for p, k in zip(found["patient_id"].to_list(), found["kind"].to_list(), strict=True)}
    kinds = []
    for kind in sorted({k for _, k in truth} | {k for _, k in detected}):
        t = {x for x in truth if x[1] == kind}
        d = {x for x in detected if x[1] == kind}
        tp_ = len(t & d)
        kinds.append({"kind": kind, "planted": len(t), "detected": len(d), "true_positives": tp_,
                      "precision": tp_ / len(d) if d else float("nan"), "recall": tp_ / len(t) if t else float("nan")})
    tp_all = len(truth & detected)
    return {"truth_file": files[0].name, "unmatched_truth_rows": unmatched, "kinds": kinds,
            "precision": tp_all / len(detected) if detected else float("nan"),
            "recall": tp_all / len(truth) if truth else float("nan"),
            "false_positives": sorted(f"{p}:{k}" for p, k in detected - truth)[:50],
            "missed": sorted(f"{p}:{k}" for p, k in truth - detected)[:50]}


def _read_rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pl.read_parquet(path).to_dicts()
    if path.suffix == ".csv":
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else data.get("discrepancies", data.get("rows", []))


def write_report(report: dict, out_dir: Path) -> list[Path]:
    """Write evaluation.json, evaluation.md and reliability.json (a plotly figure) into ``out_dir``."""
    from core.models.figures import reliability_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "evaluation.json", out_dir / "evaluation.md", out_dir / "reliability.json"]
    paths[0].write_text(json.dumps(M.clean_json(report), indent=1, default=str))
    paths[1].write_text(render_markdown(report))
    paths[2].write_text(reliability_figure(report["reliability"]).to_json())
    return paths
