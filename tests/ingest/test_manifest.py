from pathlib import Path

import duckdb
import pytest

from core.ingest import manifest, run
from core.ingest.base import MRN_SYSTEM
from core.store import schema


@pytest.fixture
def con(monkeypatch):
    monkeypatch.setattr(run, "ingesters", lambda: [manifest.INGESTER])
    c = duckdb.connect()
    schema.migrate(c)
    yield c
    c.close()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


HEADER = "sample_id,specimen_id,patient_system,patient_identifier,specimen_type,collected_date,panel_name,genome_build\n"


def test_specimen_manifest_links_samples_and_tested_genes(con, tmp_path, monkeypatch):
    monkeypatch.setattr(manifest, "PANEL_DIR", tmp_path)
    write(tmp_path / "lung-hotspot-8.txt", "# demo panel\nEGFR\nKRAS\nALK  # fusion by RNA\nBRAF\nMET\nRET\nROS1\nERBB2\n")
    name = "lung-hotspot-8"
    genes = manifest.panel_genes(name)
    assert genes == sorted(["EGFR", "KRAS", "ALK", "BRAF", "MET", "RET", "ROS1", "ERBB2"])
    f = write(tmp_path / "m.csv", HEADER + f"S1,SP1,{MRN_SYSTEM},MRN-1,tumor,03/04/2025,{name},GRCh38\n"
                                          f"S2,SP2,{MRN_SYSTEM},MRN-1,tumor,not a date,{name},GRCh38\n"
                                          f"S3,SP3,{MRN_SYSTEM},MRN-2,tumor,2025-01-01,no-such-panel,GRCh38\n")
    s = run.ingest_paths(con, [f])
    assert s.failed == 1  # the file had bad rows...
    assert con.execute("SELECT count(*) FROM specimens").fetchone()[0] == 1  # ...and the good row still landed
    n_genes = con.execute("SELECT count(*) FROM tested_genes WHERE specimen_id = 'SP1'").fetchone()[0]
    assert n_genes == len(genes)
    errs = con.execute("SELECT locator, message FROM ingest_errors ORDER BY locator").fetchall()
    assert [e[0] for e in errs] == ["line 3, collected_date", "line 4, panel_name"]
    assert "no-such-panel" in errs[1][1]
    # provenance contract on the specimen row
    row = con.execute("SELECT source_sha256, locator, extractor, observed_at FROM specimens").fetchone()
    assert len(row[0]) == 64 and row[1] == "line 2" and row[2] == "core.ingest.manifest"
    assert str(row[3]).startswith("2025-03-04")


def test_reingest_is_idempotent_and_patient_ids_are_pseudonyms(con, tmp_path):
    f = write(tmp_path / "d.csv", "file_name,file_sha256,patient_system,patient_identifier,note_type,note_date\n"
                                  f"a.txt,,{MRN_SYSTEM},MRN-77,Progress,2025-01-02\n")
    s1 = run.ingest_paths(con, [f])
    s2 = run.ingest_paths(con, [f])
    assert (s1.ingested, s2.skipped) == (1, 1)
    assert con.execute("SELECT count(*) FROM document_links").fetchone()[0] == 1
    pid = con.execute("SELECT patient_id FROM patients").fetchone()[0]
    assert pid.startswith("PT") and len(pid) == 12 and "MRN-77" not in pid
    assert con.execute("SELECT value FROM patient_identifiers WHERE patient_id = ?", [pid]).fetchone()[0] == "MRN-77"


def test_missing_columns_is_a_clear_error(con, tmp_path):
    f = write(tmp_path / "bad.csv", "sample_id,patient_identifier\nS1,MRN\n")
    s = run.ingest_paths(con, [f])
    assert s.failed == 1
    msg = con.execute("SELECT message FROM ingest_errors").fetchone()[0]
    assert "lacks columns" in msg and "panel_name" in msg
