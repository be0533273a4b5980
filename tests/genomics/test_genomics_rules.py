"""Pure genomics rules: MAF allele normalisation, HGVS short form, builds, annotation parsers, hotspot table."""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from core.genomics import hotspots
from core.genomics.alleles import vcf_to_maf, vep_allele
from core.genomics.annotations import choose, csq_fields, parse_ann, parse_csq, parse_eff
from core.genomics.builds import build_from_vcf_header, normalise_build, normalise_chrom
from core.genomics.consequences import maf_classification
from core.genomics.hgvs import short_protein, splice_protein
from core.genomics.structural import classify

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("vcf, maf", [
    ((140753336, "A", "T"), (140753336, 140753336, "A", "T", "SNP")),
    ((34880555, "A", "ACCTCTT"), (34880555, 34880556, "-", "CCTCTT", "INS")),
    ((41479182, "GT", "G"), (41479183, 41479183, "T", "-", "DEL")),
    ((55174771, "AGGAATTAAGAGAAGC", "A"), (55174772, 55174786, "GGAATTAAGAGAAGC", "-", "DEL")),
    ((100, "AC", "GT"), (100, 101, "AC", "GT", "DNP")),
    ((100, "ATG", "AC"), (101, 102, "TG", "C", "DEL")),
])
def test_vcf_to_maf(vcf, maf):
    m = vcf_to_maf(*vcf)
    assert (m.start, m.end, m.ref, m.alt, m.variant_type) == maf


def test_vep_allele_strips_a_shared_anchor_only():
    assert vep_allele("AGG", "A", ["A"]) == "-"
    assert vep_allele("A", "AT", ["AT"]) == "T"
    assert vep_allele("C", "T", ["T", "A"]) == "T"
    assert vep_allele("A", "AT", ["AT", "C"]) == "AT"


@pytest.mark.parametrize("text, short", [
    ("p.Val600Glu", "p.V600E"), ("ENSP00000275493.2:p.Leu858Arg", "p.L858R"), ("p.Ser406%3D", "p.S406="),
    ("p.Asn139GlnfsTer5", "p.N139Qfs*5"), ("p.Trp54Ter", "p.W54*"), ("p.(Gly12Cys)", "p.G12C"),
    ("p.Glu746_Ala750del", "p.E746_A750del"), ("T141A", "p.T141A"), (None, None),
])
def test_short_protein(text, short):
    assert short_protein(text) == short


def test_splice_protein_matches_vcf2maf():
    assert splice_protein("c.3028+1G>T") == "p.X1010_splice"
    assert splice_protein("c.503-2A>G") == "p.X168_splice"
    assert splice_protein("c.-30+1G>A") is None


@pytest.mark.parametrize("text, build", [
    ("GRCh37", "GRCh37"), ("hg19", "GRCh37"), ("b37", "GRCh37"), ("37", "GRCh37"), ("GRCh38.p14", "GRCh38"),
    ("hg38", "GRCh38"), ("file:///ref/Homo_sapiens_assembly38.fasta", "GRCh38"), ("mm10", None), ("", None),
])
def test_normalise_build(text, build):
    assert normalise_build(text) == build


def test_build_from_header_prefers_reference_then_contig_length():
    assert build_from_vcf_header(["##reference=file:///g/hg19.fa", "##contig=<ID=21,length=46709983>"]) == (
        "GRCh37", "##reference")
    assert build_from_vcf_header(["##contig=<ID=chr1,length=248956422>"]) == ("GRCh38", "##contig length")
    assert build_from_vcf_header(["##source=caller"]) == (None, None)
    assert normalise_chrom("chr7") == "7" and normalise_chrom("chrM") == "MT" and normalise_chrom("X") == "X"


def test_annotation_parsers_and_choice():
    ann = parse_ann("A|stop_gained|HIGH|TP53|E|transcript|ENST1|protein_coding|5/11|c.586C>T|p.Arg196Ter||||,"
                    "A|intron_variant|MODIFIER|TP53|E|transcript|ENST2|protein_coding|4/10|c.376-1C>T||||", "A")
    best = choose(ann)
    assert (best.gene, best.consequence, best.protein_change, best.exon) == ("TP53", "stop_gained", "p.R196*", 5)
    fields = csq_fields('Consequence annotations from Ensembl VEP. Format: Allele|Consequence|SYMBOL|HGVSp|CANONICAL')
    assert fields == ["Allele", "Consequence", "SYMBOL", "HGVSp", "CANONICAL"]
    csq = parse_csq("T|stop_gained|GENEX|p.Gln5Ter|,T|missense_variant|GENEX|p.Pro9Leu|YES", fields, "T")
    assert choose(csq).protein_change == "p.P9L"   # vcf2maf: the gene's canonical transcript wins
    eff = parse_eff("NON_SYNONYMOUS_CODING(MODERATE|MISSENSE|gGt/gTt|G12V|188|KRAS|protein_coding|CODING|ENST3|2),"
                    "UPSTREAM(MODIFIER|||||LINC1|lincRNA|NON_CODING|ENST4|)")
    best = choose(eff)
    assert (best.gene, best.consequence, best.protein_change, best.exon) == ("KRAS", "missense_variant", "p.G12V", 2)


@pytest.mark.parametrize("so, vtype, inframe, cls", [
    ("missense_variant", "SNP", True, "Missense_Mutation"), ("stop_gained", "SNP", True, "Nonsense_Mutation"),
    ("frameshift_variant", "DEL", False, "Frame_Shift_Del"), ("frameshift_variant", "INS", False, "Frame_Shift_Ins"),
    ("inframe_deletion", "DEL", True, "In_Frame_Del"), ("splice_donor_variant", "SNP", True, "Splice_Site"),
    ("synonymous_variant", "SNP", True, "Silent"), ("start_lost", "SNP", True, "Translation_Start_Site"),
    ("3_prime_UTR_variant", "SNP", True, "3'UTR"), ("upstream_gene_variant", "SNP", True, "5'Flank"),
    ("splice_region_variant", "SNP", True, "Splice_Region"), ("intergenic_region", "SNP", True, "IGR"),
])
def test_maf_classification(so, vtype, inframe, cls):
    assert maf_classification(so, vtype, inframe) == cls


def test_structural_classification():
    assert classify("<AMP>", None, None).cnv_call == "Amplification"
    assert classify("<DEL>", "DEL", 1).cnv_call == "Heterozygous deletion"
    assert classify("<DUP>", None, None).cnv_call == "Gain"
    assert classify("N[chr2:123[", None, None).category == "SV"
    assert classify("T", None, None) is None


def test_hotspot_table_is_consistent_across_builds():
    with open(hotspots.HOTSPOTS_PATH, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert tuple(rows[0]) == hotspots.COLUMNS
    by_build = defaultdict(dict)
    for r in rows:
        by_build[r["genome_build"]][(r["hugo_symbol"], r["protein_change"])] = r
        if len(r["ref"]) != len(r["alt"]):
            assert r["ref"][0] == r["alt"][0], "indels keep their VCF anchor base"
    assert set(by_build) == {"GRCh37", "GRCh38"} and by_build["GRCh37"].keys() == by_build["GRCh38"].keys()
    required = {("EGFR", "p.L858R"), ("EGFR", "p.E746_A750del"), ("EGFR", "p.T790M"), ("KRAS", "p.G12C"),
                ("KRAS", "p.G12D"), ("KRAS", "p.G12V"), ("KRAS", "p.G13D"), ("NRAS", "p.Q61K"), ("BRAF", "p.V600E"),
                ("PIK3CA", "p.H1047R"), ("PIK3CA", "p.E545K"), ("PIK3CA", "p.E542K"), ("ESR1", "p.D538G"),
                ("ESR1", "p.Y537S"), ("ERBB2", "p.Y772_A775dup"), ("MET", "p.X1010_splice"), ("TP53", "p.R175H"),
                ("TP53", "p.R248Q"), ("TP53", "p.R273H"), ("IDH1", "p.R132H"), ("AKT1", "p.E17K")}
    assert required <= by_build["GRCh37"].keys()
    # the GRCh37 -> GRCh38 shift is one constant per gene (no intra-gene rearrangement at these loci)
    shifts = defaultdict(set)
    for key, r37 in by_build["GRCh37"].items():
        r38 = by_build["GRCh38"][key]
        assert (r37["chrom"], r37["ref"], r37["alt"]) == (r38["chrom"], r38["ref"], r38["alt"])
        shifts[key[0]].add(int(r38["pos"]) - int(r37["pos"]))
    assert all(len(s) == 1 for s in shifts.values()), shifts
    assert shifts["BRAF"] == {300200} and shifts["KRAS"] == {-152934}   # the brief's anchor coordinates
    hs = hotspots.lookup("hg19", "chr7", 140453136, "A", "T")
    assert hs is not None and hs.protein_change == "p.V600E"
    assert hotspots.lookup("GRCh38", "7", 140453136, "A", "T") is None
    assert hotspots.lookup(None, "7", 140453136, "A", "T") is None
