"""Stored embeddings: one per series, model version and provenance, deterministic, bad slices reported."""
from __future__ import annotations

from datetime import date, datetime

import pytest
import torch
from lesion_cases import lesion_cases

from core.imaging.embed import EXTRACTOR, embed_series
from core.imaging.encoder import COMMITTED_MODELS_DIR, load_encoder
from core.imaging.explain import explain_series
from core.ingest.run import ingest_paths
from core.store import db
from core.synth.imaging import annotation_for, write_ct_study, write_lesion_annotations

WEIGHTS = COMMITTED_MODELS_DIR / "encoder-v1.pt"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store with 6 ingested CT series (5 with a lesion, 3 of them annotated) and 1 lesion-free one."""
    torch.set_num_threads(2)
    base = tmp_path_factory.mktemp("embed")
    cases = lesion_cases(base / "dicom", 5, seed=99)
    free = write_ct_study(base / "dicom" / "free", mrn="PGFREE1", patient_name="TEST^FREE", birth_date=date(1950, 1, 1),
                          sex="M", study_date=date(2025, 2, 3), lesion=None, body_part="chest", seed=99)
    notes = [annotation_for(c.study, mrn=c.mrn, lesion_id="L1", margin=c.lesion.margin,
                            measured_at=datetime(2025, 1, 7, 9, 0)) for c in cases[:3]]
    write_lesion_annotations(base / "pacs" / "lesions.csv", notes)
    root = base / "store"
    with db.evidence_writer(root) as con:
        ingest_paths(con, [base / "dicom", base / "pacs"], command="test")
    return root, cases, free


def _embed(root, **kw):
    model, meta = load_encoder(WEIGHTS)
    with db.evidence_writer(root) as con:
        return embed_series(con, model=model, meta=meta, weights=WEIGHTS, **kw)


def test_one_embedding_per_series_with_model_version_and_provenance(store):
    root, cases, free = store
    summary = _embed(root)
    assert summary.n_series == summary.n_written == 6 and summary.n_annotated == 3 and summary.n_failed == 0
    con = db.connect_readonly(root)
    rows = con.execute("""
        SELECT e.series_uid, e.sop_instance_uid, e.model_id, e.model_version, len(e.vector), e.locator,
               e.extractor, e.modality, e.patient_id = i.patient_id, e.source_sha256 = i.source_sha256
        FROM image_embeddings e JOIN imaging_instances i USING (sop_instance_uid)""").fetchall()
    series = {r[0] for r in con.execute("SELECT series_uid FROM imaging_series").fetchall()}
    assert {r[0] for r in rows} == series and len(rows) == len(series)
    for uid, sop, model_id, version, dim, locator, extractor, modality, same_patient, same_source in rows:
        assert (model_id, version, dim, locator, extractor, modality) == ("image-encoder", "v1", 32, uid, EXTRACTOR,
                                                                          "imaging")
        assert same_patient and same_source
    # annotated series are embedded at the annotated slice; the others at the detector's choice
    chosen = dict((r[0], r[1]) for r in rows)
    for c in cases[:3]:
        assert chosen[c.study.series_uid] == c.study.sop_instance_uids[c.study.slice_index]
    reg = con.execute("SELECT training_data_hash, artifact_sha256 FROM model_registry "
                      "WHERE model_id = 'image-encoder' AND version = 'v1'").fetchall()
    assert len(reg) == 1 and len(reg[0][0]) == 64
    con.close()


def test_explain_series_uses_the_embedded_annotated_slice(store):
    root, cases, free = store
    _embed(root)
    con = db.connect_readonly(root)
    c = cases[0]
    ex = explain_series(con, c.study.series_uid, model=load_encoder(WEIGHTS)[0])
    assert ex.chosen_by == "stored embedding"
    assert ex.sop_instance_uid == c.study.sop_instance_uids[c.study.slice_index]
    assert ex.lesion_centre_rc == tuple(float(v) for v in c.centre_rc)
    assert ex.heatmap.shape == ex.hu.shape == (128, 128) and 0.0 <= ex.lesion_probability <= 1.0
    with pytest.raises(LookupError, match="no image files"):
        explain_series(con, "1.2.3.4.unknown", model=load_encoder(WEIGHTS)[0])
    con.close()


def test_re_embedding_replaces_rows_with_identical_vectors(store):
    root, _, _ = store
    _embed(root)
    con = db.connect_readonly(root)
    before = dict(con.execute("SELECT series_uid, vector FROM image_embeddings").fetchall())
    con.close()
    _embed(root)
    con = db.connect_readonly(root)
    after = dict(con.execute("SELECT series_uid, vector FROM image_embeddings").fetchall())
    assert before == after
    assert con.execute("SELECT count(*) FROM model_registry WHERE model_id = 'image-encoder'").fetchone()[0] == 1
    con.close()


def test_unreadable_slice_is_reported_and_the_rest_still_lands(store, tmp_path):
    root, cases, _ = store
    broken = cases[4].study.files[0]
    original = broken.read_bytes()
    try:
        broken.write_bytes(original[:400])  # truncated: header only, no pixels
        summary = _embed(root)
    finally:
        broken.write_bytes(original)
    assert summary.n_written == 6 and len(summary.errors) == 1
    con = db.connect_readonly(root)
    err = con.execute("SELECT kind, locator, error_type FROM ingest_errors WHERE kind = 'embed'").fetchall()
    assert err == [("embed", cases[4].study.sop_instance_uids[0], "UnreadablePixels")]
    con.close()
