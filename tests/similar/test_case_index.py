"""Persisted case index: reused while nothing changed, rebuilt when the model, recipe or store version changes."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from similar_store import EMB_DIM, build_hand_store

import core.similar.case_index as cix
import core.similar.representation as rep
from core.ingest.base import insert_rows
from core.store import db


@pytest.fixture
def small(tmp_path, no_umap):
    root = tmp_path / "store"
    truth = build_hand_store(root, n=40, seed=9, n_current=4)
    cix.clear_memo()
    yield root, truth
    cix.clear_memo()


def _files(root):
    return sorted(p.name for p in (root / "similar").glob("fused-*"))


def test_index_is_persisted_and_reused(small, monkeypatch):
    root, _ = small
    con = db.connect_readonly(root)
    ci = cix.case_index(con, "fused")
    names = _files(root)
    assert len(names) == 4 and all(ci.meta.recipe_version in n for n in names)
    assert ci.meta.store_version == db.current_version(root)
    cix.clear_memo()

    def boom(*a, **k):
        raise AssertionError("rebuilt although nothing changed")

    monkeypatch.setattr(cix, "build_case_index", boom)
    again = cix.case_index(con, "fused")
    assert again.meta == ci.meta
    assert np.array_equal(again.vectors, ci.vectors)
    assert again.cases.equals(ci.cases)
    con.close()


def test_index_rebuilds_when_the_representation_recipe_changes(small, monkeypatch):
    root, _ = small
    con = db.connect_readonly(root)
    first = cix.case_index(con, "fused")
    monkeypatch.setattr(rep, "REPRESENTATION_VERSION", rep.REPRESENTATION_VERSION + "-next")
    second = cix.case_index(con, "fused")
    assert second.meta.recipe_version != first.meta.recipe_version
    assert second.meta.built_at >= first.meta.built_at
    assert _files(root) == sorted(p for p in _files(root) if second.meta.recipe_version in p)  # old recipe pruned
    con.close()


def test_index_rebuilds_when_the_image_encoder_version_changes(small):
    root, truth = small
    con = db.connect_readonly(root)
    first = cix.case_index(con, "fused")
    assert first.meta.encoder_version == "enc-1"
    con.close()
    # a new encoder version embeds every series again, in a new store version
    with db.evidence_writer(root) as w:
        rows = w.execute("SELECT embedding_id, series_uid, patient_id, observed_at FROM image_embeddings").fetchall()
        rng = np.random.default_rng(0)
        insert_rows(w, "image_embeddings", [  # two per series: enc-2 becomes the most common version
            {"embedding_id": f"{eid}-v2{k}", "series_uid": s, "model_id": "image-encoder", "model_version": "enc-2",
             "vector": rng.normal(size=EMB_DIM).astype(np.float32).tolist(), "patient_id": pid, "modality": "imaging",
             "observed_at": at, "source_uri": "hand://v2", "source_sha256": "0" * 64, "locator": s,
             "extractor": "tests.similar", "extractor_version": "2", "ingested_at": datetime(2026, 3, 3),
             "ingest_run_id": "v2"} for eid, s, pid, at in rows for k in "ab"])
    con = db.connect_readonly(root)
    second = cix.case_index(con, "fused")
    assert second.meta.encoder_version == "enc-2"
    assert second.meta.recipe_version != first.meta.recipe_version
    assert second.meta.store_version != first.meta.store_version
    con.close()


def test_index_rebuilds_for_a_new_store_version_and_prunes_deleted_ones(small):
    root, truth = small
    con = db.connect_readonly(root)
    first = cix.case_index(con, "fused")
    con.close()
    with db.evidence_writer(root) as w:  # e.g. a new ingest: one historical patient more
        w.execute("UPDATE patients SET cohort = 'historical' WHERE patient_id = ?", [truth.current[0]])
    con = db.connect_readonly(root)
    second = cix.case_index(con, "fused")
    assert second.meta.store_version == db.current_version(root) != first.meta.store_version
    assert second.meta.n_indexed == first.meta.n_indexed + 1
    con.close()


def test_an_unreadable_index_is_rebuilt(small):
    root, _ = small
    con = db.connect_readonly(root)
    ci = cix.case_index(con, "fused")
    name = cix.base_name("fused", ci.meta.recipe_version, cix.store_file(con))
    (root / "similar" / f"{name}.faiss").write_bytes(b"not an index")
    cix.clear_memo()
    again = cix.case_index(con, "fused")
    assert again.meta.n_indexed == ci.meta.n_indexed
    assert (root / "similar" / f"{name}.faiss").stat().st_size > 100
    con.close()


def test_in_memory_store_is_not_persisted(tmp_path, no_umap):
    import duckdb

    from core.store import schema

    con = duckdb.connect()
    schema.migrate(con)
    ci = cix.case_index(con, "fused", cache_dir=tmp_path / "cache")
    assert ci.meta.n_cases == 0 and ci.index.ntotal == 0
    assert not (tmp_path / "cache").exists()


def test_a_large_cohort_gets_an_approximate_index_with_measured_recall(small, monkeypatch):
    import core.similar.index as idx
    from core.similar.search import similar_cases

    root, truth = small
    monkeypatch.setattr(idx, "EXACT_MAX_CASES", 10)  # pretend 36 historical cases are a large cohort
    con = db.connect_readonly(root)
    ci = cix.build_case_index(con, "fused")
    assert ci.meta.index_label.startswith("HNSW") and ci.meta.recall_at_10 >= 0.9
    hist = ci.cases.filter(ci.cases["index_row"] >= 0)["patient_id"].to_list()
    for pid in hist[:10] + truth.current:
        near = similar_cases(con, pid, 5, index=ci)["patient_id"].to_list()
        assert len(near) == 5 and pid not in near
    con.close()
