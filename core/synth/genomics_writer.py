"""Somatic sequencing files of a synthetic patient: VCF (SnpEff ANN, VEP CSQ or unannotated) or MAF.

Variant allele fractions follow tumour purity (clonal heterozygous VAF ~ purity / 2,
germline BRCA ~ 0.5), depths follow the panel (hotspot panels are sequenced deeper),
and only what the patient's panel covers is reported: fusions, amplifications, TMB and
MSI need the comprehensive panel. An unannotated VCF holds only calls the curated
hotspot table can resolve, as a hotspot caller's output would.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from core.synth import catalog
from core.synth.catalog import TRANSCRIPTS, VARIANT_BY_KEY, VariantDef
from core.synth.cohort import LatentPatient
from core.synth.outcomes import detectable

CONTIG_LENGTHS = {
    "GRCh37": {"1": 249250621, "2": 243199373, "3": 198022430, "4": 191154276, "5": 180915260, "6": 171115067,
               "7": 159138663, "8": 146364022, "9": 141213431, "10": 135534747, "11": 135006516, "12": 133851895,
               "13": 115169878, "14": 107349540, "15": 102531392, "16": 90354753, "17": 81195210, "18": 78077248,
               "19": 59128983, "20": 63025520, "21": 48129895, "22": 51304566, "X": 155270560},
    "GRCh38": {"1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555, "5": 181538259, "6": 170805979,
               "7": 159345973, "8": 145138636, "9": 138394717, "10": 133797422, "11": 135086622, "12": 133275309,
               "13": 114364328, "14": 107043718, "15": 101991189, "16": 90338345, "17": 83257441, "18": 80373285,
               "19": 58617616, "20": 64444167, "21": 46709983, "22": 50818468, "X": 156040895},
}
CHROM_ORDER = {c: i for i, c in enumerate(CONTIG_LENGTHS["GRCh38"])}
ENTREZ = {"EGFR": 1956, "KRAS": 3845, "NRAS": 4893, "BRAF": 673, "PIK3CA": 5290, "ESR1": 2099, "ERBB2": 2064,
          "MET": 4233, "BRCA1": 672, "BRCA2": 675, "TP53": 7157, "STK11": 6794, "KEAP1": 9817, "APC": 324,
          "SMAD4": 4089, "FBXW7": 55294, "RB1": 5925, "CDH1": 999, "ALK": 238, "RET": 5979, "ROS1": 6098}
AA3 = "Ala Arg Asn Asp Cys Gln Glu Gly His Ile Leu Lys Met Phe Pro Ser Thr Trp Tyr Val".split()
AA1 = "ARNDCQEGHILKMFPSTWYV"


@dataclass(frozen=True)
class Call:
    """One reportable (or, off-panel, unreported) alteration with its read evidence."""

    kind: str                     # snv / fusion / amp / vus
    gene: str
    label: str                    # "EGFR p.L858R", "ALK fusion", "ERBB2 amplification", "ATM p.R123Q"
    chrom: str
    pos: int
    ref: str
    alt: str
    vaf: float
    depth: int
    alt_count: int
    reported: bool                # on the panel (and resolvable for unannotated files)
    origin: str                   # somatic / germline
    filter: str = "PASS"
    vdef: VariantDef | None = None
    hgvsc: str = ""
    hgvsp: str = ""
    protein: str = ""
    consequence: str = "missense_variant"
    exon: str = ""
    partner: str = ""
    copy_number: float | None = None
    end: int | None = None


def sample_id(p: LatentPatient) -> str:
    return f"DEMO-S{p.idx:07d}-T1"


def specimen_id(p: LatentPatient) -> str:
    return f"DEMO-SP{p.idx:07d}"


def plan_calls(p: LatentPatient, seed: int) -> list[Call]:
    """Every alteration of ``p`` with VAF and depth; ``reported`` says whether the file shows it."""
    rng = np.random.default_rng([seed, p.idx, 17])
    build = p.genome_build
    purity = float(rng.uniform(0.2, 0.85))
    mean_depth = 1400 if p.panel == "hotspot_50" else 560
    out: list[Call] = []

    def depth() -> int:
        return int(max(60, rng.normal(mean_depth, mean_depth * 0.25)))

    def small(key: str, germline: bool = False, subclonal: bool = False) -> None:
        v = VARIANT_BY_KEY[key]
        chrom, pos, ref, alt = catalog.coords(v, build)
        vaf_mu = 0.5 if germline else purity / 2 * (rng.uniform(0.3, 0.7) if subclonal else 1.0)
        dp = depth()
        vaf = float(min(max(rng.normal(vaf_mu, 0.04), 0.02), 0.98))
        ac = int(rng.binomial(dp, vaf))
        reported = detectable(p, key) and (p.genomics_format != "unannotated" or catalog.in_curated_table(v, build))
        out.append(Call("snv", v.gene, key, chrom, pos, ref, alt, round(ac / dp, 4), dp, ac, reported,
                        "germline" if germline else "somatic", vdef=v, hgvsc=v.hgvsc, hgvsp=v.hgvsp, protein=v.protein,
                        consequence=v.consequence, exon=v.exon))

    for d in p.drivers:
        gene = d.split(" ")[0]
        if d.endswith("fusion"):
            five, three, b38, b37 = catalog.FUSIONS[gene]
            (c1, p1), (c2, p2) = b38 if build == "GRCh38" else b37
            dp = int(max(40, rng.normal(220, 60)))
            ac = int(rng.binomial(dp, min(purity * 0.6, 0.9)))
            out.append(Call("fusion", gene, d, c1, p1, "N", f"N[{_chr(c2, build)}:{p2}[", round(ac / dp, 4), dp, ac,
                            detectable(p, d), "somatic", partner=five, consequence="gene_fusion"))
        elif d.endswith("amplification"):
            chrom, start, end = catalog.ERBB2_AMP_SPAN[build]
            out.append(Call("amp", gene, d, chrom, start, "N", "<AMP>", 0.0, 0, 0, detectable(p, d), "somatic",
                            copy_number=float(round(rng.uniform(7, 22))), end=end, consequence="copy_number_gain"))
        else:
            small(d, germline=gene in ("BRCA1", "BRCA2"))
    for key in p.passengers:
        small(key, subclonal=rng.random() < 0.2)
    for gene, codon in p.vus:
        chrom, s38, s37, n_codons = catalog.PASSENGER_GENES[gene]
        codon = 1 + codon % n_codons
        pos = (s38 if build == "GRCh38" else s37) + codon * 3 + int(rng.integers(0, 3))
        ref = "ACGT"[int(rng.integers(0, 4))]
        alt = "ACGT".replace(ref, "")[int(rng.integers(0, 3))]
        a_from, a_to = int(rng.integers(0, 20)), int(rng.integers(0, 20))
        if a_to == a_from:
            a_to = (a_to + 1) % 20
        dp = depth()
        vaf = float(min(max(rng.normal(purity / 2 * rng.uniform(0.3, 1.0), 0.03), 0.02), 0.9))
        ac = int(rng.binomial(dp, vaf))
        on_panel = p.panel is not None and gene in catalog.PANELS[p.panel]
        reported = on_panel and p.genomics_format != "unannotated"
        out.append(Call("vus", gene, f"{gene} p.{AA1[a_from]}{codon}{AA1[a_to]}", chrom, pos, ref, alt,
                        round(ac / dp, 4), dp, ac, reported, "somatic",
                        filter="PASS" if ac >= 8 else "weak_evidence",
                        hgvsc=f"c.{codon * 3 - 1}{ref}>{alt}", hgvsp=f"p.{AA3[a_from]}{codon}{AA3[a_to]}",
                        protein=f"p.{AA1[a_from]}{codon}{AA1[a_to]}", consequence="missense_variant",
                        exon=f"{1 + codon % 9}/{10 + codon % 7}"))
    uniq: dict[tuple, Call] = {}
    for c in out:
        uniq.setdefault((c.chrom, c.pos, c.ref, c.alt), c)
    return sorted(uniq.values(), key=lambda c: (CHROM_ORDER.get(c.chrom, 99), c.pos, c.alt))


def _chr(chrom: str, build: str) -> str:
    return f"chr{chrom}" if build == "GRCh38" else chrom


def _impact(c: Call) -> str:
    return {"missense_variant": "MODERATE", "inframe_deletion": "MODERATE", "inframe_insertion": "MODERATE",
            "copy_number_gain": "MODIFIER"}.get(c.consequence, "HIGH")


def _hgvsp_ann(c: Call) -> str:
    return c.hgvsp.replace("Ter", "*") if c.consequence == "stop_gained" else c.hgvsp


def _gene_ids(gene: str) -> tuple[str, str]:
    return TRANSCRIPTS.get(gene, (gene, f"{gene}-201"))


def _ann(c: Call) -> str:
    ensg, enst = _gene_ids(c.gene)
    if c.kind == "fusion":
        p_ensg, _ = _gene_ids(c.partner)
        return f"{c.alt}|gene_fusion|HIGH|{c.partner}&{c.gene}|{p_ensg}&{ensg}|gene_variant|{ensg}|||||||||"
    rank = c.exon
    hgvsp = "" if c.consequence == "splice_donor_variant" else _hgvsp_ann(c)
    return f"{c.alt}|{c.consequence}|{_impact(c)}|{c.gene}|{ensg}|transcript|{enst}.1|protein_coding|{rank}|{c.hgvsc}|{hgvsp}||||||"


def _csq(c: Call) -> str:
    ensg, enst = _gene_ids(c.gene)
    if len(c.ref) == len(c.alt):
        allele = c.alt
    elif len(c.ref) > len(c.alt):
        allele = "-"
    else:
        allele = c.alt[len(c.ref):]
    exon, intron = (c.exon, "") if c.consequence != "splice_donor_variant" else ("", c.exon.split("/")[0] + "/20")
    hgvsp = "" if c.consequence == "splice_donor_variant" else f"{enst.replace('ENST', 'ENSP')}.1:{c.hgvsp}"
    return f"{allele}|{c.consequence}|{_impact(c)}|{c.gene}|{ensg}|Transcript|{enst}.1|protein_coding|{exon}|{intron}|{enst}.1:{c.hgvsc}|{hgvsp}|YES"


def render_vcf(p: LatentPatient, calls: list[Call], report_date: date) -> str:
    """The VCF text of ``p``'s sequencing (``p.genomics_format`` chooses ANN / CSQ / none)."""
    build = p.genome_build
    fmt = p.genomics_format
    comprehensive = p.panel is not None and "tmb" in catalog.PANEL_CALLS[p.panel]
    lines = ["##fileformat=VCFv4.2", f"##fileDate={report_date:%Y%m%d}",
             "##source=DemoSomaticPipeline (tumor-only, Mutect2-like) v2.3",
             f"##reference={build}"]
    if comprehensive:
        lines.append(f"##tmb={p.tmb:.1f}")
        lines.append(f"##msi_status={'MSI-H' if p.msi_high else 'MSS'}")
    used = sorted({c.chrom for c in calls if c.reported}, key=lambda x: CHROM_ORDER.get(x, 99))
    for ch in used:
        lines.append(f"##contig=<ID={_chr(ch, build)},length={CONTIG_LENGTHS[build][ch]},assembly={build}>")
    lines += [
        '##ALT=<ID=AMP,Description="Amplification">',
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=weak_evidence,Description="Mutation does not meet likelihood threshold">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the variant">',
        '##INFO=<ID=CN,Number=1,Type=Float,Description="Estimated copy number">',
        '##INFO=<ID=GENE,Number=1,Type=String,Description="Gene of a structural or copy-number call">',
        '##INFO=<ID=SV_PARTNER,Number=1,Type=String,Description="Fusion partner gene">',
    ]
    if fmt == "ann":
        lines.append('##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: \'Allele | Annotation | '
                     'Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | '
                     'HGVS.c | HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length | Distance | '
                     'ERRORS / WARNINGS / INFO\'">')
        lines.append("##SnpEffVersion=\"5.1d (build 2022-04-19 15:49), by Pablo Cingolani\"")
    elif fmt == "csq":
        lines.append('##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
                     'Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|'
                     'HGVSp|CANONICAL">')
        lines.append("##VEP=\"v110\" cache=\"homo_sapiens/110_" + ("GRCh38" if build == "GRCh38" else "GRCh37") + "\"")
    lines += ['##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
              '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles">',
              '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
              '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction of the event in the tumor">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + sample_id(p)]
    for c in calls:
        if not c.reported:
            continue
        chrom = _chr(c.chrom, build)
        if c.kind == "amp":
            info = f"SVTYPE=AMP;END={c.end};CN={c.copy_number:.0f};GENE={c.gene}"
            if fmt == "ann":
                ensg, enst = _gene_ids(c.gene)
                info += f";ANN=<AMP>|copy_number_gain|MODIFIER|{c.gene}|{ensg}|transcript|{enst}.1|protein_coding||||||||"
            lines.append(f"{chrom}\t{c.pos}\t.\tN\t<AMP>\t.\tPASS\t{info}\tGT:AD:DP:AF\t./.:.:.:.")
            continue
        info = f"DP={c.depth}"
        if c.kind == "fusion":
            info = f"SVTYPE=BND;GENE={c.partner};SV_PARTNER={c.gene};DP={c.depth}"
        if fmt == "ann":
            info += f";ANN={_ann(c)}"
        elif fmt == "csq" and c.kind != "fusion":
            info += f";CSQ={_csq(c)}"
        gt = "0/1"
        sample = f"{gt}:{c.depth - c.alt_count},{c.alt_count}:{c.depth}:{c.vaf:.3f}"
        lines.append(f"{chrom}\t{c.pos}\t.\t{c.ref}\t{c.alt}\t.\t{c.filter}\t{info}\tGT:AD:DP:AF\t{sample}")
    return "\n".join(lines) + "\n"


MAF_COLUMNS = ("Hugo_Symbol", "Entrez_Gene_Id", "Center", "NCBI_Build", "Chromosome", "Start_Position", "End_Position",
               "Strand", "Variant_Classification", "Variant_Type", "Reference_Allele", "Tumor_Seq_Allele1",
               "Tumor_Seq_Allele2", "dbSNP_RS", "dbSNP_Val_Status", "Tumor_Sample_Barcode",
               "Matched_Norm_Sample_Barcode", "Match_Norm_Seq_Allele1", "Match_Norm_Seq_Allele2", "HGVSc", "HGVSp",
               "HGVSp_Short", "Transcript_ID", "Exon_Number", "t_depth", "t_ref_count", "t_alt_count", "n_depth",
               "n_ref_count", "n_alt_count", "Consequence", "IMPACT", "FILTER")


def _maf_alleles(pos: int, ref: str, alt: str) -> tuple[int, int, str, str, str]:
    """(start, end, ref, alt, variant type) in MAF convention (indels without the anchor base)."""
    if len(ref) == len(alt) == 1:
        return pos, pos, ref, alt, "SNP"
    if len(ref) > len(alt):
        d = ref[len(alt):]
        return pos + len(alt), pos + len(alt) + len(d) - 1, d, "-", "DEL"
    ins = alt[len(ref):]
    return pos + len(ref) - 1, pos + len(ref), "-", ins, "INS"


MAF_HEADER = "#version 2.4\n" + "\t".join(MAF_COLUMNS) + "\n"


def render_maf(p: LatentPatient, calls: list[Call]) -> str:
    """A vcf2maf-style MAF (small variants only; fusions and amplifications are in the report text)."""
    return MAF_HEADER + "".join(r + "\n" for r in maf_rows(p, calls))


def maf_rows(p: LatentPatient, calls: list[Call]) -> list[str]:
    """The MAF data lines of ``p`` (tab-separated, no newline)."""
    rows = []
    for c in calls:
        if not c.reported or c.kind not in ("snv", "vus"):
            continue
        start, end, ref, alt, vtype = _maf_alleles(c.pos, c.ref, c.alt)
        cls = c.vdef.classification if c.vdef else "Missense_Mutation"
        _, enst = _gene_ids(c.gene)
        vals = {
            "Hugo_Symbol": c.gene, "Entrez_Gene_Id": str(ENTREZ.get(c.gene, 0)), "Center": "demo-lab",
            "NCBI_Build": p.genome_build, "Chromosome": c.chrom, "Start_Position": str(start), "End_Position": str(end),
            "Strand": "+", "Variant_Classification": cls, "Variant_Type": vtype, "Reference_Allele": ref,
            "Tumor_Seq_Allele1": ref, "Tumor_Seq_Allele2": alt, "dbSNP_RS": "", "dbSNP_Val_Status": "",
            "Tumor_Sample_Barcode": sample_id(p), "Matched_Norm_Sample_Barcode": "", "Match_Norm_Seq_Allele1": "",
            "Match_Norm_Seq_Allele2": "", "HGVSc": c.hgvsc, "HGVSp": c.hgvsp if c.consequence != "splice_donor_variant" else "",
            "HGVSp_Short": c.protein, "Transcript_ID": enst, "Exon_Number": c.exon, "t_depth": str(c.depth),
            "t_ref_count": str(c.depth - c.alt_count), "t_alt_count": str(c.alt_count), "n_depth": "",
            "n_ref_count": "", "n_alt_count": "", "Consequence": c.consequence, "IMPACT": _impact(c), "FILTER": c.filter,
        }
        rows.append("\t".join(vals[k] for k in MAF_COLUMNS))
    return rows

