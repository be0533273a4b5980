"""The CLI ingests every shared fixture; a broken file is reported while everything else lands."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pydicom.data

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures"


def _cli(args: list[str], store: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TB_STORE_DIR": str(store)}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def _con(store: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(store / (store / "CURRENT").read_text().strip()), read_only=True)


def test_every_fixture_ingests_and_rerun_adds_nothing(tmp_path):
    store = tmp_path / "store"
    r = _cli(["ingest", str(FIXTURES), "--strict"], store)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "failed 0" in r.stdout
    con = _con(store)
    assert con.execute("SELECT count(*) FROM ingest_errors WHERE severity = 'error'").fetchone()[0] == 0
    kinds = dict(con.execute("SELECT kind, count(*) FROM sources GROUP BY kind").fetchall())
    assert {"fhir", "vcf", "maf", "note", "ctml", "civic", "manifest"} <= set(kinds)
    # concrete facts: the mCODE patient is ER+ / HER2- with ESR1 and PIK3CA variants
    pid = con.execute("SELECT patient_id FROM variants WHERE hugo_symbol = 'ESR1'").fetchone()[0]
    bm = dict(con.execute("SELECT name, status FROM biomarkers WHERE patient_id = ?", [pid]).fetchall())
    assert bm.get("ER") == "positive" and bm.get("HER2") == "negative"
    genes = {r[0] for r in con.execute("SELECT hugo_symbol FROM variants WHERE patient_id = ?", [pid]).fetchall()}
    assert {"ESR1", "PIK3CA"} <= genes
    n_rows = con.execute("SELECT count(*) FROM variants").fetchone()[0]
    con.close()
    r2 = _cli(["ingest", str(FIXTURES)], store)
    assert r2.returncode == 0 and "ingested 0 files" in r2.stdout
    con = _con(store)
    assert con.execute("SELECT count(*) FROM variants").fetchone()[0] == n_rows
    con.close()


def test_broken_file_is_reported_and_the_rest_lands(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    ct = Path(pydicom.data.get_testdata_file("CT_small.dcm"))
    shutil.copy(ct, drop / "ok.dcm")
    (drop / "truncated.dcm").write_bytes(ct.read_bytes()[:-3000])
    shutil.copy(FIXTURES / "genomics" / "test_b38_output.maf", drop / "ok.maf")
    store = tmp_path / "store"
    r = _cli(["ingest", str(drop), "--strict"], store)
    assert r.returncode == 1
    assert "truncated.dcm" in r.stdout and "failed 1" in r.stdout
    con = _con(store)
    assert con.execute("SELECT count(*) FROM imaging_instances").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM variants").fetchone()[0] > 0
    err = con.execute("SELECT source_uri, locator, message FROM ingest_errors WHERE severity = 'error'").fetchall()
    assert len(err) == 1 and err[0][0].endswith("truncated.dcm") and "PixelData" in err[0][1]
    con.close()
