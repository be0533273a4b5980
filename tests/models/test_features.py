"""Features: modality presence, not-tested-is-NaN, no leakage past the index date, note flags respected."""
from __future__ import annotations

import math
from datetime import datetime

import polars as pl
import pytest

from core.models.features import FEATURES, MODALITIES, feature_names, patient_features, result_positive


def test_every_feature_has_a_modality_and_description():
    assert {f.modality for f in FEATURES} == set(MODALITIES)
    assert all(f.description for f in FEATURES)
    assert len({f.name for f in FEATURES}) == len(FEATURES)


def test_missing_modality_gives_nan_features_and_presence_false(syn_con):
    f = patient_features(syn_con)
    no_seq = f.filter(~pl.col("present_genomics"))
    assert no_seq.height > 0
    row = no_seq.row(0, named=True)
    assert all(math.isnan(row[n]) for n in feature_names("genomics"))
    # a sequenced patient: gene on the panel but not altered is 0, gene not on the panel is NaN (not tested)
    seq = f.filter(pl.col("present_genomics") & (pl.col("gen_EGFR") == 0)).row(0, named=True)
    assert seq["gen_EGFR"] == 0.0 and math.isnan(seq["gen_BRAF"])


def test_features_use_only_evidence_up_to_the_index_date(syn_con):
    # historical patients have a follow-up lesion 3x larger 90 days after the board: it must not leak
    f = patient_features(syn_con, ["P0011", "P0012", "P0013", "P0014", "P0015"])
    later = patient_features(syn_con, ["P0011", "P0012", "P0013", "P0014", "P0015"], as_of=datetime(2030, 1, 1))
    both = f.join(later, on="patient_id", suffix="_later").filter(pl.col("present_imaging"))
    assert both.height > 0
    assert (both["img_max_long_axis_mm_later"] > both["img_max_long_axis_mm"] * 2.5).all()


def test_note_flags_are_respected(syn_con):
    f = patient_features(syn_con, ["P0000"]).row(0, named=True)
    # P0000: 'weight loss' is negated in its note and 'dyspnea' is a family mention
    assert f["note_weight_loss"] == 0.0
    assert f["note_n_symptoms"] <= 1.0  # at most the (possibly affirmed) cough
    assert f["note_pack_years"] == 30.0 and f["note_smoking_status"] == 1.0


def test_unknown_patient_yields_a_row_with_nothing_present(syn_con):
    f = patient_features(syn_con, ["NOPE"])
    assert f.height == 1
    assert not any(f.row(0, named=True)[f"present_{m}"] for m in MODALITIES)


@pytest.mark.parametrize("text,expected", [
    ("negative", 0.0), ("not detected", 0.0), ("Positive", 1.0), ("3+", 1.0), ("2+", None), ("1+", 0.0),
    ("MSI-H", 1.0), ("microsatellite stable (MSS)", 0.0), ("amplified", 1.0), ("not amplified", 0.0),
    ("wild-type", 0.0), ("", None),
])
def test_result_positive(text, expected):
    assert result_positive(text) == expected


def test_embedding_projection_flags_outliers(syn_con):
    import numpy as np

    from core.models.projection import EmbeddingProjection

    proj = EmbeddingProjection.fit_from_store(syn_con, n_components=4)
    assert proj is not None and proj.n_components == 4 and proj.encoder_version == "test-1"
    typical = proj.mean[None, :]
    outlier = proj.mean[None, :] + 25.0 * np.ones_like(proj.mean)
    assert proj.ood_percentile(typical)[0] < 50 and proj.ood_percentile(outlier)[0] == 100.0
    f = patient_features(syn_con, ["P0000"], projection=proj)
    assert 0.0 <= f["imaging_ood_percentile"][0] <= 100.0 and not math.isnan(f["img_emb_pc1"][0])
    # the JSON round trip keeps the projection
    again = EmbeddingProjection.from_json(proj.to_json())
    assert np.allclose(again.transform(outlier), proj.transform(outlier))
