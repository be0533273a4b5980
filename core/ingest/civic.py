"""CIViC evidence TSV (the 'biomarkers' export): recognised in a batch and loaded into ``civic_evidence``.

Actionability at variant ingest does not read this table: it reads the packaged copy in
data/knowledge/ (core/genomics/actionability.py), so levels never depend on ingest order.
The table lets the dashboard show the evidence items a note cites.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from core.genomics.actionability import civic_levels
from core.ingest.base import IngestContext, IngestError, SourceFile

CIVIC_HEADER = ("genesymbol", "entrezgene", "variant_name")
REQUIRED = ("genesymbol", "variant_name", "evidence_type", "evidence_direction", "evidence_level",
            "clinical_significance", "disease_name", "drug_names", "civic_id")


def _na(v: str | None) -> str | None:
    v = (v or "").strip()
    return None if v in ("", "NA") else v


class CivicIngester:
    kind = "civic"
    extractor = "core.ingest.civic"
    version = "1.0"
    priority = 5

    def detect(self, path: Path, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().split("\t")
        return tuple(first[:3]) == CIVIC_HEADER

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        text = src.read_bytes().decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise IngestError(src.uri, "line 1", f"CIViC TSV lacks columns {missing}")
        seen: set[str] = set()
        for lineno, r in enumerate(reader, start=2):
            cid = _na(r.get("civic_id"))
            if cid is None or None in r:  # DictReader puts surplus cells under the key None
                ctx.error(src, IngestError(src.uri, f"line {lineno}", "missing civic_id or wrong column count",
                                           error_type="MalformedCivicLine"))
                continue
            if cid in seen:
                ctx.error(src, IngestError(src.uri, f"line {lineno}", f"duplicate civic_id {cid}; first kept",
                                           error_type="DuplicateCivicId", severity="warning"))
                continue
            seen.add(cid)
            level_in, level_out = (civic_levels(r["evidence_level"], r["clinical_significance"])
                                   if r["evidence_type"] == "Predictive" and r["evidence_direction"] == "Supports"
                                   else (None, None))
            rating = _na(r.get("rating"))
            ctx.add("civic_evidence", {
                "civic_id": cid, "gene": _na(r["genesymbol"]), "variant_name": _na(r["variant_name"]),
                "evidence_type": _na(r["evidence_type"]), "evidence_direction": _na(r["evidence_direction"]),
                "evidence_level": _na(r["evidence_level"]), "clinical_significance": _na(r["clinical_significance"]),
                "disease_name": _na(r["disease_name"]), "doid": _na(r.get("disease_ontology_id")),
                "drug_names": _na(r["drug_names"]), "drug_interaction_type": _na(r.get("drug_interaction_type")),
                "pubmed_id": _na(r.get("pubmed_id")), "rating": int(rating) if rating and rating.isdigit() else None,
                "alteration_type": _na(r.get("alteration_type")), "mapping_category": _na(r.get("mapping_category")),
                "oncokb_level": level_in, "oncokb_level_other_indication": level_out,
                "source_uri": src.uri, "source_sha256": src.sha256, "ingested_at": ctx.now,
                "ingest_run_id": ctx.run_id,
            })


INGESTER = CivicIngester()
