"""Pure metric functions for binary risk predictions: discrimination, calibration, their uncertainty."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score

N_BINS = 10


def auroc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve by the rank (Mann-Whitney) formula; NaN with a single class."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=np.float64)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(p)  # average ranks for ties
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auprc(y: np.ndarray, p: np.ndarray) -> float:
    y = np.asarray(y, dtype=int)
    return float(average_precision_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, dtype=np.float64) - np.asarray(y, dtype=np.float64)) ** 2))


def reliability_bins(y: np.ndarray, p: np.ndarray, n_bins: int = N_BINS) -> list[dict]:
    """Equal-width bins of predicted risk: count, mean predicted, observed rate and its 95 % Wilson interval."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        sel = which == b
        n = int(sel.sum())
        if n == 0:
            continue
        obs = float(y[sel].mean())
        lo, hi = wilson(obs, n)
        out.append({"bin_low": float(edges[b]), "bin_high": float(edges[b + 1]), "n": n,
                    "mean_predicted": float(p[sel].mean()), "observed": obs, "observed_low": lo, "observed_high": hi})
    return out


def ece(y: np.ndarray, p: np.ndarray, n_bins: int = N_BINS) -> float:
    """Expected calibration error: count-weighted mean |observed - predicted| over equal-width bins."""
    bins = reliability_bins(y, p, n_bins)
    n = sum(b["n"] for b in bins)
    return float(sum(b["n"] * abs(b["observed"] - b["mean_predicted"]) for b in bins) / max(n, 1))


def ece_null_quantile(p: np.ndarray, q: float = 0.95, n_sim: int = 400, seed: int = 0, n_bins: int = N_BINS) -> float:
    """``q`` quantile of the ECE a *perfectly calibrated* model would show on this many patients.

    Outcomes are drawn as Bernoulli(p) ``n_sim`` times; small samples have a sizeable ECE
    even when calibration is perfect, so a fixed ECE bound would be meaningless.
    """
    rng = np.random.default_rng(seed)
    p = np.asarray(p, dtype=np.float64)
    sims = [ece((rng.random(len(p)) < p).astype(int), p, n_bins) for _ in range(n_sim)]
    return float(np.quantile(sims, q))


def wilson(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    denom = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / denom
    half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def bootstrap_ci(y: np.ndarray, p: np.ndarray, stat=auroc, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat(y, p)`` (resampling patients)."""
    y = np.asarray(y)
    p = np.asarray(p)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        v = stat(y[i], p[i])
        if not np.isnan(v):
            vals.append(v)
    if not vals:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def paired_delta_ci(y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, stat=auroc, n_boot: int = 1000,
                    seed: int = 0) -> tuple[float, float, float]:
    """stat(a) - stat(b) on the same patients, with a paired percentile-bootstrap 95 % interval."""
    y, p_a, p_b = np.asarray(y), np.asarray(p_a), np.asarray(p_b)
    rng = np.random.default_rng(seed)
    d = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        v = stat(y[i], p_a[i]) - stat(y[i], p_b[i])
        if not np.isnan(v):
            d.append(v)
    point = stat(y, p_a) - stat(y, p_b)
    if not d:
        return float(point), float("nan"), float("nan")
    return float(point), float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))


@dataclass(frozen=True)
class Summary:
    n: int
    events: int
    auroc: float
    auroc_low: float
    auroc_high: float
    auprc: float
    brier: float
    ece: float

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(y: np.ndarray, p: np.ndarray, n_boot: int = 1000, seed: int = 0) -> Summary:
    """AUROC with bootstrap 95 % CI, AUPRC, Brier and ECE."""
    y = np.asarray(y, dtype=int)
    lo, hi = bootstrap_ci(y, p, auroc, n_boot, seed)
    return Summary(n=len(y), events=int(y.sum()), auroc=auroc(y, p), auroc_low=lo, auroc_high=hi, auprc=auprc(y, p),
                   brier=brier(y, p), ece=ece(y, p))


def clean_json(o: object) -> object:
    """NaN -> None and numpy scalars -> Python, recursively (strict JSON)."""
    if isinstance(o, dict):
        return {k: clean_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean_json(v) for v in o]
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        o = o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o
