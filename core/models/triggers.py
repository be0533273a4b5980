"""Secondary-review triggers: when the board should not take the model's number at face value.

Each trigger carries a plain-language reason. Thresholds are fixed here, in one place:

* ``low_confidence``: risk within ``NEAR_THRESHOLD`` of the decision threshold, the 90 %
  interval crossing it, or an interval wider than ``WIDE_INTERVAL``;
* ``missing_key_modality``: a modality the guidelines expect for this cancer type is absent
  (imaging for all; tumour sequencing for lung and colorectal cancer);
* ``cross_modal_discrepancy``: one per open discrepancy (see ``core.models.discrepancy``);
* ``out_of_distribution``: the imaging embedding is farther from the training cohort than
  ``OOD_PERCENTILE`` % of training patients.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

NEAR_THRESHOLD = 0.05
WIDE_INTERVAL = 0.35
OOD_PERCENTILE = 99.0
KEY_MODALITIES: dict[str, tuple[str, ...]] = {
    "lung": ("imaging", "genomics"), "colorectal": ("imaging", "genomics"), "breast": ("imaging",),
    "other": ("imaging",),
}
_WHY_KEY = {"imaging": "staging and response assessment need imaging",
            "genomics": "targeted-therapy decisions need tumour sequencing"}


class TriggerKind(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    MISSING_KEY_MODALITY = "missing_key_modality"
    DISCREPANCY = "cross_modal_discrepancy"
    OUT_OF_DISTRIBUTION = "out_of_distribution"


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    reason: str
    severity: str  # low / medium / high


def review_triggers(*, risk: float, risk_low: float, risk_high: float, threshold: float, cancer_type: str,
                    modalities_missing: list[str], discrepancies: list[str], ood_percentile: float | None) -> list[Trigger]:
    """All triggers that apply to one prediction.

    Args:
        discrepancies: descriptions of the patient's open discrepancies.
        ood_percentile: imaging-embedding distance percentile (None without imaging).
    """
    out: list[Trigger] = []
    width = risk_high - risk_low
    low: list[str] = []
    severity = "low"
    if abs(risk - threshold) < NEAR_THRESHOLD:
        low.append(f"risk {risk:.2f} is within {NEAR_THRESHOLD:.2f} of the {threshold:.2f} decision threshold")
        severity = "medium"
    elif risk_low < threshold < risk_high:
        low.append(f"90% interval {risk_low:.2f}-{risk_high:.2f} crosses the {threshold:.2f} decision threshold")
    if width > WIDE_INTERVAL:
        low.append(f"90% interval is {width:.2f} wide (> {WIDE_INTERVAL:.2f})")
        severity = "medium"
    if low:  # one trigger, every reason
        out.append(Trigger(TriggerKind.LOW_CONFIDENCE, "; ".join(low), severity))
    for m in KEY_MODALITIES.get(cancer_type, KEY_MODALITIES["other"]):
        if m in modalities_missing:
            out.append(Trigger(TriggerKind.MISSING_KEY_MODALITY,
                               f"no {m} on file for this {cancer_type} cancer: {_WHY_KEY[m]}", "medium"))
    for d in discrepancies:
        out.append(Trigger(TriggerKind.DISCREPANCY, d, "high"))
    if ood_percentile is not None and ood_percentile >= OOD_PERCENTILE:
        out.append(Trigger(TriggerKind.OUT_OF_DISTRIBUTION,
                           f"imaging embedding is more unusual than {min(ood_percentile, 100.0):.1f}% of training "
                           "patients: the model has seen few images like these", "medium"))
    return out
