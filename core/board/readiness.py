"""Readiness of a board case in words (pure; used by the agenda and presentation)."""
from __future__ import annotations

from typing import Any

MODALITIES = ("imaging", "notes", "sequencing", "pathology")


def readiness_label(case: dict[str, Any]) -> str:
    """Markdown line: ✅/❌ per modality, then flags. ❌ means *not on file*, never negative."""
    parts = [("✅ " if case.get(f"has_{m}") else "❌ ") + m for m in MODALITIES]
    flags = []
    if case.get("n_discrepancies"):
        flags.append(f"⚠️ {case['n_discrepancies']} discrepanc{'y' if case['n_discrepancies'] == 1 else 'ies'}")
    if case.get("n_triggers"):
        flags.append(f"🔎 {case['n_triggers']} review trigger{'s' if case['n_triggers'] != 1 else ''}")
    return " · ".join(parts) + ("  \n" + " · ".join(flags) if flags else "")
