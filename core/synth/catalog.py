"""Fixed vocabularies of the synthetic cohort: variants with real coordinates, panels, labs, drugs.

Coordinates are those of the well-known hotspots (COSMIC / ClinVar) on GRCh38 and
GRCh37. When ``data/knowledge/hotspots.tsv`` (the curated table the VCF ingester
uses for unannotated files) lists the same gene and protein change, its row wins,
so an unannotated demo VCF always resolves through that table.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

BUILDS = ("GRCh38", "GRCh37")
HOTSPOTS_TSV = PROJECT_ROOT / "data" / "knowledge" / "hotspots.tsv"
PANEL_DIR = PROJECT_ROOT / "data" / "panels"


@dataclass(frozen=True)
class VariantDef:
    """One small variant as an annotator would describe it."""

    gene: str
    protein: str            # HGVS short, p.L858R (or p.X1010_splice for splice sites)
    hgvsp: str              # HGVS long, p.Leu858Arg
    hgvsc: str              # c.2573T>G
    consequence: str        # Sequence Ontology term (ANN / CSQ)
    classification: str     # MAF Variant_Classification
    exon: str               # "21/28"
    coords: dict[str, tuple[str, int, str, str]] = field(default_factory=dict)  # build -> chrom, pos, ref, alt

    @property
    def key(self) -> str:
        return f"{self.gene} {self.protein}"

    @property
    def exon_number(self) -> int:
        return int(self.exon.split("/")[0])

    def impact(self) -> str:
        return {"missense_variant": "MODERATE", "inframe_deletion": "MODERATE", "inframe_insertion": "MODERATE",
                "synonymous_variant": "LOW"}.get(self.consequence, "HIGH")


def _v(gene: str, protein: str, hgvsp: str, hgvsc: str, cons: str, exon: str,
       b38: tuple[str, int, str, str], b37: tuple[str, int, str, str]) -> VariantDef:
    cls = {"missense_variant": "Missense_Mutation", "inframe_deletion": "In_Frame_Del",
           "stop_gained": "Nonsense_Mutation", "frameshift_variant": "Frame_Shift_Del",
           "splice_donor_variant": "Splice_Site", "inframe_insertion": "In_Frame_Ins"}[cons]
    ref, alt = b38[2], b38[3]
    if cons == "frameshift_variant" and len(alt) > len(ref):
        cls = "Frame_Shift_Ins"
    return VariantDef(gene, protein, hgvsp, hgvsc, cons, cls, exon, {"GRCh38": b38, "GRCh37": b37})


VARIANTS: tuple[VariantDef, ...] = (
    # EGFR (ENST00000275493, 28 exons)
    _v("EGFR", "p.L858R", "p.Leu858Arg", "c.2573T>G", "missense_variant", "21/28",
       ("7", 55191822, "T", "G"), ("7", 55259515, "T", "G")),
    _v("EGFR", "p.E746_A750del", "p.Glu746_Ala750del", "c.2235_2249del", "inframe_deletion", "19/28",
       ("7", 55174771, "AGGAATTAAGAGAAGC", "A"), ("7", 55242464, "AGGAATTAAGAGAAGC", "A")),
    _v("EGFR", "p.L861Q", "p.Leu861Gln", "c.2582T>A", "missense_variant", "21/28",
       ("7", 55191831, "T", "A"), ("7", 55259524, "T", "A")),
    # KRAS (ENST00000256078)
    _v("KRAS", "p.G12C", "p.Gly12Cys", "c.34G>T", "missense_variant", "2/6",
       ("12", 25245351, "C", "A"), ("12", 25398285, "C", "A")),
    _v("KRAS", "p.G12D", "p.Gly12Asp", "c.35G>A", "missense_variant", "2/6",
       ("12", 25245350, "C", "T"), ("12", 25398284, "C", "T")),
    _v("KRAS", "p.G12V", "p.Gly12Val", "c.35G>T", "missense_variant", "2/6",
       ("12", 25245350, "C", "A"), ("12", 25398284, "C", "A")),
    _v("KRAS", "p.G12A", "p.Gly12Ala", "c.35G>C", "missense_variant", "2/6",
       ("12", 25245350, "C", "G"), ("12", 25398284, "C", "G")),
    _v("KRAS", "p.G13D", "p.Gly13Asp", "c.38G>A", "missense_variant", "2/6",
       ("12", 25245347, "C", "T"), ("12", 25398281, "C", "T")),
    _v("KRAS", "p.Q61H", "p.Gln61His", "c.183A>C", "missense_variant", "3/6",
       ("12", 25227341, "T", "G"), ("12", 25380275, "T", "G")),
    # NRAS (ENST00000369535)
    _v("NRAS", "p.Q61K", "p.Gln61Lys", "c.181C>A", "missense_variant", "3/7",
       ("1", 114713909, "G", "T"), ("1", 115256530, "G", "T")),
    # BRAF (ENST00000288602)
    _v("BRAF", "p.V600E", "p.Val600Glu", "c.1799T>A", "missense_variant", "15/18",
       ("7", 140753336, "A", "T"), ("7", 140453136, "A", "T")),
    # PIK3CA (ENST00000263967)
    _v("PIK3CA", "p.H1047R", "p.His1047Arg", "c.3140A>G", "missense_variant", "21/21",
       ("3", 179234297, "A", "G"), ("3", 178952085, "A", "G")),
    _v("PIK3CA", "p.E545K", "p.Glu545Lys", "c.1633G>A", "missense_variant", "10/21",
       ("3", 179218303, "G", "A"), ("3", 178936091, "G", "A")),
    _v("PIK3CA", "p.E542K", "p.Glu542Lys", "c.1624G>A", "missense_variant", "10/21",
       ("3", 179218294, "G", "A"), ("3", 178936082, "G", "A")),
    # ESR1 (ENST00000206249)
    _v("ESR1", "p.D538G", "p.Asp538Gly", "c.1613A>G", "missense_variant", "8/8",
       ("6", 152098791, "A", "G"), ("6", 152419926, "A", "G")),
    _v("ESR1", "p.Y537S", "p.Tyr537Ser", "c.1610A>C", "missense_variant", "8/8",
       ("6", 152098788, "A", "C"), ("6", 152419923, "A", "C")),
    # ERBB2 (ENST00000269571)
    _v("ERBB2", "p.S310F", "p.Ser310Phe", "c.929C>T", "missense_variant", "8/27",
       ("17", 39711955, "C", "T"), ("17", 37868208, "C", "T")),
    # MET exon 14 skipping (ENST00000397752)
    _v("MET", "p.X1010_splice", "p.X1010_splice", "c.3028+1G>T", "splice_donor_variant", "14/21",
       ("7", 116771990, "G", "T"), ("7", 116412044, "G", "T")),
    # BRCA1 (ENST00000357654), BRCA2 (ENST00000380152)
    _v("BRCA1", "p.E23Vfs*17", "p.Glu23ValfsTer17", "c.68_69del", "frameshift_variant", "2/23",
       ("17", 43124027, "ACT", "A"), ("17", 41276044, "ACT", "A")),
    _v("BRCA1", "p.Q1756Pfs*74", "p.Gln1756ProfsTer74", "c.5266dup", "frameshift_variant", "20/23",
       ("17", 43057062, "T", "TG"), ("17", 41209079, "T", "TG")),
    _v("BRCA2", "p.S1982Rfs*22", "p.Ser1982ArgfsTer22", "c.5946del", "frameshift_variant", "11/27",
       ("13", 32340301, "GT", "G"), ("13", 32914438, "GT", "G")),
    # TP53 (ENST00000269305)
    _v("TP53", "p.R175H", "p.Arg175His", "c.524G>A", "missense_variant", "5/11",
       ("17", 7675088, "C", "T"), ("17", 7578406, "C", "T")),
    _v("TP53", "p.R248Q", "p.Arg248Gln", "c.743G>A", "missense_variant", "7/11",
       ("17", 7674220, "C", "T"), ("17", 7577538, "C", "T")),
    _v("TP53", "p.R248W", "p.Arg248Trp", "c.742C>T", "missense_variant", "7/11",
       ("17", 7674221, "G", "A"), ("17", 7577539, "G", "A")),
    _v("TP53", "p.R273H", "p.Arg273His", "c.818G>A", "missense_variant", "8/11",
       ("17", 7673802, "C", "T"), ("17", 7577120, "C", "T")),
    _v("TP53", "p.R282W", "p.Arg282Trp", "c.844C>T", "missense_variant", "8/11",
       ("17", 7673776, "G", "A"), ("17", 7577094, "G", "A")),
    _v("TP53", "p.Y220C", "p.Tyr220Cys", "c.659A>G", "missense_variant", "6/11",
       ("17", 7674872, "T", "C"), ("17", 7578190, "T", "C")),
    # STK11 (ENST00000326873), KEAP1 (ENST00000171111)
    _v("STK11", "p.Q37*", "p.Gln37Ter", "c.109C>T", "stop_gained", "1/10",
       ("19", 1207022, "C", "T"), ("19", 1207021, "C", "T")),
    _v("KEAP1", "p.G333C", "p.Gly333Cys", "c.997G>T", "missense_variant", "3/6",
       ("19", 10492239, "C", "A"), ("19", 10602915, "C", "A")),
    # APC (ENST00000257430)
    _v("APC", "p.R1450*", "p.Arg1450Ter", "c.4348C>T", "stop_gained", "16/16",
       ("5", 112839942, "C", "T"), ("5", 112175639, "C", "T")),
    _v("APC", "p.R876*", "p.Arg876Ter", "c.2626C>T", "stop_gained", "16/16",
       ("5", 112838220, "C", "T"), ("5", 112173917, "C", "T")),
    _v("APC", "p.R1114*", "p.Arg1114Ter", "c.3340C>T", "stop_gained", "16/16",
       ("5", 112838934, "C", "T"), ("5", 112174631, "C", "T")),
    _v("APC", "p.Q1367*", "p.Gln1367Ter", "c.4099C>T", "stop_gained", "16/16",
       ("5", 112839693, "C", "T"), ("5", 112175390, "C", "T")),
    # SMAD4, FBXW7, RB1, CDH1
    _v("SMAD4", "p.R361H", "p.Arg361His", "c.1082G>A", "missense_variant", "9/12",
       ("18", 51065548, "G", "A"), ("18", 48591918, "G", "A")),
    _v("FBXW7", "p.R465C", "p.Arg465Cys", "c.1393C>T", "missense_variant", "9/12",
       ("4", 152328233, "G", "A"), ("4", 153249385, "G", "A")),
    _v("RB1", "p.R320*", "p.Arg320Ter", "c.958C>T", "stop_gained", "10/27",
       ("13", 48367512, "C", "T"), ("13", 48941648, "C", "T")),
    _v("CDH1", "p.Q23*", "p.Gln23Ter", "c.67C>T", "stop_gained", "2/16",
       ("16", 68737424, "C", "T"), ("16", 68771323, "C", "T")),
)

VARIANT_BY_KEY: dict[str, VariantDef] = {v.key: v for v in VARIANTS}

TRANSCRIPTS: dict[str, tuple[str, str]] = {  # gene -> (Ensembl gene, canonical transcript)
    "EGFR": ("ENSG00000146648", "ENST00000275493"), "KRAS": ("ENSG00000133703", "ENST00000256078"),
    "NRAS": ("ENSG00000213281", "ENST00000369535"), "BRAF": ("ENSG00000157764", "ENST00000288602"),
    "PIK3CA": ("ENSG00000121879", "ENST00000263967"), "ESR1": ("ENSG00000091831", "ENST00000206249"),
    "ERBB2": ("ENSG00000141736", "ENST00000269571"), "MET": ("ENSG00000105976", "ENST00000397752"),
    "BRCA1": ("ENSG00000012048", "ENST00000357654"), "BRCA2": ("ENSG00000139618", "ENST00000380152"),
    "TP53": ("ENSG00000141510", "ENST00000269305"), "STK11": ("ENSG00000118046", "ENST00000326873"),
    "KEAP1": ("ENSG00000079999", "ENST00000171111"), "APC": ("ENSG00000134982", "ENST00000257430"),
    "SMAD4": ("ENSG00000141646", "ENST00000342988"), "FBXW7": ("ENSG00000109670", "ENST00000281708"),
    "RB1": ("ENSG00000139687", "ENST00000267163"), "CDH1": ("ENSG00000039068", "ENST00000261769"),
    "ALK": ("ENSG00000171094", "ENST00000389048"), "RET": ("ENSG00000165731", "ENST00000355710"),
    "ROS1": ("ENSG00000047936", "ENST00000368508"), "EML4": ("ENSG00000143924", "ENST00000318522"),
    "KIF5B": ("ENSG00000170759", "ENST00000302418"), "CD74": ("ENSG00000019582", "ENST00000009530"),
    "ATM": ("ENSG00000149311", "ENST00000278616"), "ARID1A": ("ENSG00000117713", "ENST00000324856"),
    "KMT2D": ("ENSG00000167548", "ENST00000301067"), "NF1": ("ENSG00000196712", "ENST00000358273"),
    "SMARCA4": ("ENSG00000127616", "ENST00000344626"), "PTEN": ("ENSG00000171862", "ENST00000371953"),
    "NOTCH1": ("ENSG00000148400", "ENST00000651671"), "GATA3": ("ENSG00000107485", "ENST00000379328"),
    "MAP3K1": ("ENSG00000095015", "ENST00000399503"), "ERBB4": ("ENSG00000178568", "ENST00000342788"),
    "CTNNB1": ("ENSG00000168036", "ENST00000349496"), "CDKN2A": ("ENSG00000147889", "ENST00000304494"),
    "FAT1": ("ENSG00000083857", "ENST00000441802"), "SETD2": ("ENSG00000181555", "ENST00000409792"),
    "TET2": ("ENSG00000168769", "ENST00000380013"), "LRP1B": ("ENSG00000168702", "ENST00000389484"),
}

# Gene spans (chrom, GRCh38 start, GRCh37 start, coding length in codons) for passenger variants of
# uncertain significance; positions inside the span are synthetic.
PASSENGER_GENES: dict[str, tuple[str, int, int, int]] = {
    "ATM": ("11", 108227625, 108098422, 3056), "ARID1A": ("1", 26696000, 27022500, 2285),
    "KMT2D": ("12", 49020000, 49413800, 5537), "NF1": ("17", 31095300, 29422300, 2839),
    "SMARCA4": ("19", 10961000, 11071700, 1647), "PTEN": ("10", 87863800, 89623600, 403),
    "NOTCH1": ("9", 136496000, 139390500, 2555), "GATA3": ("10", 8045500, 8087500, 443),
    "MAP3K1": ("5", 56815600, 56111400, 1512), "ERBB4": ("2", 211375800, 212240500, 1308),
    "CTNNB1": ("3", 41194800, 41236400, 781), "CDKN2A": ("9", 21967800, 21967800, 156),
    "FAT1": ("4", 186588000, 187509000, 4588), "SETD2": ("3", 47058000, 47099000, 2564),
    "TET2": ("4", 105145900, 106067000, 2002), "LRP1B": ("2", 140232000, 141002000, 4599),
    "KEAP1": ("19", 10486200, 10596800, 624), "RB1": ("13", 48303800, 48877900, 928),
}

# Structural events: (gene, partner, event label, GRCh38 breakpoints, GRCh37 breakpoints)
FUSIONS: dict[str, tuple[str, str, tuple[tuple[str, int], tuple[str, int]], tuple[tuple[str, int], tuple[str, int]]]] = {
    "ALK": ("EML4", "ALK", (("2", 42295516), ("2", 29223528)), (("2", 42522656), ("2", 29446394))),
    "RET": ("KIF5B", "RET", (("10", 32317356), ("10", 43114478)), (("10", 32606284), ("10", 43609926))),
    "ROS1": ("CD74", "ROS1", (("5", 150404680), ("6", 117324415)), (("5", 149784243), ("6", 117645578))),
}
ERBB2_AMP_SPAN = {"GRCh38": ("17", 39687914, 39730426), "GRCh37": ("17", 37844167, 37886679)}

# ---- gene panels ------------------------------------------------------------------------
HOTSPOT_50 = """ABL1 AKT1 ALK APC ATM BRAF CDH1 CDKN2A CSF1R CTNNB1 EGFR ERBB2 ERBB4 EZH2 FBXW7 FGFR1 FGFR2
FGFR3 FLT3 GNA11 GNAQ GNAS HNF1A HRAS IDH1 IDH2 JAK2 JAK3 KDR KIT KRAS MET MLH1 MPL NOTCH1 NPM1 NRAS
PDGFRA PIK3CA PTEN PTPN11 RB1 RET SMAD4 SMARCB1 SMO SRC STK11 TP53 VHL""".split()

COMPREHENSIVE_300 = """ABL1 ACVR1B AKT1 AKT2 AKT3 ALK ALOX12B AMER1 APC AR ARAF ARFRP1 ARID1A ASXL1 ATM ATR ATRX
AURKA AURKB AXIN1 AXL BAP1 BARD1 BCL2 BCL2L1 BCL6 BCOR BCORL1 BRAF BRCA1 BRCA2 BRD4 BRIP1 BTG1
BTK CALR CARD11 CASP8 CBFB CBL CCND1 CCND2 CCND3 CCNE1 CD274 CD79A CD79B CDC73 CDH1 CDK12 CDK4 CDK6
CDK8 CDKN1A CDKN1B CDKN2A CDKN2B CDKN2C CEBPA CHEK1 CHEK2 CIC CREBBP CRKL CSF1R CSF3R CTCF CTNNA1
CTNNB1 CUL3 CXCR4 CYP17A1 DAXX DDR1 DDR2 DIS3 DNMT3A DOT1L EED EGFR EP300 EPHA3 EPHB1 EPHB4 ERBB2
ERBB3 ERBB4 ERCC4 ERG ERRFI1 ESR1 EZH2 FANCA FANCC FANCG FANCL FAS FAT1 FBXW7 FGF19 FGF23 FGF3 FGF4
FGFR1 FGFR2 FGFR3 FGFR4 FH FLCN FLT1 FLT3 FOXL2 FUBP1 GATA3 GATA4 GATA6 GNA11 GNA13 GNAQ GNAS
GSK3B HDAC1 HGF HNF1A HRAS ID3 IDH1 IDH2 IGF1R IKBKE IKZF1 INPP4B IRF2 IRF4 IRS2 JAK1 JAK2 JAK3 JUN
KDM5A KDM5C KDM6A KDR KEAP1 KEL KIT KLHL6 KMT2A KMT2C KMT2D KRAS LRP1B LTK LYN MAP2K1 MAP2K2 MAP2K4
MAP3K1 MAP3K13 MAPK1 MCL1 MDM2 MDM4 MED12 MEF2B MEN1 MERTK MET MITF MLH1 MPL MRE11 MSH2 MSH3 MSH6
MST1R MTAP MTOR MUTYH MYC MYCL MYCN MYD88 NBN NF1 NF2 NFE2L2 NFKBIA NKX2-1 NOTCH1 NOTCH2 NOTCH3 NPM1
NRAS NSD3 NTRK1 NTRK2 NTRK3 PALB2 PARP1 PARP2 PAX5 PBRM1 PDCD1 PDCD1LG2 PDGFRA PDGFRB PDK1 PIK3C2B
PIK3CA PIK3CB PIK3R1 PIM1 PMS2 POLD1 POLE PPARG PPP2R1A PPP2R2A PRDM1 PRKAR1A PRKCI PTCH1 PTEN PTPN11
PTPRO QKI RAC1 RAD21 RAD51 RAD51B RAD51C RAD51D RAD52 RAD54L RAF1 RARA RB1 RBM10 REL RET RICTOR
RNF43 ROS1 RPTOR SDHA SDHB SDHC SDHD SETD2 SF3B1 SGK1 SMAD2 SMAD4 SMARCA4 SMARCB1 SMO SOCS1 SOX2
SOX9 SPEN SPOP SRC STAG2 STAT3 STK11 SUFU SYK TBX3 TEK TET2 TGFBR2 TMPRSS2 TNFAIP3 TNFRSF14 TP53
TSC1 TSC2 TYRO3 U2AF1 VEGFA VHL WT1 XPO1 XRCC2 ZNF217 ZNF703""".split()

PANELS: dict[str, list[str]] = {
    "hotspot_50": sorted(set(HOTSPOT_50)),
    "comprehensive_300": sorted(set(COMPREHENSIVE_300)),
}
# What each panel can call besides small variants.
PANEL_CALLS: dict[str, frozenset[str]] = {
    "hotspot_50": frozenset(),
    "comprehensive_300": frozenset({"fusion", "amplification", "tmb", "msi"}),
}
PANEL_LABEL = {"hotspot_50": "50-gene cancer hotspot panel (DNA)",
               "comprehensive_300": "comprehensive 300-gene solid tumor panel (DNA + RNA fusions)"}


def write_panels(panel_dir: Path = PANEL_DIR) -> list[Path]:
    """Write ``data/panels/<name>.txt`` (one gene per line); unchanged files are left alone."""
    panel_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name, genes in PANELS.items():
        p = panel_dir / f"{name}.txt"
        text = f"# {PANEL_LABEL[name]}; {len(genes)} genes; demo panel of the synthetic cohort\n" + "\n".join(genes) + "\n"
        if not p.exists() or p.read_text() != text:
            p.write_text(text)
        out.append(p)
    return out


@lru_cache(maxsize=1)
def curated_hotspots() -> dict[tuple[str, str, str], tuple[str, int, str, str]]:
    """(build, gene, protein_change) -> (chrom, pos, ref, alt) from data/knowledge/hotspots.tsv, if present."""
    out: dict[tuple[str, str, str], tuple[str, int, str, str]] = {}
    if not HOTSPOTS_TSV.is_file():
        return out
    with open(HOTSPOTS_TSV, newline="") as fh:
        lines = (ln for ln in fh if not ln.startswith("#"))
        for row in csv.DictReader(lines, delimiter="\t"):
            try:
                key = (row["genome_build"], row["hugo_symbol"], row["protein_change"])
                out[key] = (str(row["chrom"]).removeprefix("chr"), int(row["pos"]), row["ref"], row["alt"])
            except (KeyError, ValueError, TypeError):
                logger.warning("hotspots.tsv: skipped a malformed row")
    return out


def coords(v: VariantDef, build: str) -> tuple[str, int, str, str]:
    """Coordinates of ``v`` on ``build``, preferring the curated hotspot table's row."""
    return curated_hotspots().get((build, v.gene, v.protein)) or v.coords[build]


def in_curated_table(v: VariantDef, build: str) -> bool:
    return (build, v.gene, v.protein) in curated_hotspots()


# ---- labs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabDef:
    key: str
    loinc: str
    name: str
    unit: str
    ref_low: float | None
    ref_high: float | None
    decimals: int


LABS: dict[str, LabDef] = {d.key: d for d in (
    LabDef("albumin", "1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 3.5, 5.0, 1),
    LabDef("ldh", "2532-0", "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 140, 280, 0),
    LabDef("cea", "2039-6", "Carcinoembryonic Ag [Mass/volume] in Serum or Plasma", "ng/mL", 0.0, 3.0, 1),
    LabDef("ca15_3", "6875-9", "Cancer Ag 15-3 [Units/volume] in Serum or Plasma", "U/mL", 0.0, 30.0, 0),
    LabDef("hgb", "718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 16.0, 1),
    LabDef("wbc", "6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 4.0, 11.0, 1),
    LabDef("plt", "777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150, 400, 0),
    LabDef("creat", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.2, 2),
    LabDef("alt", "1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 7, 56, 0),
)}

# ---- names and people ----------------------------------------------------------------------
FEMALE_GIVEN = """Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret
Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah Stephanie Rebecca Sharon Laura
Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma Nicole Helen Samantha Katherine Christine Debra Rachel
Carolyn Janet Catherine Maria Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren Christina Joan
Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison Frances Kathryn Janice
Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly Isabella Theresa Diana Natalie
Brittany Charlotte Marie Kayla Alexis Lori Mei Yuki Priya Aiko""".split()
MALE_GIVEN = """James Robert John Michael David William Richard Joseph Thomas Charles Christopher Daniel Matthew
Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan
Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Frank
Patrick Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle Ethan Walter Noah
Jeremy Christian Keith Roger Terry Gerald Harold Sean Austin Carl Arthur Lawrence Dylan Jesse Jordan Bryan Billy
Joe Bruce Gabriel Logan Albert Willie Alan Juan Wayne Elijah Randy Roy Vincent Ralph Eugene Russell Bobby Mason
Philip Louis Hiroshi Wei Rajesh Kenji""".split()
FAMILY = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson
Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell
Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook
Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks
Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons
Tanaka Wang Chen Yamamoto Singh Okafor Kowalski Novak Larsen Fischer Weber Rossi Moreau Dubois""".split()

CLINICIANS = {
    "oncology": ["Dr. A. Okafor", "Dr. M. Lindqvist", "Dr. S. Patel", "Dr. R. Castillo", "Dr. J. Whitfield"],
    "radiology": ["Dr. K. Moreau", "Dr. T. Nakamura", "Dr. L. Brennan"],
    "pathology": ["Dr. E. Vasquez", "Dr. H. Sorensen", "Dr. P. Adeyemi"],
    "surgery": ["Dr. D. Hoffmann", "Dr. C. Ribeiro"],
    "pulmonology": ["Dr. G. Farouk"],
    "gastroenterology": ["Dr. N. Iyer"],
    "genetics": ["Dr. B. Kowalczyk"],
}
SITES = ("Riverside Cancer Center", "Lakeview Hospital")
