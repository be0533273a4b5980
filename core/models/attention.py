"""Per-patient modality weights of the attention-fusion comparison model, for the Explain page.

The model (``core.models.torch_fusion``) is trained by ``python -m core train`` beside the
served late-fusion artifact; it is shown for comparison and never serves the board. Torch is
imported only once a registered attention artifact exists.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from core.models.features import MODALITIES, patient_features, presence_column

ATTENTION_CAVEAT = ("Attention weights show where the comparison model looked, not why; they are not attributions "
                    "and the served model is late fusion.")


@dataclass(frozen=True)
class PatientAttention:
    """The attention comparison model's view of one patient."""

    weights: pl.DataFrame   # modality, present (bool), weight (0-1; 0 when missing, present ones sum to 1)
    risk: float             # the comparison model's calibrated risk (not the served prediction)
    model_version: str      # served version it was trained with


def patient_attention(con: duckdb.DuckDBPyConnection, patient_id: str, version: str | None = None) -> PatientAttention:
    """Modality weights of the attention model trained with the newest (or given) served version.

    Features are computed as for the served prediction (index date, the served model's embedding projection).

    Raises:
        LookupError: no model registered, or that version has no attention model (the message says what to run).
        FileNotFoundError / ValueError: the artifact is missing or does not match its registry hash.
    """
    from core.models.registry import load_attention_model, load_model

    served, entry = load_model(con, version)
    model = load_attention_model(entry)
    feats = patient_features(con, [patient_id], projection=served.projection)
    w = model.attention_weights(feats).row(0, named=True)
    weights = pl.DataFrame({"modality": list(MODALITIES),
                            "present": [bool(feats[presence_column(m)][0]) for m in MODALITIES],
                            "weight": [float(w[m]) for m in MODALITIES]})
    return PatientAttention(weights, float(model.predict_proba(feats)[0]), entry.version)
