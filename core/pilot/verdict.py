"""Thresholds fixed before the pilot, judged met / not met / not enough data, and the overall verdict."""
from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.config import PROJECT_ROOT

THRESHOLDS_PATH = PROJECT_ROOT / "data" / "pilot" / "thresholds.toml"


class Status(StrEnum):
    MET = "met"
    NOT_MET = "not met"
    NOT_ENOUGH = "not enough data"


class Verdict(StrEnum):
    GO = "go"
    NO_GO = "no-go"
    EXTEND = "extend"


@dataclass(frozen=True)
class Threshold:
    id: str
    metric: str
    direction: str   # ">=" or "<="
    value: float
    min_n: int
    critical: bool
    description: str

    def __post_init__(self) -> None:
        if self.direction not in (">=", "<="):
            raise ValueError(f"threshold {self.id}: direction must be '>=' or '<=', got {self.direction!r}")
        if self.min_n < 1:
            raise ValueError(f"threshold {self.id}: min_n must be >= 1")


@dataclass(frozen=True)
class ThresholdConfig:
    thresholds: tuple[Threshold, ...]
    meta: dict
    sha256: str


def load_thresholds(path: Path = THRESHOLDS_PATH) -> ThresholdConfig:
    raw = path.read_bytes()
    try:
        doc = tomllib.loads(raw.decode())
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: invalid TOML: {e}") from e
    items = []
    for i, t in enumerate(doc.get("threshold", [])):
        try:
            items.append(Threshold(**t))
        except TypeError as e:
            raise ValueError(f"{path}: threshold #{i + 1}: {e}") from e
    return ThresholdConfig(tuple(items), doc.get("meta", {}), hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True)
class Measured:
    """A metric's point estimate, 95% interval and n (None when not estimable)."""

    value: float | None
    lo: float | None
    hi: float | None
    n: int
    detail: str = ""


@dataclass(frozen=True)
class Judgement:
    threshold: Threshold
    measured: Measured
    status: Status
    reason: str


def judge(t: Threshold, m: Measured) -> Judgement:
    """met if the whole interval is on the right side; not met if the whole interval is on the wrong side;
    otherwise (or n below min_n) not enough data."""
    if m.value is None or m.n < t.min_n:
        return Judgement(t, m, Status.NOT_ENOUGH, f"n={m.n} below the minimum {t.min_n}" if m.value is not None or m.n
                         else "no cases")
    lo = m.lo if m.lo is not None else m.value
    hi = m.hi if m.hi is not None else m.value
    if t.direction == ">=":
        if lo >= t.value:
            return Judgement(t, m, Status.MET, f"lower bound {lo:.3f} ≥ {t.value}")
        if hi < t.value:
            return Judgement(t, m, Status.NOT_MET, f"upper bound {hi:.3f} < {t.value}")
    else:
        if hi <= t.value:
            return Judgement(t, m, Status.MET, f"upper bound {hi:.3f} ≤ {t.value}")
        if lo > t.value:
            return Judgement(t, m, Status.NOT_MET, f"lower bound {lo:.3f} > {t.value}")
    return Judgement(t, m, Status.NOT_ENOUGH, f"interval {lo:.3f}–{hi:.3f} straddles {t.value}")


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reasons: list[str]
    judgements: list[Judgement]


def overall(judgements: list[Judgement]) -> Outcome:
    """no-go if any critical threshold is not met; go if every threshold is met; otherwise extend."""
    if not judgements:
        return Outcome(Verdict.EXTEND, ["no thresholds configured"], [])
    failed = [j for j in judgements if j.status == Status.NOT_MET and j.threshold.critical]
    soft_failed = [j for j in judgements if j.status == Status.NOT_MET and not j.threshold.critical]
    unsure = [j for j in judgements if j.status == Status.NOT_ENOUGH]
    if failed:
        return Outcome(Verdict.NO_GO, [f"{j.threshold.id}: {j.reason}" for j in failed], judgements)
    if not unsure and not soft_failed:
        return Outcome(Verdict.GO, ["every threshold met"], judgements)
    if not unsure:
        return Outcome(Verdict.GO, ["all critical thresholds met; watch: " +
                                    ", ".join(f"{j.threshold.id} ({j.reason})" for j in soft_failed)], judgements)
    return Outcome(Verdict.EXTEND, [f"{j.threshold.id}: {j.reason}" for j in unsure + soft_failed], judgements)
