"""VCF ingest: the vcf2maf and SnpEff fixtures, ANN / CSQ examples, bad lines, unknown samples, hotspots, CNV/SV."""
from __future__ import annotations

import csv

from genomics_helpers import (FORMAT_LINES, GENOMICS, SHARED_MANIFEST, con, errors, ingest, manifest_csv,  # noqa: F401
                              patient_id, variants, write_panel)

from core.ingest import manifest, vcf


def _maf_rows() -> list[dict[str, str]]:
    with open(GENOMICS / "test_b38_output.maf") as fh:
        return list(csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t"))


def test_vcf2maf_fixture_agrees_with_its_expected_maf(con):
    s = ingest(con, SHARED_MANIFEST, GENOMICS / "test_b38.vcf")
    assert s.failed == 0, [str(e) for e in s.errors]
    got = variants(con, "sample_id = 'TUMOR'")
    expected = _maf_rows()
    assert len(got) == len(expected) == 25
    for v, m in zip(got, sorted(expected, key=lambda r: int(r["Start_Position"]))):
        # indels normalised the vcf2maf way: no anchor base, '-' for the empty allele, insertions at the base before
        assert (v["chrom"], v["pos"], v["ref"], v["alt"]) == (
            m["Chromosome"], int(m["Start_Position"]), m["Reference_Allele"], m["Tumor_Seq_Allele2"])
        assert v["depth"] == int(m["t_depth"]) and v["alt_count"] == int(m["t_alt_count"])
        assert v["variant_type"] == m["Variant_Type"]
    first = got[0]
    assert first["locator"] == "line 7" and abs(first["vaf"] - 21 / 54) < 1e-3  # AD '.,21' with DP 54
    assert first["genome_build"] == "GRCh38" and first["build_source"] == "vcf header (##contig length)"
    assert first["origin"] == "somatic"                      # a matched NORMAL column is present...
    assert not variants(con, "sample_id = 'NORMAL'")        # ...and never becomes a patient's variant
    assert first["hugo_symbol"] is None and first["annotation_source"] == "none"  # unannotated, not a hotspot
    assert first["patient_id"] == patient_id(con, "FIXTURE-VCF2MAF-1")


def test_snpeff_eff_annotations_parse(con):
    s = ingest(con, SHARED_MANIFEST, GENOMICS / "test.snpeff.vcf")
    assert s.failed == 0, [str(e) for e in s.errors]
    rows = variants(con)
    by = {(r["sample_id"], r["pos"]): r for r in rows}
    # only non-reference genotypes: 69511 is 0/1 in 1094PC0012 and 1094PC0013, ./. in the others
    assert {k[0] for k in by if k[1] == 69511} == {"1094PC0012", "1094PC0013"}
    mis = by[("1094PC0012", 69511)]
    assert (mis["hugo_symbol"], mis["variant_classification"], mis["protein_change"]) == (
        "OR4F5", "Missense_Mutation", "p.T141A")
    assert mis["annotation_source"] == "EFF" and (mis["depth"], mis["alt_count"]) == (6, 4)
    syn = by[("1094PC0013", 69270)]
    assert (syn["variant_classification"], syn["protein_change"]) == ("Silent", "p.S60=")
    # CCT>C at 30867 -> MAF-style 30868 CT>-; protein-coding FAM138A (downstream) beats a miRNA exon hit
    dele = by[("1094PC0012", 30868)]
    assert (dele["ref"], dele["alt"], dele["variant_type"]) == ("CT", "-", "DEL")
    assert (dele["hugo_symbol"], dele["variant_classification"]) == ("FAM138A", "3'Flank")
    assert by[("1094PC0009", 69761)]["protein_change"] == "p.D224V"
    assert {r["genome_build"] for r in rows} == {"GRCh37"}
    assert {r["build_source"] for r in rows} == {"vcf header (##reference)"}
    assert by[("1094PC0012", 69511)]["locator"] == "line 129"


ANN_HEADER = ('##fileformat=VCFv4.2\n##reference=GRCh38\n'
              '##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: \'Allele | Annotation | '
              'Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | '
              'HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length | Distance | ERRORS / WARNINGS / INFO\'">\n'
              + FORMAT_LINES + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT-ANN-1\n")


def _ann(*entries: str) -> str:
    return "ANN=" + ",".join(entries)


def test_ann_picks_most_severe_consequence_and_sets_actionability(con, tmp_path):
    braf = _ann("T|upstream_gene_variant|MODIFIER|AC006344.1|ENSG1|transcript|ENST01|lincRNA||n.-100A>T||||||",
                "T|missense_variant|MODERATE|BRAF|ENSG00000157764|transcript|ENST00000646891.2|protein_coding|15/18|"
                "c.1799T>A|p.Val600Glu|1919/2528|1799/2301|600/766||",
                "T|intron_variant|MODIFIER|BRAF|ENSG00000157764|transcript|ENST00000479537.6|protein_coding|5/5|"
                "c.500-10T>A||||||")
    kras = _ann("T|missense_variant|MODERATE|KRAS|ENSG00000133703|transcript|ENST00000256078.10|protein_coding|2/6|"
                "c.35G>A|p.Gly12Asp||||",
                "A|missense_variant|MODERATE|KRAS|ENSG00000133703|transcript|ENST00000256078.10|protein_coding|2/6|"
                "c.35G>T|p.Gly12Val||||")
    met = _ann("T|splice_donor_variant&intron_variant|HIGH|MET|ENSG00000105976|transcript|ENST00000397752.8|"
               "protein_coding|14/20|c.3028+1G>T||||||")
    body = (f"chr7\t140753336\t.\tA\tT\t.\tPASS\t{braf}\tGT:AD:DP:AF\t0/1:60,40:100:0.41\n"
            f"chr12\t25245350\t.\tC\tT,A\t.\tPASS\t{kras}\tGT:AD:DP\t0/2:50,0,30:80\n"
            f"chr7\t116771990\t.\tG\tT\t.\tPASS\t{met}\tGT:AD:DP\t0/1:70,30:100\n")
    f = tmp_path / "ann.vcf"
    f.write_text(ANN_HEADER + body)
    m = manifest_csv(tmp_path / "m.csv", [("T-ANN-1", "MRN-ANN", "tumor", "fixture_chr21", "GRCh38")])
    ingest(con, m)
    con.execute("UPDATE patients SET oncotree_code = 'LUAD'").fetchall()  # the tumour type the diagnosis would give
    s = ingest(con, f)
    assert s.failed == 0, [str(e) for e in s.errors]
    rows = {r["hugo_symbol"]: r for r in variants(con)}
    b = rows["BRAF"]
    assert (b["protein_change"], b["hgvsp"], b["hgvsc"], b["exon"]) == ("p.V600E", "p.Val600Glu", "c.1799T>A", 15)
    assert b["variant_classification"] == "Missense_Mutation" and b["vaf"] == 0.41  # AF wins over AD
    assert b["actionability_level"] == "1" and "SOC-07" in b["actionability_note"]
    k = rows["KRAS"]  # multi-allelic: GT 0/2 carries only the second ALT
    assert (k["alt"], k["protein_change"], k["vaf"]) == ("A", "p.G12V", 0.375)
    mt = rows["MET"]
    assert (mt["variant_classification"], mt["exon"], mt["protein_change"]) == ("Splice_Site", 14, "p.X1010_splice")
    assert mt["actionability_level"] == "1"   # MET exon 14 skipping in NSCLC
    assert {r["annotation_source"] for r in rows.values()} == {"ANN"}


CSQ_FIELDS = "Consequence|Allele|SYMBOL|Feature|BIOTYPE|HGVSp|HGVSc|EXON|INTRON|CANONICAL|IMPACT"
CSQ_HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr7,length=159345973>\n"
              '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
              f'Format: {CSQ_FIELDS}">\n' + FORMAT_LINES
              + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL-1\tT-CSQ-1\n")


def test_csq_uses_the_header_field_order_and_the_canonical_transcript(con, tmp_path):
    l858r = ("CSQ=missense_variant|G|EGFR|ENST00000455089.5|protein_coding|ENSP1.1:p.Leu813Arg|ENST00000455089.5:c.2438T>G|20/26|||MODERATE,"
             "missense_variant|G|EGFR|ENST00000275493.7|protein_coding|ENSP00000275493.2:p.Leu858Arg|"
             "ENST00000275493.7:c.2573T>G|21/28||YES|MODERATE,"
             "upstream_gene_variant|G|EGFR-AS1|ENST00000442411|lncRNA||||||MODIFIER")
    ex19 = ("CSQ=inframe_deletion|-|EGFR|ENST00000275493.7|protein_coding|ENSP00000275493.2:p.Glu746_Ala750del|"
            "ENST00000275493.7:c.2235_2249del|19/28||YES|MODERATE")
    multi = ("CSQ=missense_variant|T|EGFR|ENST00000275493.7|protein_coding|ENSP00000275493.2:p.Thr790Met|"
             "ENST00000275493.7:c.2369C>T|20/28||YES|MODERATE,"
             "synonymous_variant|G|EGFR|ENST00000275493.7|protein_coding|ENSP00000275493.2:p.Thr790%3D|"
             "ENST00000275493.7:c.2369C>G|20/28||YES|LOW")
    body = (f"chr7\t55191822\t.\tT\tG\t.\tPASS\t{l858r}\tGT:AD:DP\t0/0:80,0:80\t0/1:60,40:100\n"
            f"chr7\t55174771\t.\tAGGAATTAAGAGAAGC\tA\t.\tPASS\t{ex19}\tGT:AD:DP\t0/0:90,0:90\t0/1:75,25:100\n"
            f"chr7\t55181378\t.\tC\tT,G\t.\tPASS\t{multi}\tGT:AD:DP\t0/0:50,0,0:50\t1/2:40,10,30:80\n")
    f = tmp_path / "csq.vcf"
    f.write_text(CSQ_HEADER + body)
    m = manifest_csv(tmp_path / "m.csv", [("T-CSQ-1", "MRN-CSQ", "tumor", "fixture_chr21", "")])
    s = ingest(con, m, f)
    assert s.failed == 0, [str(e) for e in s.errors]
    rows = variants(con)
    assert len(rows) == 4 and {r["sample_id"] for r in rows} == {"T-CSQ-1"}
    by = {(r["pos"], r["alt"]): r for r in rows}
    l = by[(55191822, "G")]
    assert (l["protein_change"], l["exon"], l["hgvsc"]) == ("p.L858R", 21, "c.2573T>G")  # canonical, not L813R
    d = by[(55174772, "-")]
    assert (d["ref"], d["protein_change"], d["variant_classification"], d["exon"]) == (
        "GGAATTAAGAGAAGC", "p.E746_A750del", "In_Frame_Del", 19)
    assert by[(55181378, "T")]["protein_change"] == "p.T790M"        # CSQ Allele matched per ALT
    assert by[(55181378, "G")]["protein_change"] == "p.T790="
    assert by[(55181378, "G")]["variant_classification"] == "Silent"
    assert {r["build_source"] for r in rows} == {"vcf header (##contig length)"}
    assert {r["annotation_source"] for r in rows} == {"CSQ"}
    assert l["actionability_level"] == "3B" and l["actionability_note"].startswith("tumour type not on file")


def test_malformed_lines_are_errors_and_the_rest_lands(con, tmp_path):
    lines = (GENOMICS / "test_b38.vcf").read_text().splitlines()
    lines[8] = lines[8].replace("34880549", "NOTAPOS")          # line 9
    lines[11] = "\t".join(lines[11].split("\t")[:6])             # line 12: truncated
    lines[13] = lines[13].replace(":1140\t", ":x\t")            # line 14: DP not an integer
    f = tmp_path / "corrupt.vcf"
    f.write_text("\n".join(lines) + "\n")
    s = ingest(con, SHARED_MANIFEST, f)
    assert s.failed == 1
    errs = [e for e in errors(con) if e[1] == "error"]
    assert [e[0] for e in errs] == ["line 12", "line 14", "line 9"]
    assert all(e[2] == "MalformedVcfLine" for e in errs)
    assert "POS" in dict((e[0], e[3]) for e in errs)["line 9"]
    assert len(variants(con)) == 22                         # every other record still landed
    assert {r["locator"] for r in variants(con)} >= {"line 10", "line 31"}


def test_lines_htslib_rejects_are_caught_even_without_prevalidation(con, tmp_path, monkeypatch):
    lines = (GENOMICS / "test_b38.vcf").read_text().splitlines()
    assert ":1140\t" in lines[13]
    lines[13] = lines[13].replace(":1140\t", ":x\t")            # line 14
    f = tmp_path / "corrupt2.vcf"
    f.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(vcf, "check_line", lambda line, header: None)
    ingest(con, SHARED_MANIFEST, f)
    assert [e[0] for e in errors(con) if e[1] == "error"] == ["line 14"]
    assert len(variants(con)) == 24


def test_unknown_sample_is_an_error_naming_it(con, tmp_path):
    text = (GENOMICS / "test_b38.vcf").read_text().replace("\tTUMOR\tNORMAL", "\tS-NOT-IN-MANIFEST\tNORMAL")
    f = tmp_path / "unknown.vcf"
    f.write_text(text)
    s = ingest(con, SHARED_MANIFEST, f)
    assert s.failed == 1 and not variants(con)
    (err,) = [e for e in errors(con) if e[1] == "error"]
    assert err[0] == "line 6, sample column 1" and err[2] == "UnknownSample"
    assert "S-NOT-IN-MANIFEST" in err[3] and "manifest" in err[3]


HOTSPOT_HEADER = "##fileformat=VCFv4.2\n{build}" + FORMAT_LINES + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n"


def test_hotspot_lookup_for_unannotated_calls_in_both_builds(con, tmp_path):
    b37 = HOTSPOT_HEADER.format(build="##reference=file:///refs/human_g1k_v37.fasta\n", sample="T-37") + (
        "7\t140453136\t.\tA\tT\t.\tPASS\t.\tGT:AD:DP\t0/1:50,50:100\n"
        "7\t55242464\t.\tAGGAATTAAGAGAAGC\tA\t.\tPASS\t.\tGT:AD:DP\t0/1:70,30:100\n"
        "7\t140453140\t.\tG\tC\t.\tPASS\t.\tGT:AD:DP\t0/1:90,10:100\n")
    b38 = HOTSPOT_HEADER.format(build="", sample="T-38") + (   # no build in the header: the manifest says GRCh38
        "chr12\t25245351\t.\tC\tA\t.\tPASS\t.\tGT:AD:DP\t0/1:60,40:100\n"
        "chr17\t39724728\t.\tA\tAGCATACGTGATG\t.\tPASS\t.\tGT:AD:DP\t0/1:80,20:100\n"
        "chr7\t140453136\t.\tA\tT\t.\tPASS\t.\tGT:AD:DP\t0/1:50,50:100\n")   # a GRCh37 position: no GRCh38 hotspot
    (tmp_path / "b37.vcf").write_text(b37)
    (tmp_path / "b38.vcf").write_text(b38)
    m = manifest_csv(tmp_path / "m.csv", [("T-37", "MRN-37", "tumor", "fixture_chr21", "GRCh37"),
                                          ("T-38", "MRN-38", "tumor", "fixture_chr21", "GRCh38")])
    s = ingest(con, m, tmp_path / "b37.vcf", tmp_path / "b38.vcf")
    assert s.failed == 0, [str(e) for e in s.errors]
    r37 = {r["pos"]: r for r in variants(con, "sample_id = 'T-37'")}
    assert (r37[140453136]["hugo_symbol"], r37[140453136]["protein_change"]) == ("BRAF", "p.V600E")
    assert r37[140453136]["annotation_source"] == "hotspot" and r37[140453136]["genome_build"] == "GRCh37"
    assert r37[140453136]["build_source"] == "vcf header (##reference)"
    assert (r37[55242465]["protein_change"], r37[55242465]["exon"]) == ("p.E746_A750del", 19)
    assert r37[140453140]["hugo_symbol"] is None and r37[140453140]["annotation_source"] == "none"
    r38 = {r["pos"]: r for r in variants(con, "sample_id = 'T-38'")}
    assert r38[25245351]["protein_change"] == "p.G12C" and r38[25245351]["build_source"] == "specimen manifest"
    assert (r38[39724728]["hugo_symbol"], r38[39724728]["variant_classification"]) == ("ERBB2", "In_Frame_Ins")
    assert r38[140453136]["annotation_source"] == "none"


SV_HEADER = ("##fileformat=VCFv4.2\n##reference=GRCh38\n##tmb=14.2\n##msi_status=MSI-H\n##msi_score=0.41\n"
             '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="SV type">\n'
             '##INFO=<ID=CN,Number=1,Type=Float,Description="Copy number">\n'
             '##INFO=<ID=GENE,Number=.,Type=String,Description="Genes">\n'
             '##INFO=<ID=SV_PARTNER,Number=1,Type=String,Description="Fusion partner gene">\n'
             '##INFO=<ID=END,Number=1,Type=Integer,Description="End">\n'
             '##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: \'Allele | Annotation | '
             'Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | '
             'HGVS.c | HGVS.p\'">\n'
             + FORMAT_LINES + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT-SV-1\n")


def test_cnv_sv_records_and_tmb_msi_header_lines(con, tmp_path):
    body = ("chr17\t39687914\tcnv1\tN\t<AMP>\t.\tPASS\tSVTYPE=AMP;END=39730426;CN=12;GENE=ERBB2,GRB7\tGT\t./.\n"
            "chr9\t21967752\tcnv2\tN\t<DEL>\t.\tPASS\tSVTYPE=DEL;END=21995301;CN=0;GENE=CDKN2A\tGT\t./.\n"
            "chr2\t29223528\tbnd1\tA\tA]chr2:42301394]\t.\tPASS\tSVTYPE=BND;GENE=EML4;SV_PARTNER=ALK\tGT\t0/1\n"
            "chr1\t1000000\tcnv3\tN\t<CNV>\t.\tPASS\tSVTYPE=CNV;END=1100000;CN=2;GENE=AGRN\tGT\t./.\n"
            "chr10\t61665880\tbnd2\tT\tT[chr10:43116584[\t.\tPASS\tSVTYPE=BND;ANN=T[chr10:43116584[|gene_fusion|HIGH|"
            "CCDC6&RET|ENSG00000108091&ENSG00000165731|gene_variant|ENSG00000108091|protein_coding||||\tGT\t0/1\n")
    f = tmp_path / "sv.vcf"
    f.write_text(SV_HEADER + body)
    m = manifest_csv(tmp_path / "m.csv", [("T-SV-1", "MRN-SV", "tumor", "fixture_chr21", "GRCh38")])
    ingest(con, m)
    con.execute("UPDATE patients SET oncotree_code = 'LUAD'").fetchall()
    s = ingest(con, f)
    assert s.failed == 0, [str(e) for e in s.errors]
    rows = {r["hugo_symbol"]: r for r in variants(con)}
    assert set(rows) == {"ERBB2", "GRB7", "CDKN2A", "ALK", "RET"}  # copy-neutral AGRN segment is not an alteration
    assert (rows["ERBB2"]["variant_category"], rows["ERBB2"]["cnv_call"]) == ("CNV", "Amplification")
    assert rows["CDKN2A"]["cnv_call"] == "Homozygous deletion"
    alk = rows["ALK"]   # the kinase is reported as the gene, the 5' partner as sv_partner
    assert (alk["variant_category"], alk["sv_partner"], alk["variant_type"]) == ("SV", "EML4", "BND")
    assert alk["actionability_level"] == "1"
    ret = rows["RET"]   # partner from SnpEff's gene_fusion annotation (Gene_Name 'CCDC6&RET')
    assert (ret["variant_category"], ret["sv_partner"], ret["variant_classification"]) == ("SV", "CCDC6", "Fusion")
    assert ret["annotation_source"] == "ANN" and ret["actionability_level"] == "1"
    bm = {r[0]: r[1:] for r in con.execute(
        "SELECT name, value_num, value_text, status, method, locator FROM biomarkers").fetchall()}
    assert bm["TMB"][:1] == (14.2,) and bm["TMB"][2:4] == ("high", "NGS") and bm["TMB"][4] == "line 3"
    assert bm["MSI"][1:3] == ("MSI-H", "positive") and bm["MSI score"][0] == 0.41


def test_multisample_vcf_skips_normals_named_in_the_manifest(con, tmp_path, monkeypatch):
    monkeypatch.setattr(manifest, "PANEL_DIR", tmp_path)
    write_panel(tmp_path, "p1", ["KRAS"])
    header = HOTSPOT_HEADER.format(build="##reference=GRCh38\n", sample="T-A\tGERM-A\tT-B")
    body = ("chr12\t25245351\t.\tC\tA\t.\tPASS\t.\tGT:AD:DP\t0/1:60,40:100\t0/1:50,50:100\t0/0:100,0:100\n"
            "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP\t0/0:100,0:100\t0/0:100,0:100\t0/1:70,30:100\n")
    f = tmp_path / "multi.vcf"
    f.write_text(header + body)
    m = manifest_csv(tmp_path / "m.csv", [("T-A", "MRN-A", "tumor", "p1", "GRCh38"),
                                          ("GERM-A", "MRN-A", "blood normal", "p1", "GRCh38"),
                                          ("T-B", "MRN-B", "metastasis biopsy", "p1", "GRCh38")])
    s = ingest(con, m, f)
    assert s.failed == 0, [str(e) for e in s.errors]
    got = sorted((r["sample_id"], r["protein_change"]) for r in variants(con))
    assert got == [("T-A", "p.G12C"), ("T-B", "p.G12D")]
