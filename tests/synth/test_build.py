"""End to end: the session's demo store (``build-demo`` through the CLI, see tests/conftest.py) ingested cleanly."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from core.ingest.base import MRN_SYSTEM
from core.synth import build, cohort


def test_demo_build_has_no_ingest_errors(demo_store):
    errors = demo_store.execute("SELECT kind, locator, error_type, message FROM ingest_errors "
                                "WHERE severity = 'error'").fetchall()
    assert errors == []
    n_files = demo_store.execute("SELECT count(*) FROM sources").fetchone()[0]
    assert n_files > 100


def test_every_modality_lands(demo_store):
    counts = {t: demo_store.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
        "patients", "imaging_studies", "imaging_instances", "lesion_measurements", "notes", "variants",
        "tested_genes", "specimens", "biomarkers", "labs", "treatments", "conditions", "outcomes")}
    assert all(n > 0 for n in counts.values()), counts


def test_cohorts_board_and_sites(demo_store, demo_env):
    n = demo_store.execute("SELECT count(*) FROM patients").fetchone()[0]
    by = dict(demo_store.execute("SELECT cohort, count(*) FROM patients GROUP BY cohort").fetchall())
    assert by.get("current") == cohort.n_current(n)
    assert by.get("historical") == n - by["current"]
    assert demo_store.execute("SELECT count(*) FROM patients WHERE site IS NULL").fetchone()[0] == 0
    upcoming = demo_store.execute("SELECT meeting_id FROM board_meetings ORDER BY scheduled_at DESC LIMIT 1").fetchone()[0]
    cases = demo_store.execute("SELECT c.patient_id, p.cohort, c.question FROM board_cases c JOIN patients p USING "
                               "(patient_id) WHERE meeting_id = ? ORDER BY position", [upcoming]).fetchall()
    assert len(cases) == by["current"] and {c[1] for c in cases} == {"current"}
    assert all(c[2] for c in cases)


def test_truth_links_to_store_and_is_not_ingested(demo_store, demo_env):
    truth = Path(demo_env["TB_DEMO_DIR"]) / "truth"
    patients = pl.read_parquet(truth / "patients.parquet")
    assert patients["patient_id"].null_count() == 0
    assert demo_store.execute("SELECT count(*) FROM sources WHERE source_uri LIKE '%truth%'").fetchone()[0] == 0
    # the showcase patient's EGFR L858R came through the VCF with its annotation
    pid = patients.filter(pl.col("idx") == 0)["patient_id"][0]
    rows = demo_store.execute("SELECT protein_change, annotation_source, genome_build FROM variants "
                              "WHERE patient_id = ? AND hugo_symbol = 'EGFR'", [pid]).fetchall()
    assert ("p.L858R", "ANN", "GRCh38") in rows
    # the MRN is the identifier; the patient id is a pseudonym
    mrn = patients.filter(pl.col("idx") == 0)["mrn"][0]
    assert demo_store.execute("SELECT patient_id FROM patient_identifiers WHERE system = ? AND value = ?",
                              [MRN_SYSTEM, mrn]).fetchone()[0] == pid != mrn


def test_not_tested_differs_from_wild_type(demo_store, demo_env):
    truth = pl.read_parquet(Path(demo_env["TB_DEMO_DIR"]) / "truth" / "patients.parquet")
    hotspot = truth.filter(pl.col("panel") == "hotspot_50")
    if hotspot.height:
        pid = hotspot["patient_id"][0]
        genes = {r[0] for r in demo_store.execute("SELECT gene FROM tested_genes WHERE patient_id = ?", [pid]).fetchall()}
        assert "EGFR" in genes and "ESR1" not in genes


def test_build_refuses_an_existing_store_without_force(tmp_path, monkeypatch):
    store = tmp_path / "store"
    store.mkdir()
    (store / "CURRENT").write_text("evidence-x.duckdb")
    monkeypatch.setenv("TB_STORE_DIR", str(store))
    monkeypatch.setenv("TB_DEMO_DIR", str(tmp_path / "demo"))
    with pytest.raises(build.StoreExists):
        build.build_demo(5, 1, progress=False)
    assert not (tmp_path / "demo").exists()


def test_demo_dir_that_is_not_ours_is_left_alone(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(RuntimeError, match="not written by build-demo"):
        build.prepare_demo_dir(tmp_path)
    assert (tmp_path / "precious.txt").exists()


def test_lean_build_without_images_uses_the_same_ingest_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TB_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("TB_DEMO_DIR", str(tmp_path / "demo"))
    calls = []
    monkeypatch.setattr(build, "POST_BUILD_STEPS", [lambda con, args: calls.append((args.patients, args.lean))])
    report = build.build_demo(30, 5, images=False, lean=True, workers=1, progress=False)
    assert report.n_ingest_errors == 0, report.error_samples
    assert calls == [(30, True)]
    assert not (tmp_path / "demo" / "dicom").exists()
    assert sorted(p.name for p in (tmp_path / "demo" / "genomics").iterdir()) == ["cohort_b000.maf"]
    from core.store import db

    con = db.connect_readonly()
    try:
        assert con.execute("SELECT count(*) FROM patients").fetchone()[0] == 30
        assert con.execute("SELECT count(*) FROM notes").fetchone()[0] == 30
        assert con.execute("SELECT count(*) FROM imaging_studies").fetchone()[0] == 0
        n_seq = pl.read_parquet(tmp_path / "demo" / "truth" / "patients.parquet")["sequenced"].sum()
        assert con.execute("SELECT count(DISTINCT patient_id) FROM specimens").fetchone()[0] == n_seq
        assert con.execute("SELECT count(*) FROM variants").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM treatments").fetchone()[0] > 0
    finally:
        con.close()
