"""Saving and loading models as one JSON file each (no pickle: loading runs no code)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import lightgbm as lgb

from core.models.fusion import LateFusionModel, ModalityPart
from core.models.projection import EmbeddingProjection

FORMAT = "tumor-board-late-fusion/1"


def model_to_dict(model: LateFusionModel) -> dict:
    return {
        "format": FORMAT,
        "parts": {m: {"features": p.features, "booster": p.booster.model_to_string(),
                      "members": [b.model_to_string() for b in p.members], "term_sd": p.term_sd,
                      "epi_mean": p.epi_mean} for m, p in model.parts.items()},
        "coef_raw": model.coef_raw, "coef_present": model.coef_present, "intercept": model.intercept,
        "platt_a": model.platt_a, "platt_b": model.platt_b, "presence_rate": model.presence_rate,
        "threshold": model.threshold,
        "projection": model.projection.to_json() if model.projection is not None else None,
    }


def model_from_dict(d: dict) -> LateFusionModel:
    if d.get("format") != FORMAT:
        raise ValueError(f"not a late-fusion artifact (format {d.get('format')!r}, expected {FORMAT!r})")
    parts = {m: ModalityPart(m, p["features"], lgb.Booster(model_str=p["booster"]),
                             [lgb.Booster(model_str=s) for s in p["members"]], p["term_sd"], p["epi_mean"])
             for m, p in d["parts"].items()}
    return LateFusionModel(parts=parts, coef_raw=d["coef_raw"], coef_present=d["coef_present"],
                           intercept=d["intercept"], platt_a=d["platt_a"], platt_b=d["platt_b"],
                           presence_rate=d["presence_rate"], threshold=d["threshold"],
                           projection=EmbeddingProjection.from_json(d.get("projection")))


def write_json_artifact(d: dict, path: Path) -> str:
    """Write ``d`` as compact JSON to ``path`` (atomically); returns the file's sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(d, separators=(",", ":")).encode()
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def read_json_artifact(path: Path, sha256: str | None = None) -> dict:
    """Read a JSON artifact; checks the hash when given.

    Raises:
        FileNotFoundError: the file is missing (re-run ``python -m core train``).
        ValueError: the hash does not match the registry.
    """
    if not path.exists():
        raise FileNotFoundError(f"model artifact {path} is missing: run `python -m core train` to rebuild it")
    data = path.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"model artifact {path.name} does not match the registry hash: retrain or restore it")
    return json.loads(data)


def save_artifact(model: LateFusionModel, path: Path, extra: dict | None = None) -> str:
    """Write the model (plus ``extra`` metadata) to ``path``; returns the file's sha256."""
    return write_json_artifact(model_to_dict(model) | {"meta": extra or {}}, path)


def load_artifact(path: Path, sha256: str | None = None) -> LateFusionModel:
    """Load a saved model; checks the hash when given.

    Raises:
        FileNotFoundError: the file is missing (re-run ``python -m core train``).
        ValueError: the hash does not match the registry or the format is unknown.
    """
    return model_from_dict(read_json_artifact(path, sha256))
