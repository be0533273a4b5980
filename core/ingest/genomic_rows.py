"""What VCF and MAF ingest share: linking a sample to its specimen and patient, and writing a variant row."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import duckdb

from core.genomics.actionability import assess
from core.genomics.alterations import VariantFacts
from core.ingest.base import IngestContext, IngestError, Ingester, SourceFile, stable_id
from core.store.schema import Modality

NORMAL_TYPE = re.compile(r"normal|germline|blood|buffy|saliva", re.I)


@dataclass(frozen=True)
class SampleLink:
    """A sequencing sample resolved through ``specimens.sample_id``."""

    sample_id: str
    specimen_id: str
    patient_id: str
    genome_build: str | None
    specimen_type: str | None
    collected_at: datetime | None

    @property
    def is_normal(self) -> bool:
        return bool(self.specimen_type and NORMAL_TYPE.search(self.specimen_type))


def is_normal_name(sample_id: str) -> bool:
    """Sample names such as NORMAL, PT1_normal, or *-N-BLOOD are matched normals, not tumours."""
    return "NORMAL" in sample_id.upper()


def find_sample(con: duckdb.DuckDBPyConnection, sample_id: str) -> list[SampleLink]:
    """Every specimen registered under ``sample_id`` (zero, one, or several when ambiguous)."""
    rows = con.execute("SELECT specimen_id, patient_id, genome_build, specimen_type, observed_at FROM specimens "
                       "WHERE sample_id = ? ORDER BY specimen_id", [sample_id]).fetchall()
    return [SampleLink(sample_id, *r) for r in rows]


def resolve_sample(ctx: IngestContext, src: SourceFile, sample_id: str, locator: str, column: str) -> SampleLink:
    """The one specimen of ``sample_id``.

    Raises:
        IngestError: the sample is in no specimen manifest, or in several (never a guess).
    """
    links = find_sample(ctx.con, sample_id)
    uniq = {link.specimen_id: link for link in links}
    if not uniq:
        raise IngestError(src.uri, locator,
                          f"{column} {sample_id!r} is not in any specimen manifest; add it to a manifest "
                          "(data/manifests/, columns sample_id,specimen_id,patient_system,patient_identifier,...) "
                          "and re-run", error_type="UnknownSample")
    if len(uniq) > 1:
        raise IngestError(src.uri, locator, f"{column} {sample_id!r} belongs to {len(uniq)} specimens; "
                          "give each specimen a distinct sample_id", error_type="AmbiguousSample")
    return next(iter(uniq.values()))


def patient_oncotree(con: duckdb.DuckDBPyConnection, patient_id: str) -> str | None:
    """The patient's OncoTree code from ``patients``, else from the latest ``conditions`` row, else None."""
    # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result open and refuses the next register()
    rows = con.execute("SELECT oncotree_code FROM patients WHERE patient_id = ?", [patient_id]).fetchall()
    if rows and rows[0][0]:
        return rows[0][0]
    rows = con.execute("SELECT oncotree_code FROM conditions WHERE patient_id = ? AND oncotree_code IS NOT NULL "
                       "ORDER BY observed_at DESC NULLS LAST LIMIT 1", [patient_id]).fetchall()
    return rows[0][0] if rows else None


@dataclass(frozen=True)
class VariantCall:
    """One variant of one sample, before ids, provenance and actionability are attached."""

    genome_build: str | None
    build_source: str | None
    chrom: str
    pos: int
    ref: str
    alt: str
    hugo_symbol: str | None = None
    variant_category: str = "MUTATION"
    variant_classification: str | None = None
    variant_type: str | None = None
    hgvsc: str | None = None
    hgvsp: str | None = None
    protein_change: str | None = None
    exon: int | None = None
    cnv_call: str | None = None
    sv_partner: str | None = None
    vaf: float | None = None
    depth: int | None = None
    alt_count: int | None = None
    origin: str | None = None
    filter: str | None = None
    annotation_source: str = "none"

    def facts(self) -> VariantFacts:
        return VariantFacts(self.hugo_symbol, self.variant_category, self.protein_change,
                            self.variant_classification, self.exon, self.cnv_call, self.sv_partner)


def add_variant(ctx: IngestContext, src: SourceFile, ingester: Ingester, link: SampleLink, call: VariantCall,
                locator: str, oncotree_code: str | None) -> None:
    """Buffer one ``variants`` row with provenance and actionability.

    The id covers the source, so the same call reported by a VCF and a MAF of one specimen is
    two evidence rows, each traceable to its file (``core.genomics.variants.distinct_variants`` merges them).
    """
    act = assess(call.facts(), oncotree_code)
    vid = stable_id(src.sha256, link.specimen_id, call.genome_build, call.chrom, call.pos, call.ref, call.alt,
                    call.hugo_symbol, call.variant_category)
    prov = ctx.provenance(src, ingester, patient_id=link.patient_id, modality=Modality.GENOMICS, locator=locator,
                          observed_at=link.collected_at)
    ctx.add("variants", {**prov, **vars(call), "variant_id": vid, "specimen_id": link.specimen_id,
                         "sample_id": link.sample_id, "actionability_level": act.level,
                         "actionability_note": act.note})
