"""MAF ingest: the vcf2maf fixture, bad rows, unknown barcodes, and VCF+MAF of one specimen."""
from __future__ import annotations

from genomics_helpers import GENOMICS, SHARED_MANIFEST, con, errors, ingest, patient_id, variants  # noqa: F401

from core.genomics.variants import distinct_variants
from core.ingest import maf


def test_vcf2maf_output_lands_with_its_annotation(con):
    s = ingest(con, SHARED_MANIFEST, GENOMICS / "test_b38_output.maf")
    assert s.failed == 0, [str(e) for e in s.errors]
    rows = variants(con)
    assert len(rows) == 25 and {r["sample_id"] for r in rows} == {"TUMOR"}
    first = rows[0]
    assert (first["hugo_symbol"], first["protein_change"], first["hgvsp"], first["hgvsc"]) == (
        "RUNX1", "p.L429R", "p.Leu429Arg", "c.1286T>G")
    assert (first["exon"], first["depth"], first["alt_count"], first["locator"]) == (9, 54, 21, "line 3")
    assert first["genome_build"] == "GRCh38" and first["build_source"] == "maf NCBI_Build"
    by_pos = {r["pos"]: r for r in rows}
    assert by_pos[34880555]["variant_classification"] == "Splice_Site"
    assert by_pos[34880555]["protein_change"] == "p.X168_splice"
    assert (by_pos[41479183]["ref"], by_pos[41479183]["alt"]) == ("T", "-")
    assert by_pos[44237111]["protein_change"] == "p.W54*"
    assert by_pos[43419117]["vaf"] == round(45 / 113, 4)      # t_ref_count '.': VAF from t_depth
    assert {r["annotation_source"] for r in rows} == {"MAF"}


def test_vcf_and_maf_of_one_specimen_are_one_call_each(con):
    ingest(con, SHARED_MANIFEST, GENOMICS / "test_b38.vcf", GENOMICS / "test_b38_output.maf")
    assert len(variants(con)) == 50                                   # one evidence row per source...
    d = distinct_variants(con, patient_id(con, "FIXTURE-VCF2MAF-1"))
    assert d.height == 25 and set(d["n_sources"].to_list()) == {2}    # ...one call per position
    assert d["hugo_symbol"].null_count() == 0                          # the annotated (MAF) row is the one kept


def test_bad_rows_and_unknown_barcodes_are_errors(con, tmp_path):
    lines = (GENOMICS / "test_b38_output.maf").read_text().splitlines()
    lines[4] = lines[4].replace("\t34880549\t", "\tnot-a-position\t", 1)           # line 5
    lines[6] = lines[6].replace("\tTUMOR\t", "\tSAMPLE-X\t", 1)                    # line 7
    lines[7] = "\t".join(lines[7].split("\t")[:10])                                  # line 8
    f = tmp_path / "bad.maf"
    f.write_text("\n".join(lines) + "\n")
    assert maf.INGESTER.detect(f, f.read_bytes()[:8192])
    s = ingest(con, SHARED_MANIFEST, f)
    assert s.failed == 1
    errs = {e[0]: e for e in errors(con) if e[1] == "error"}
    assert set(errs) == {"line 5", "line 7", "line 8"}
    assert "Start_Position" in errs["line 5"][3]
    assert errs["line 7"][2] == "UnknownSample" and "SAMPLE-X" in errs["line 7"][3]
    assert len(variants(con)) == 22
