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
from core.ingest.genomic_rows import (SampleLink, VariantCall, add_variant, find_sample, is_normal_name,
                                      patient_oncotree, resolve_sample)
from core.ingest.vcf_lines import VcfHeader, check_line, parse_header, read_lines, records
from core.ingest.vcf_values import cell, counts, msi_label, number
from core.store.schema import Modality

logger = logging.getLogger(__name__)

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
        for lineno, rec in records(ctx, src, lines, header, good, clean=len(good) == n_data):
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
        if not out and all(is_normal_name(n) or _is_normal_specimen(ctx, n) for n in header.samples):
            ctx.error(src, IngestError(src.uri, loc, "every sample column is a normal (by name or manifest "
                                       "specimen_type); no tumour variants to store", error_type="NoTumourSample",
                                       severity="warning"))
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
        cols = raw.split("\t", 8)
        filt = None if cols[6] == "." else cols[6]
        info_text = cols[7]  # cyvcf2's INFO.get costs ~5 us even for an absent key: look at the text first
        info = rec.INFO
        svtype = info.get("SVTYPE") if "SVTYPE" in info_text else None
        info_cn = number(info.get("CN")) if "CN" in info_text else None
        rec_origin = ("somatic" if "SOMATIC" in info_text and info.get("SOMATIC") else
                      "germline" if "GERMLINE" in info_text and info.get("GERMLINE") else origin)
        keys = rec.FORMAT  # cyvcf2 builds this list on every access: read it once
        gts = [g[:-1] for g in rec.genotypes] if "GT" in keys else None
        ad, dp, af = _fmt(rec, keys, "AD"), _fmt(rec, keys, "DP"), _fmt(rec, keys, "AF")
        fmt_cn = _fmt(rec, keys, "CN")
        chrom = normalise_chrom(rec.CHROM)
        locator = f"line {lineno}"
        for ai, alt in enumerate(alts, start=1):
            ann = (self._annotation(header, info, rec.REF, alt, alts)
                   if header.annotation and header.annotation in info_text else None)
            fusion = ann is not None and bool(set(ann.consequences) & FUSION_TERMS)
            for t in tumours:
                gt = gts[t.column] if gts is not None else None
                cn = info_cn if info_cn is not None else cell(fmt_cn, t.column, 0)
                sv = classify(alt, svtype, cn, fusion)
                if not _called(gt, ai, structural=sv is not None):
                    continue
                depth, alt_count, vaf = counts(ad, dp, af, t.column, ai)
                base = dict(filter=filt, origin=rec_origin, depth=depth, alt_count=alt_count, vaf=vaf,
                            genome_build=t.build, build_source=t.build_source)
                if sv is None:
                    call = self._small_variant(chrom, rec.POS, rec.REF, alt, ann, t.build, base)
                    add_variant(ctx, src, INGESTER, t.link, call, locator, t.oncotree)
                else:
                    genes = _gene_list(_first_info(info, GENE_KEYS))
                    for call in self._structural(chrom, rec.POS, rec.REF, alt, sv, ann, genes,
                                                 _first_info(info, PARTNER_KEYS), base):
                        add_variant(ctx, src, INGESTER, t.link, call, locator, t.oncotree)

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
        if ann is not None:
            return VariantCall(chrom=chrom, pos=m.start, ref=m.ref, alt=m.alt, variant_type=m.variant_type,
                               hugo_symbol=ann.gene,
                               variant_classification=maf_classification(ann.consequence, m.variant_type, m.inframe),
                               hgvsc=ann.hgvsc, hgvsp=ann.hgvsp, protein_change=ann.protein_change, exon=ann.exon,
                               annotation_source=ann.source, **base)
        hs = hotspots.lookup(build, chrom, pos, ref, alt)
        if hs is not None:
            return VariantCall(chrom=chrom, pos=m.start, ref=m.ref, alt=m.alt, variant_type=m.variant_type,
                               hugo_symbol=hs.hugo_symbol, variant_classification=hs.variant_classification,
                               hgvsc=hs.hgvsc, protein_change=hs.protein_change, exon=hs.exon,
                               annotation_source="hotspot", **base)
        return VariantCall(chrom=chrom, pos=m.start, ref=m.ref, alt=m.alt, variant_type=m.variant_type, **base)

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
            value = number(text.split()[0] if text.split() else "")
            if value is None:
                ctx.error(src, IngestError(src.uri, f"line {lineno}", "##tmb value is not a number",
                                           error_type="MalformedVcfLine", severity="warning"))
            else:
                rows.append((lineno, {"name": "TMB", "value_num": value, "unit": "mut/Mb",
                                      "status": "high" if value >= 10 else "low"}))
        msi_key = "msi_status" if "msi_status" in header.extras else ("msi" if "msi" in header.extras else None)
        if msi_key:
            lineno, text = header.extras[msi_key]
            label = msi_label(text)
            if label is None:
                ctx.error(src, IngestError(src.uri, f"line {lineno}", "##msi_status is not MSI-H, MSI-L or MSS",
                                           error_type="MalformedVcfLine", severity="warning"))
            else:
                rows.append((lineno, {"name": "MSI", "value_text": label,
                                      "status": "positive" if label == "MSI-H" else "negative"}))
        if "msi_score" in header.extras:
            lineno, text = header.extras["msi_score"]
            value = number(text)
            if value is not None:
                rows.append((lineno, {"name": "MSI score", "value_num": value}))
        for t in tumours:
            for lineno, row in rows:
                prov = ctx.provenance(src, INGESTER, patient_id=t.link.patient_id, modality=Modality.GENOMICS,
                                      locator=f"line {lineno}", observed_at=t.link.collected_at)
                ctx.add("biomarkers", {**prov, **row, "method": "NGS",
                                       "biomarker_id": stable_id(src.sha256, t.link.specimen_id, row["name"])})


# ---- small helpers ---------------------------------------------------------------------------------
def _is_normal_specimen(ctx: IngestContext, sample_id: str) -> bool:
    links = find_sample(ctx.con, sample_id)
    return bool(links) and all(link.is_normal for link in links)


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


def _called(gt: list[int] | None, allele: int, structural: bool) -> bool:
    """Does the sample carry this ALT? Without GT (or with a missing GT on a CNV/SV call) the record is the call."""
    if gt is None:
        return True
    if all(a < 0 for a in gt):
        return structural
    return allele in gt


def _fmt(rec: cyvcf2.Variant, keys: list[str], key: str) -> np.ndarray | None:
    return rec.format(key) if key in keys else None


INGESTER = VcfIngester()
