"""MAF ingest: the columns vcf2maf writes (Hugo_Symbol, Chromosome, Start_Position, Reference_Allele,
Tumor_Seq_Allele2, Variant_Classification, HGVSc, HGVSp_Short, t_depth, t_alt_count, NCBI_Build,
Tumor_Sample_Barcode, Exon_Number). Locator: ``line N`` (1-based, comment and header lines counted).
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from core.genomics.builds import normalise_build, normalise_chrom
from core.genomics.hgvs import short_protein, strip_accession
from core.ingest.base import IngestContext, IngestError, SourceFile
from core.ingest.genomic_rows import SampleLink, VariantCall, add_variant, patient_oncotree, resolve_sample

REQUIRED = ("Hugo_Symbol", "Chromosome", "Start_Position", "Reference_Allele", "Tumor_Seq_Allele2",
            "Tumor_Sample_Barcode")
_ALLELE = re.compile(r"^(?:-|[ACGTNacgtn]+)$")


def _cell(row: dict[str, str], key: str) -> str | None:
    v = (row.get(key) or "").strip()
    return None if v in ("", ".", "NA", "N/A") else v


def _int(row: dict[str, str], key: str) -> int | None:
    v = _cell(row, key)
    if v is None:
        return None
    if not v.lstrip("-").isdigit():
        raise ValueError(f"{key} is not an integer")
    return int(v)


class MafIngester:
    kind = "maf"
    extractor = "core.ingest.maf"
    version = "1.0"
    priority = 40

    def detect(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8", "replace")
        first = next((ln for ln in text.splitlines() if ln and not ln.startswith("#")), "")
        cols = first.split("\t")
        return "Hugo_Symbol" in cols and "Tumor_Sample_Barcode" in cols

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        lines = src.read_bytes().decode("utf-8-sig", errors="replace").splitlines()
        hdr = next((i for i, ln in enumerate(lines) if ln and not ln.startswith("#")), None)
        if hdr is None:
            raise IngestError(src.uri, "line 1", "no MAF header line (Hugo_Symbol, Chromosome, ...)")
        columns = lines[hdr].split("\t")
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise IngestError(src.uri, f"line {hdr + 1}", f"MAF lacks required columns {missing}")
        links: dict[str, SampleLink | None] = {}
        skipped: dict[str, int] = {}
        reader = csv.reader(io.StringIO("\n".join(lines[hdr + 1:])), delimiter="\t", quoting=csv.QUOTE_NONE)
        for offset, cells in enumerate(reader):
            lineno = hdr + 2 + offset
            if not cells or not any(c.strip() for c in cells) or cells[0].startswith("#"):
                continue
            loc = f"line {lineno}"
            if len(cells) != len(columns):
                ctx.error(src, IngestError(src.uri, loc, f"expected {len(columns)} tab-separated columns, "
                                           f"found {len(cells)}", error_type="MalformedMafLine"))
                continue
            row = dict(zip(columns, cells))
            barcode = (row["Tumor_Sample_Barcode"] or "").strip()
            if barcode not in links:
                try:
                    links[barcode] = resolve_sample(ctx, src, barcode, loc, "Tumor_Sample_Barcode")
                except IngestError as e:
                    ctx.error(src, e)
                    links[barcode] = None
            link = links[barcode]
            if link is None:
                skipped[barcode] = skipped.get(barcode, 0) + 1
                continue
            try:
                call = self._call(row, link)
            except ValueError as e:
                ctx.error(src, IngestError(src.uri, loc, str(e), error_type="MalformedMafLine"))
                continue
            add_variant(ctx, src, INGESTER, link, call, loc, patient_oncotree(ctx.con, link.patient_id))

    def _call(self, row: dict[str, str], link: SampleLink) -> VariantCall:
        chrom = _cell(row, "Chromosome")
        start = _int(row, "Start_Position")
        ref = _cell(row, "Reference_Allele") or "-"
        alt = _cell(row, "Tumor_Seq_Allele2") or "-"
        if alt == ref:
            alt = _cell(row, "Tumor_Seq_Allele1") or alt
        if not chrom or start is None or start < 1:
            raise ValueError("Chromosome or Start_Position missing or invalid")
        if not _ALLELE.match(ref) or not _ALLELE.match(alt):
            raise ValueError("Reference_Allele / Tumor_Seq_Allele2 are not base strings or '-'")
        build_text = _cell(row, "NCBI_Build")
        build = normalise_build(build_text)
        build_source = "maf NCBI_Build" if build else None
        if build is None:
            build = normalise_build(link.genome_build)
            build_source = "specimen manifest" if build else None
        depth, alt_count, ref_count = _int(row, "t_depth"), _int(row, "t_alt_count"), _int(row, "t_ref_count")
        denom = (ref_count + alt_count) if (ref_count is not None and alt_count is not None) else depth
        vaf = round(alt_count / denom, 4) if alt_count is not None and denom else None
        exon_text = _cell(row, "Exon_Number")
        exon = int(exon_text.split("/")[0]) if exon_text and exon_text.split("/")[0].isdigit() else None
        hugo = _cell(row, "Hugo_Symbol")
        hgvsp = strip_accession(_cell(row, "HGVSp"))
        status = _cell(row, "Mutation_Status")
        return VariantCall(
            genome_build=str(build) if build else None, build_source=build_source, chrom=normalise_chrom(chrom),
            pos=start, ref=ref.upper() if ref != "-" else ref, alt=alt.upper() if alt != "-" else alt,
            hugo_symbol=None if hugo in (None, "Unknown") else hugo,
            variant_classification=_cell(row, "Variant_Classification"), variant_type=_cell(row, "Variant_Type"),
            hgvsc=strip_accession(_cell(row, "HGVSc")), hgvsp=hgvsp,
            protein_change=short_protein(_cell(row, "HGVSp_Short") or hgvsp), exon=exon, depth=depth,
            alt_count=alt_count, vaf=vaf, origin=status.lower() if status else None, filter=_cell(row, "FILTER"),
            annotation_source="MAF")


INGESTER = MafIngester()
