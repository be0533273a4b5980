"""CIViC TSV: recognised in a batch of ../shared/fixtures and loaded with its OncoKB-style levels."""
from __future__ import annotations

from genomics_helpers import GENOMICS, con, errors, ingest  # noqa: F401

from core.ingest import civic, maf, vcf


def test_civic_tsv_is_detected_only_by_the_civic_ingester():
    path = GENOMICS / "civic_biomarkers_2016.tsv"
    head = path.read_bytes()[:8192]
    assert civic.INGESTER.detect(path, head)
    assert not maf.INGESTER.detect(path, head) and not vcf.INGESTER.detect(path, head)


def test_civic_evidence_loads_with_levels(con):
    s = ingest(con, GENOMICS / "civic_biomarkers_2016.tsv")
    assert s.failed == 0
    assert con.execute("SELECT count(*) FROM civic_evidence").fetchall()[0][0] == 1325
    (dup,) = errors(con)                       # the export repeats one id: kept once, said once
    assert dup[1] == "warning" and "CIVIC_1215" in dup[3]
    lv = dict(con.execute("SELECT civic_id, oncokb_level || '/' || coalesce(oncokb_level_other_indication, '-') "
                          "FROM civic_evidence WHERE oncokb_level IS NOT NULL").fetchall())
    assert lv["CIVIC_80"] == "1/3B"        # BRAF V600E, A, Sensitivity, skin melanoma
    assert lv["CIVIC_247"] == "3A/3B"      # EGFR L858R, B, Sensitivity, NSCLC
    assert lv["CIVIC_72"] == "R1/R2"       # BRAF V600E, B, Resistance (cetuximab), colorectal
    assert lv["CIVIC_1"] == "R2/R2"        # ALK F1245C, C, Resistance
    assert "CIVIC_64" not in lv            # "Does Not Support" never sets a level
