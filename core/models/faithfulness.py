"""Do the explanations find what is true? SHAP by modality against the generator's latent hazard terms.

The synthetic cohort's truth table holds, per patient, the log-hazard contribution of each
modality (``lp_imaging``, ``lp_notes``, ``lp_genomics``, ``lp_clinical``, ``lp_labs``). If the
per-modality SHAP sums of the served model are faithful, they rank patients like those
terms do (positive Spearman correlation) among patients who have the modality. Labs are
part of the clinical modality here, so clinical is compared with lp_clinical + lp_labs.
Only possible on synthetic data; real cohorts have no such truth.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.stats import spearmanr

from core.models.explain import explain, modality_sums
from core.models.features import patient_features, presence_column
from core.models.fusion import LateFusionModel

TRUTH_TERMS = {"imaging": ("lp_imaging",), "notes": ("lp_notes",), "genomics": ("lp_genomics",),
               "clinical": ("lp_clinical", "lp_labs")}


def modality_faithfulness(con: duckdb.DuckDBPyConnection, model: LateFusionModel, truth_dir: Path) -> dict:
    """Spearman correlation of each modality's SHAP sum with its latent truth term (historical patients)."""
    path = truth_dir / "patients.parquet"
    if not path.exists():
        return {"note": f"no truth table {path}"}
    cols = ["patient_id", "cohort"] + sorted({c for cs in TRUTH_TERMS.values() for c in cs})
    truth = pl.read_parquet(path)
    missing = [c for c in cols if c not in truth.columns]
    if missing:
        return {"note": f"truth table lacks {missing}"}
    truth = truth.select(cols).filter((pl.col("cohort") == "historical") & pl.col("patient_id").is_not_null())
    feats = patient_features(con, truth["patient_id"].to_list(), projection=model.projection)
    expl = explain(model, feats)
    sums = {e.patient_id: dict(modality_sums(e.contributions).iter_rows()) for e in expl}
    t = {r["patient_id"]: r for r in truth.iter_rows(named=True)}
    out = []
    for m in model.modalities:
        pres = dict(zip(feats["patient_id"].to_list(), feats[presence_column(m)].to_list(), strict=True))
        x, y = [], []
        for pid, s in sums.items():
            if pres.get(pid) and pid in t:
                x.append(s.get(m, 0.0))
                y.append(sum(t[pid][c] or 0.0 for c in TRUTH_TERMS[m]))
        rho = float(spearmanr(x, y).statistic) if len(x) > 10 and np.std(y) > 0 else float("nan")
        out.append({"modality": m, "n": len(x), "spearman_shap_vs_truth": rho})
    return {"modalities": out, "what": "Spearman correlation between each modality's summed SHAP (served model) "
                                      "and the generator's latent log-hazard term for that modality"}

