"""Shared set-up for the VCF / MAF / CIViC ingest tests: a migrated in-memory store and tiny manifests."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core.ingest import civic, maf, manifest, run, vcf
from core.ingest.base import MRN_SYSTEM
from core.store import schema

ROOT = Path(__file__).resolve().parents[2]
GENOMICS = ROOT.parent / "shared" / "fixtures" / "genomics"
SHARED_MANIFEST = ROOT / "data" / "manifests" / "shared_fixtures.csv"
MANIFEST_HEADER = "sample_id,specimen_id,patient_system,patient_identifier,specimen_type,collected_date,panel_name,genome_build\n"
INGESTERS = [manifest.INGESTER, civic.INGESTER, vcf.INGESTER, maf.INGESTER]

FORMAT_LINES = (
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
    '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
)


def new_store() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    schema.migrate(con)
    return con


def manifest_csv(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """rows: (sample_id, patient identifier, specimen_type, panel_name, genome_build)."""
    text = MANIFEST_HEADER + "".join(
        f"{s},{s}-SP,{MRN_SYSTEM},{mrn},{stype},2025-02-03,{panel},{build}\n" for s, mrn, stype, panel, build in rows)
    path.write_text(text)
    return path


def write_panel(panel_dir: Path, name: str, genes: list[str]) -> None:
    (panel_dir / f"{name}.txt").write_text("\n".join(genes) + "\n")


def patient_id(con: duckdb.DuckDBPyConnection, mrn: str) -> str:
    return con.execute("SELECT patient_id FROM patient_identifiers WHERE value = ?", [mrn]).fetchone()[0]


def variants(con: duckdb.DuckDBPyConnection, where: str = "TRUE", params: list | None = None) -> list[dict]:
    cur = con.execute(f"SELECT * FROM variants WHERE {where} ORDER BY sample_id, chrom, pos, alt", params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def errors(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(locator, severity, error_type, message) of every recorded ingest error."""
    return con.execute("SELECT locator, severity, error_type, message FROM ingest_errors ORDER BY locator").fetchall()


def ingest(con: duckdb.DuckDBPyConnection, *paths: Path) -> run.IngestSummary:
    return run.ingest_paths(con, list(paths))




@pytest.fixture
def con(monkeypatch):
    """A fresh store whose batch driver knows only the manifest, CIViC, VCF and MAF ingesters."""
    monkeypatch.setattr(run, "ingesters", lambda: sorted(INGESTERS, key=lambda i: i.priority))
    c = new_store()
    yield c
    c.close()
