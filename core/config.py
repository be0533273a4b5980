"""Settings declared once: name, default, help. Override with TB_<NAME> env vars."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str

    @property
    def value(self) -> str:
        return os.environ.get(f"TB_{self.name.upper()}", self.default)


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("store_dir", str(PROJECT_ROOT / "data" / "store"), "folder holding the DuckDB store versions"),
        Setting("demo_dir", str(PROJECT_ROOT / "data" / "demo"), "folder the synthetic cohort files are written to"),
        Setting("manifest_dir", str(PROJECT_ROOT / "data" / "manifests"), "specimen manifests always loaded before an ingest"),
        Setting("trials_dir", str(PROJECT_ROOT / "data" / "trials"), "CTML trial files loaded by build-demo"),
        Setting("models_dir", str(PROJECT_ROOT / "data" / "models"), "trained model weights and artefacts"),
        Setting("keep_versions", "2", "how many older evidence-store versions to keep"),
        Setting("session_timeout_min", "30", "idle minutes before a dashboard login expires"),
        Setting("train_encoder_if_missing", "1", "build-demo trains the image encoder when no weights are committed"),
        Setting("nlp_workers", "auto", "processes running note NLP ahead of an ingest ('auto': one per CPU, 0: none)"),
    ]
}


def setting(name: str) -> str:
    """Current value of a declared setting (environment wins over default)."""
    return SETTINGS[name].value


def path_setting(name: str) -> Path:
    return Path(setting(name))
