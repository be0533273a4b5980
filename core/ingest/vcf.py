"""VCF ingest (cyvcf2): somatic small variants, copy-number and structural calls, TMB / MSI header lines.

Annotation comes from the record's own INFO (SnpEff ANN, VEP CSQ, legacy SnpEff EFF, in
that order of preference); an unannotated call is looked up in the curated hotspot table
for its genome build, and otherwise lands with ``hugo_symbol`` NULL and
``annotation_source`` 'none'. Positions and alleles are stored MAF-style (see
``core/genomics/alleles.py``). The locator of every row is ``line N`` (1-based, header
lines counted).
"""
from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cyvcf2
import numpy as np

from core.genomics import hotspots
from core.genomics.alleles import vcf_to_maf, vep_allele
from core.genomics.annotations import FUSION_TERMS, Annotation, choose, parse_ann, parse_csq, parse_eff
from core.genomics.builds import normalise_build, normalise_chrom
from core.genomics.consequences import maf_classification
from core.genomics.structural import GENE_KEYS, PARTNER_KEYS, StructuralCall, VariantCategory, classify
from core.ingest.base import IngestContext, IngestError, SourceFile, stable_id
from core.ingest.genomic_rows import (SampleLink, VariantCall, add_variant, is_normal_name, patient_oncotree,
                                      resolve_sample)
from core.ingest.vcf_lines import VcfHeader, check_line, htslib_quiet, parse_header, read_lines
from core.store.schema import Modality

logger = logging.getLogger(__name__)

MISSING_INT = np.iinfo(np.int32).min        # htslib missing value in integer FORMAT arrays
FUSION_DRIVERS = frozenset({"ALK", "ROS1", "RET", "NTRK1", "NTRK2", "NTRK3", "FGFR1", "FGFR2", "FGFR3", "BRAF",
                            "NRG1", "MET", "EGFR", "ERBB2", "ABL1", "PDGFRA", "PDGFRB", "JAK2", "NUTM1"})


@dataclass(frozen=True)
class TumourSample:
    column: int            # 0-based index among the VCF's sample columns
    link: SampleLink
    build: str | None
    build_source: str | None
    oncotree: str | None


class VcfIngester:
    kind = "vcf"
    extractor = "core.ingest.vcf"
    version = "1.0"
    priority = 40

    def detect(self, path: Path, head: bytes) -> bool:
        name = path.name.lower()
        if name.endswith((".vcf.gz", ".vcf.bgz")):
            return head[:2] == b"\x1f\x8b"
        return name.endswith(".vcf") or head.startswith(b"##fileformat=VCF")

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        lines = read_lines(src.path)
        header = parse_header(lines, src)
        tumours = self._tumour_samples(ctx, src, header)
        if not tumours:
            return
        good: list[int] = []  # 0-based indexes of well-formed data lines
        for i in range(header.chrom_line, len(lines)):
            if not lines[i].strip():
                continue
            reason = check_line(lines[i], header)
            if reason:
                ctx.error(src, IngestError(src.uri, f"line {i + 1}", reason, error_type="MalformedVcfLine"))
            else:
                good.append(i)
        n_data = len(lines) - header.chrom_line
        origin = "somatic" if any(is_normal_name(s) for s in header.samples) else None
        for lineno, rec in _records(ctx, src, lines, header, good, clean=len(good) == n_data):
            self._record(ctx, src, header, tumours, lineno, rec, lines[lineno - 1], origin)
        self._biomarkers(ctx, src, header, tumours)

    # ---- samples --------------------------------------------------------------------------------
    def _tumour_samples(self, ctx: IngestContext, src: SourceFile, header: VcfHeader) -> list[TumourSample]:
        loc = f"line {header.chrom_line}"
        if not header.samples:
            raise IngestError(src.uri, loc, "VCF has no sample columns, so it cannot be linked to a patient; "
                              "write the tumour sample column and list it in a specimen manifest")
        out = []
        for col, name in enumerate(header.samples):
            if is_normal_name(name):
                continue
            try:
                link = resolve_sample(ctx, src, name, f"{loc}, sample column {col + 1}", "sample")
            except IngestError as e:
                ctx.error(src, e)
                continue
            if link.is_normal:
                continue
            build, how = self._build(ctx, src, header, link)
            out.append(TumourSample(col, link, build, how, patient_oncotree(ctx.con, link.patient_id)))
        return out

    def _build(self, ctx: IngestContext, src: SourceFile, header: VcfHeader,
               link: SampleLink) -> tuple[str | None, str | None]:
        manifest = normalise_build(link.genome_build)
        if header.build is not None:
            if manifest is not None and manifest != header.build:
                ctx.error(src, IngestError(src.uri, f"line {header.chrom_line}",
                                           f"genome build in the VCF header ({header.build}) differs from the specimen "
                                           f"manifest ({manifest}) for sample {link.sample_id!r}; using the VCF header",
                                           error_type="BuildMismatch", severity="warning"))
            return str(header.build), f"vcf header ({header.build_how})"
        if manifest is not None:
            return str(manifest), "specimen manifest"
        ctx.error(src, IngestError(src.uri, f"line {header.chrom_line}",
                                   f"no genome build in the VCF header or the manifest for sample {link.sample_id!r}; "
                                   "hotspot lookup skipped (add genome_build to the manifest)",
                                   error_type="UnknownBuild", severity="warning"))
        return None, None

    # ---- one record ------------------------------------------------------------------------------
    def _record(self, ctx: IngestContext, src: SourceFile, header: VcfHeader, tumours: list[TumourSample],
                lineno: int, rec: cyvcf2.Variant, raw: str, origin: str | None) -> None:
        alts: list[str] = rec.ALT
        if not alts:
            return
        filt = raw.split("\t", 7)[6]
        filt = None if filt == "." else filt
        info = rec.INFO
        svtype = info.get("SVTYPE")
        info_cn = _number(info.get("CN"))
        partner_info = _first_info(info, PARTNER_KEYS)
        genes_info = _gene_list(_first_info(info, GENE_KEYS))
        rec_origin = "somatic" if info.get("SOMATIC") else ("germline" if info.get("GERMLINE") else origin)
        gts = _genotypes(rec, len(header.samples))
        ad, dp, af = _fmt(rec, "AD"), _fmt(rec, "DP"), _fmt(rec, "AF")
        fmt_cn = _fmt(rec, "CN")
        for ai, alt in enumerate(alts, start=1):
            ann = self._annotation(header, info, rec.REF, alt, alts)
            fusion = ann is not None and bool(set(ann.consequences) & FUSION_TERMS)
            for t in tumours:
                gt = gts[t.column] if gts is not None else None
                cn = info_cn if info_cn is not None else _cell(fmt_cn, t.column, 0)
                sv = classify(alt, svtype, cn, fusion)
                if not _called(gt, ai, structural=sv is not None):
                    continue
                depth, alt_count, vaf = _counts(ad, dp, af, t.column, ai)
                base = dict(filter=filt, origin=rec_origin, depth=depth, alt_count=alt_count, vaf=vaf,
                            genome_build=t.build, build_source=t.build_source)
                if sv is None:
                    call = self._small_variant(normalise_chrom(rec.CHROM), rec.POS, rec.REF, alt, ann, t.build, base)
                    add_variant(ctx, src, INGESTER, t.link, call, f"line {lineno}", t.oncotree)
                else:
                    for call in self._structural(normalise_chrom(rec.CHROM), rec.POS, rec.REF, alt, sv, ann,
                                                 genes_info, partner_info, base):
                        add_variant(ctx, src, INGESTER, t.link, call, f"line {lineno}", t.oncotree)

    def _annotation(self, header: VcfHeader, info: Any, ref: str, alt: str, alts: list[str]) -> Annotation | None:
        key = header.annotation
        value = info.get(key) if key else None
        if not value:
            return None
        value = str(value)
        if key == "ANN":
            return choose(parse_ann(value, alt, len(alts)))
        if key == "CSQ":
            return choose(parse_csq(value, header.csq_fields, vep_allele(ref, alt, alts), len(alts)))
        return choose(parse_eff(value))

    def _small_variant(self, chrom: str, pos: int, ref: str, alt: str, ann: Annotation | None, build: str | None,
                       base: dict[str, Any]) -> VariantCall:
        m = vcf_to_maf(pos, ref, alt)
        call = VariantCall(chrom=chrom, pos=m.start, ref=m.ref, alt=m.alt, variant_type=m.variant_type, **base)
        if ann is not None:
            return replace(call, hugo_symbol=ann.gene,
                           variant_classification=maf_classification(ann.consequence, m.variant_type, m.inframe),
                           hgvsc=ann.hgvsc, hgvsp=ann.hgvsp, protein_change=ann.protein_change, exon=ann.exon,
                           annotation_source=ann.source)
        hs = hotspots.lookup(build, chrom, pos, ref, alt)
        if hs is not None:
            return replace(call, hugo_symbol=hs.hugo_symbol, variant_classification=hs.variant_classification,
                           hgvsc=hs.hgvsc, protein_change=hs.protein_change, exon=hs.exon,
                           annotation_source="hotspot")
        return call

    def _structural(self, chrom: str, pos: int, ref: str, alt: str, sv: StructuralCall, ann: Annotation | None,
                    genes_info: list[str], partner_info: str | None, base: dict[str, Any]) -> list[VariantCall]:
        if sv.category == VariantCategory.CNV and sv.cnv_call is None:
            return []  # copy-neutral segment: not an alteration
        genes = genes_info or ([ann.gene] if ann and ann.gene else [])
        call = VariantCall(chrom=chrom, pos=pos, ref=ref, alt=alt, variant_category=str(sv.category),
                           variant_type=sv.svtype, cnv_call=sv.cnv_call,
                           annotation_source=ann.source if ann else ("INFO" if genes else "none"), **base)
        if sv.category == VariantCategory.SV:
            partner = partner_info or (ann.partner if ann else None) or (genes[1] if len(genes) > 1 else None)
            gene = genes[0] if genes else None
            if partner and gene and partner in FUSION_DRIVERS and gene not in FUSION_DRIVERS:
                gene, partner = partner, gene  # the kinase is the gene a trial or a drug names
            return [replace(call, hugo_symbol=gene, sv_partner=partner,
                            variant_classification="Fusion" if partner else None)]
        return [replace(call, hugo_symbol=g) for g in genes] or [call]

    # ---- TMB / MSI -------------------------------------------------------------------------------
    def _biomarkers(self, ctx: IngestContext, src: SourceFile, header: VcfHeader, tumours: list[TumourSample]) -> None:
        rows: list[tuple[int, dict[str, Any]]] = []
        if "tmb" in header.extras:
            lineno, text = header.extras["tmb"]
            value = _number(text.split()[0] if text.split() else "")
            if value is None:
                ctx.error(src, IngestError(src.uri, f"line {lineno}", "##tmb value is not a number",
                                           error_type="MalformedVcfLine", severity="warning"))
            else:
                rows.append((lineno, {"name": "TMB", "value_num": value, "unit": "mut/Mb",
                                      "status": "high" if value >= 10 else "low"}))
        msi_key = "msi_status" if "msi_status" in header.extras else ("msi" if "msi" in header.extras else None)
        if msi_key:
            lineno, text = header.extras[msi_key]
            label = _msi_label(text)
            if label is None:
                ctx.error(src, IngestError(src.uri, f"line {lineno}", "##msi_status is not MSI-H, MSI-L or MSS",
                                           error_type="MalformedVcfLine", severity="warning"))
            else:
                rows.append((lineno, {"name": "MSI", "value_text": label,
                                      "status": "positive" if label == "MSI-H" else "negative"}))
        if "msi_score" in header.extras:
            lineno, text = header.extras["msi_score"]
            value = _number(text)
            if value is not None:
                rows.append((lineno, {"name": "MSI score", "value_num": value}))
        for t in tumours:
            for lineno, row in rows:
                prov = ctx.provenance(src, INGESTER, patient_id=t.link.patient_id, modality=Modality.GENOMICS,
                                      locator=f"line {lineno}", observed_at=t.link.collected_at)
                ctx.add("biomarkers", {**prov, **row, "method": "NGS",
                                       "biomarker_id": stable_id(src.sha256, t.link.specimen_id, row["name"])})


# ---- cyvcf2 iteration -----------------------------------------------------------------------------
def _records(ctx: IngestContext, src: SourceFile, lines: list[str], header: VcfHeader, good: list[int],
             clean: bool) -> Iterator[tuple[int, cyvcf2.Variant]]:
    """(1-based line number, record) for every good line; a line htslib still rejects becomes an error.

    Raises:
        IngestError: htslib cannot read the header at all.
    """
    remaining = good
    while remaining:
        path = src.path if clean else _write_temp(lines, header, remaining)
        done = 0
        try:
            with htslib_quiet():
                try:
                    reader = cyvcf2.VCF(str(path))  # lazy=True segfaults on .FORMAT then .genotypes (cyvcf2 0.35)
                except Exception as e:
                    raise IngestError(src.uri, f"line {header.chrom_line}",
                                      "htslib cannot read this VCF header") from e
                stopped = False
                try:
                    it = iter(reader)
                    while True:
                        try:
                            rec = next(it)
                        except StopIteration:
                            break
                        except Exception:  # htslib gives no detail: the line it stopped at is at fault
                            logger.debug("cyvcf2 stopped at line %d", remaining[done] + 1, exc_info=True)
                            stopped = True
                            break
                        yield remaining[done] + 1, rec
                        done += 1
                finally:
                    reader.close()
        finally:
            if not clean:
                os.unlink(path)
        if not stopped:
            return
        ctx.error(src, IngestError(src.uri, f"line {remaining[done] + 1}", "htslib cannot parse this record",
                                   error_type="MalformedVcfLine"))
        remaining = remaining[done + 1:]
        clean = False


def _write_temp(lines: list[str], header: VcfHeader, keep: list[int]) -> Path:
    fd, name = tempfile.mkstemp(suffix=".vcf", prefix="tb-vcf-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines[: header.chrom_line]))
        fh.write("\n")
        for i in keep:
            fh.write(lines[i])
            fh.write("\n")
    return Path(name)


# ---- small helpers ---------------------------------------------------------------------------------
def _number(v: Any) -> float | None:
    if v is None:
        return None
    try:
        x = float(v[0] if isinstance(v, tuple) else v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _first_info(info: Any, keys: tuple[str, ...]) -> str | None:
    for k in keys:
        v = info.get(k)
        if v not in (None, "", "."):
            return str(v[0] if isinstance(v, tuple) else v)
    return None


def _gene_list(text: str | None) -> list[str]:
    if not text:
        return []
    parts = [g.strip() for g in text.replace("|", ",").replace("&", ",").split(",")]
    return list(dict.fromkeys(g for g in parts if g and g != "."))[:50]


def _genotypes(rec: cyvcf2.Variant, n: int) -> list[list[int]] | None:
    """Allele indexes per sample (-1 missing), or None when the record has no GT."""
    if "GT" not in rec.FORMAT:
        return None
    return [g[:-1] for g in rec.genotypes]


def _called(gt: list[int] | None, allele: int, structural: bool) -> bool:
    """Does the sample carry this ALT? Without GT (or with a missing GT on a CNV/SV call) the record is the call."""
    if gt is None:
        return True
    if all(a < 0 for a in gt):
        return structural
    return allele in gt


def _fmt(rec: cyvcf2.Variant, key: str) -> np.ndarray | None:
    return rec.format(key) if key in rec.FORMAT else None


def _cell(arr: np.ndarray | None, row: int, col: int) -> float | None:
    if arr is None or row >= arr.shape[0] or col >= arr.shape[1]:
        return None
    v = arr[row, col]
    if arr.dtype.kind == "i":
        return None if v <= MISSING_INT + 1 else float(v)
    if arr.dtype.kind == "f":
        return None if math.isnan(v) else float(v)
    return None


def _counts(ad: np.ndarray | None, dp: np.ndarray | None, af: np.ndarray | None, row: int,
            allele: int) -> tuple[int | None, int | None, float | None]:
    """(depth, alt_count, vaf) as vcf2maf reports them: depth = DP, else the sum of AD; VAF = AF, else AD."""
    alt_count = _cell(ad, row, allele)
    ref_count = _cell(ad, row, 0)
    depth = _cell(dp, row, 0)
    if depth is None and ad is not None:
        vals = [_cell(ad, row, j) for j in range(ad.shape[1])]
        known = [v for v in vals if v is not None]
        depth = sum(known) if known else None
    vaf = _cell(af, row, allele - 1)
    if vaf is None and alt_count is not None:
        denom = (ref_count + alt_count) if ref_count is not None else depth
        vaf = alt_count / denom if denom else None
    return (int(depth) if depth is not None else None, int(alt_count) if alt_count is not None else None,
            round(vaf, 4) if vaf is not None else None)


def _msi_label(text: str) -> str | None:
    t = text.strip().upper().replace("_", "-")
    if t in ("MSI-H", "MSIH", "MSI-HIGH", "HIGH", "UNSTABLE"):
        return "MSI-H"
    if t in ("MSI-L", "MSIL", "MSI-LOW", "LOW"):
        return "MSI-L"
    if t in ("MSS", "STABLE", "MS-STABLE"):
        return "MSS"
    return None


INGESTER = VcfIngester()
