"""SHAP + modality ablation for one patient (target < 200 ms) against a plain prediction, in the same run.

Usage: TB_STORE_DIR=... TB_MODELS_DIR=... .venv/bin/python bench/bench_explain.py [--patients 50] [--repeat 3]

Needs a store with a registered model (``python -m core build-demo`` or ``python -m core train``).
For each of ``--patients`` patients (features precomputed once), measures, best of ``--repeat``:
  * baseline: ``predict_proba`` of the served model for that one patient (risk only);
  * predict + interval: ``LateFusionModel.predict`` (risk, 90 % interval from bootstrap members);
  * SHAP + ablation: ``core.models.explain.explain`` (TreeSHAP per modality, fusion scaling,
    availability terms, without / only ablation) - the number the target is about;
  * on demand, from the store: ``core.models.read.explain_on_demand`` (features from DuckDB,
    prediction, explanation, review triggers, discrepancy detection) - what the dashboard waits for.
Reports p50 / p95 wall milliseconds, CPU ms of the p50 run, and the ratio to the baseline p50.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a script from anywhere

from core.models import read  # noqa: E402
from core.models.explain import explain  # noqa: E402
from core.models.features import patient_features  # noqa: E402
from core.models.registry import load_model  # noqa: E402
from core.store import db  # noqa: E402
from core.store.queries import frame  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, float]:
    """(best wall ms, CPU ms of that run)."""
    runs = []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        runs.append(((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000))
    return min(runs)


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    con = db.connect_readonly()
    model, entry = load_model(con)
    ids = frame(con, "SELECT patient_id FROM patients ORDER BY patient_id LIMIT ?",
                [args.patients])["patient_id"].to_list()
    feats = patient_features(con, ids, projection=model.projection)
    rows = [feats[i] for i in range(feats.height)]
    explain(model, rows[0])  # build the TreeExplainers once (cached on the loaded model), as the app does
    read.explain_on_demand(con, ids[0])
    steps = {
        "baseline: predict_proba": lambda r, pid: model.predict_proba(r),
        "predict + 90% interval": lambda r, pid: model.predict(r),
        "SHAP + ablation": lambda r, pid: explain(model, r),
        "on demand from store": lambda r, pid: read.explain_on_demand(con, pid),
    }
    results = {}
    for name, fn in steps.items():
        walls, cpus = [], []
        for r, pid in zip(rows, ids, strict=True):
            w, c = timed(lambda r=r, pid=pid: fn(r, pid), args.repeat)
            walls.append(w)
            cpus.append(c)
        results[name] = (pct(walls, 0.5), pct(walls, 0.95), statistics.median(cpus))
    con.close()
    base = results["baseline: predict_proba"][0]
    print(f"model {entry.model_id} {entry.version}; {len(ids)} patients, best of {args.repeat} per patient; "
          f"modalities {', '.join(model.modalities)}")
    print(f"{'step':28s} {'p50 ms':>8s} {'p95 ms':>8s} {'cpu ms':>8s} {'x baseline':>10s}")
    for name, (p50, p95, cpu) in results.items():
        print(f"{name:28s} {p50:8.2f} {p95:8.2f} {cpu:8.2f} {p50 / base:10.1f}")
    target = results["SHAP + ablation"][1]
    print(f"target SHAP + ablation < 200 ms (p95): {'met' if target < 200 else 'NOT met'} ({target:.1f} ms)")


if __name__ == "__main__":
    main()
