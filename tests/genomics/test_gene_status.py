"""Not tested is not negative: altered / wild type / not tested from variants and panels."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core.genomics.status import GeneStatus, gene_status
from core.ingest import manifest, run, vcf
from core.ingest.base import MRN_SYSTEM
from core.store import schema

FMT = ('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
       '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n')


@pytest.fixture
def store(tmp_path: Path, monkeypatch) -> duckdb.DuckDBPyConnection:
    monkeypatch.setattr(run, "ingesters", lambda: [manifest.INGESTER, vcf.INGESTER])
    monkeypatch.setattr(manifest, "PANEL_DIR", tmp_path)
    (tmp_path / "lung5.txt").write_text("EGFR\nKRAS\nBRAF\nTP53\nSTK11\n")
    (tmp_path / "m.csv").write_text(
        "sample_id,specimen_id,patient_system,patient_identifier,specimen_type,collected_date,panel_name,genome_build\n"
        f"S-1,SP-1,{MRN_SYSTEM},MRN-GS-1,tumor,2025-01-10,lung5,GRCh38\n"
        f"S-2,SP-2,{MRN_SYSTEM},MRN-GS-2,tumor,2025-01-10,lung5,GRCh38\n")
    head = "##fileformat=VCFv4.2\n##reference=GRCh38\n" + FMT + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{s}\n"
    (tmp_path / "s1.vcf").write_text(head.format(s="S-1")
                                     + "12\t25245351\t.\tC\tA\t.\tPASS\t.\tGT:AD\t0/1:60,40\n")      # KRAS G12C
    (tmp_path / "s2.vcf").write_text(head.format(s="S-2")
                                     + "12\t25245351\t.\tC\tA\t.\tPASS\t.\tGT:AD\t0/1:60,40\n"
                                     + "3\t100000\t.\tG\tT\t.\tPASS\t.\tGT:AD\t0/1:60,40\n")        # unannotated
    con = duckdb.connect()
    schema.migrate(con)
    s = run.ingest_paths(con, [tmp_path / "m.csv", tmp_path / "s1.vcf", tmp_path / "s2.vcf"])
    assert s.failed == 0, [str(e) for e in s.errors]
    yield con
    con.close()


def _pid(con: duckdb.DuckDBPyConnection, mrn: str) -> str:
    return con.execute("SELECT patient_id FROM patient_identifiers WHERE value = ?", [mrn]).fetchall()[0][0]


def test_three_way_gene_status(store):
    p1 = _pid(store, "MRN-GS-1")
    assert gene_status(store, p1, "KRAS") == GeneStatus.ALTERED == "altered"
    assert gene_status(store, p1, "egfr") == GeneStatus.WILD_TYPE == "wild type"    # on the panel, no variant
    assert gene_status(store, p1, "ALK") == GeneStatus.NOT_TESTED == "not tested"   # never on the panel


def test_unannotated_call_blocks_wild_type(store):
    p2 = _pid(store, "MRN-GS-2")
    assert gene_status(store, p2, "KRAS") == "altered"
    # a call nobody annotated might sit in EGFR: it cannot be called wild type
    assert gene_status(store, p2, "EGFR") == "not tested"


def test_silent_and_filtered_calls_are_not_alterations(store):
    p1 = _pid(store, "MRN-GS-1")
    store.execute("UPDATE variants SET variant_classification = 'Silent' WHERE patient_id = ?", [p1]).fetchall()
    assert gene_status(store, p1, "KRAS") == "wild type"
    store.execute("UPDATE variants SET variant_classification = 'Missense_Mutation', filter = 'LowQual' "
                  "WHERE patient_id = ?", [p1]).fetchall()
    assert gene_status(store, p1, "KRAS") == "wild type"
    assert gene_status(store, "PT-NOBODY", "KRAS") == "not tested"
