"""Rates with intervals, AUROC with bootstrap CI, calibration error: pure functions on arrays."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    """k of n, with a 95% interval. ``p`` is None when n == 0 (no data is not 0%)."""

    k: int
    n: int
    p: float | None
    lo: float | None
    hi: float | None
    method: str = "Wilson"

    def __post_init__(self) -> None:
        if self.n < 0 or self.k < 0 or self.k > self.n:
            raise ValueError(f"invalid rate {self.k}/{self.n}")

    def text(self, pct: bool = True) -> str:
        if self.p is None:
            return f"no data (n=0)"
        f = (lambda x: f"{100 * x:.0f}%") if pct else (lambda x: f"{x:.3f}")
        return f"{f(self.p)} ({f(self.lo)}–{f(self.hi)}), {self.k}/{self.n}"


def wilson(k: int, n: int, z: float = Z95) -> Rate:
    """Wilson score interval for a binomial proportion (good coverage at small n and near 0 or 1)."""
    if n == 0:
        return Rate(k, n, None, None, None)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Rate(k, n, p, max(0.0, centre - half), min(1.0, centre + half))


def auroc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve via the Mann-Whitney statistic (ties count one half); None if one class only."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=float)
    pos, neg = score[y], score[~y]
    if len(pos) == 0 or len(neg) == 0:
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    allv = np.concatenate([pos, neg])[order]
    # average ranks for ties
    i = 0
    r = np.arange(1, len(allv) + 1, dtype=float)
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        r[i:j + 1] = (i + j + 2) / 2
        i = j + 1
    ranks[order] = r
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


@dataclass(frozen=True)
class Estimate:
    value: float | None
    lo: float | None
    hi: float | None
    n: int
    method: str

    def text(self, digits: int = 2) -> str:
        if self.value is None:
            return f"not estimable (n={self.n})"
        return f"{self.value:.{digits}f} ({self.lo:.{digits}f}–{self.hi:.{digits}f}), n={self.n}"


def auroc_ci(y: np.ndarray, score: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> Estimate:
    """AUROC with a percentile bootstrap 95% interval (resampling patients)."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=float)
    a = auroc(y, score)
    if a is None:
        return Estimate(None, None, None, len(y), "bootstrap")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n_boot, len(y)))
    boots = [v for v in (auroc(y[i], score[i]) for i in idx) if v is not None]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return Estimate(a, float(lo), float(hi), len(y), f"bootstrap ({n_boot})")


def reliability(y: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Equal-width bins: mean predicted, observed rate and count per non-empty bin."""
    y = np.asarray(y, dtype=float)
    prob = np.asarray(prob, dtype=float)
    bins = np.clip((prob * n_bins).astype(int), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        m = bins == b
        if m.any():
            out.append({"bin": b, "lo": b / n_bins, "hi": (b + 1) / n_bins, "mean_predicted": float(prob[m].mean()),
                        "observed": float(y[m].mean()), "n": int(m.sum())})
    return out


def ece(y: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> float | None:
    """Expected calibration error: count-weighted mean |observed - predicted| over equal-width bins."""
    if len(y) == 0:
        return None
    rel = reliability(y, prob, n_bins)
    n = sum(r["n"] for r in rel)
    return float(sum(r["n"] * abs(r["observed"] - r["mean_predicted"]) for r in rel) / n)


def ece_ci(y: np.ndarray, prob: np.ndarray, *, n_boot: int = 500, seed: int = 0, n_bins: int = 10) -> Estimate:
    y = np.asarray(y, dtype=float)
    prob = np.asarray(prob, dtype=float)
    e = ece(y, prob, n_bins)
    if e is None:
        return Estimate(None, None, None, 0, "bootstrap")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n_boot, len(y)))
    boots = [ece(y[i], prob[i], n_bins) for i in idx]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return Estimate(e, float(lo), float(hi), len(y), f"bootstrap ({n_boot})")


def median_ci(x: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> Estimate:
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return Estimate(None, None, None, 0, "bootstrap")
    rng = np.random.default_rng(seed)
    boots = np.median(x[rng.integers(0, len(x), size=(n_boot, len(x)))], axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return Estimate(float(np.median(x)), float(lo), float(hi), len(x), f"bootstrap ({n_boot})")
