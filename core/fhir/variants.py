"""mCODE CancerGeneticVariant / genomics-reporting variant Observations -> ``variants`` rows."""
from __future__ import annotations

import re
from typing import Any

from core.fhir import codes as K
from core.fhir.read import (FieldError, cc_text, clean, codes, codings, first_coding, method_text, resource_date,
                            status_from, value_of)
from core.fhir.rows import Hints, Mapped, Row
from core.store.schema import Modality


def _components(res: dict[str, Any]) -> dict[str, tuple[int, dict[str, Any]]]:
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, comp in enumerate(res.get("component") or []):
        if not isinstance(comp, dict):
            continue
        for code in codes(comp.get("code")):
            out.setdefault(code, (i, comp))
    return out


def gene_symbol(cc: dict[str, Any] | None) -> str | None:
    """HUGO symbol of a gene-studied value: HGNC id table, a symbol-like display, or a known gene name."""
    for c in codings(cc):
        code = str(c.get("code") or "")
        if code in K.HGNC_SYMBOLS:
            return K.HGNC_SYMBOLS[code]
    texts = [cc_text(cc)] + [clean(c.get(k)) for k in ("display", "code") for c in codings(cc)]
    for t in texts:
        if t and K.SYMBOL_RE.match(t) and not t.startswith("HGNC"):
            return t
        if t and t.lower() in K.GENE_NAMES:
            return K.GENE_NAMES[t.lower()]
    return None


def _classification(protein_change: str | None) -> str | None:
    if not protein_change:
        return None
    p = protein_change[2:] if protein_change.startswith("p.") else protein_change
    if "fs" in p:
        return None  # Frame_Shift_Del or _Ins: the protein notation alone cannot tell
    if re.fullmatch(r"[A-Z*]\d+\*", p):
        return "Nonsense_Mutation"
    if re.fullmatch(r"[A-Z]\d+[A-Z]", p):
        return "Missense_Mutation"
    if p.endswith("del"):
        return "In_Frame_Del"
    if "ins" in p or p.endswith("dup"):
        return "In_Frame_Ins"
    return None


def map_variant(res: dict[str, Any], hints: Hints | None = None) -> Mapped:
    """mCODE / genomics-reporting variant -> ``variants`` (a reported absence -> a negative biomarker row)."""
    hints = hints or Hints()
    comps = _components(res)
    out = Mapped()
    gene_cc = comps.get(K.LOINC_GENE_STUDIED, (0, {}))[1].get("valueCodeableConcept")
    gene = gene_symbol(gene_cc)
    _, vtext, _, vcc = value_of(res)
    status = status_from(vcc, vtext) if (vcc or vtext) else None

    def comp_text(code: str) -> str | None:
        if code not in comps:
            return None
        i, comp = comps[code]
        _, text, _, cc = value_of(comp, f"component[{i}]")
        return clean(text) if cc is None else clean((first_coding(cc) or {}).get("code")) or cc_text(cc)

    hgvsc, hgvsp, hgvsg = comp_text(K.LOINC_HGVS_C), comp_text(K.LOINC_HGVS_P), comp_text(K.LOINC_HGVS_G)
    discrete = None
    if K.LOINC_DISCRETE_VARIANT in comps:
        dcc = comps[K.LOINC_DISCRETE_VARIANT][1].get("valueCodeableConcept")
        discrete = " ".join(filter(None, [cc_text(dcc)] + [clean(c.get("display")) for c in codings(dcc)]))
        hgvsc = hgvsc or (m.group(0) if (m := re.search(r"c\.[^\s)(]+", discrete)) else None)
        hgvsp = hgvsp or (m.group(0) if (m := re.search(r"p\.[A-Za-z0-9_*=]+", discrete)) else None)
        if gene is None and (m := re.search(r"\(([A-Z0-9-]+)\):", discrete)):
            gene = m.group(1)
    if gene is None:
        raise FieldError(f"component[{comps.get(K.LOINC_GENE_STUDIED, ('?',))[0]}]",
                         "gene studied (LOINC 48018-6) missing or not a known HGNC symbol/id; "
                         "add it to HGNC_SYMBOLS in core/fhir/codes.py")
    observed = resource_date(res)
    if status == "negative":
        out.rows.append(Row("biomarkers", {"name": f"{gene} mutation", "value_num": None, "value_text": vtext,
                                           "unit": None, "status": "negative", "method": method_text(res, None)},
                            Modality.GENOMICS, observed))
        return out
    build = None
    if K.LOINC_ASSEMBLY in comps:
        acc = comps[K.LOINC_ASSEMBLY][1].get("valueCodeableConcept")
        build = next((K.ASSEMBLY_ANSWERS[c] for c in codes(acc) if c in K.ASSEMBLY_ANSWERS), None) or cc_text(acc)
    chrom = pos = ref = alt = None
    if hgvsg:
        accession, _, g = hgvsg.partition(":")
        chrom_, build_g = K.build_from_refseq(accession.strip())
        chrom = chrom_ or None
        build = build or build_g
        if m := re.fullmatch(r"g\.(\d+)([ACGT])>([ACGT])", g.strip()):
            pos, ref, alt = int(m.group(1)), m.group(2), m.group(3)
    vaf = None
    if K.LOINC_ALLELE_FREQ in comps:
        i, comp = comps[K.LOINC_ALLELE_FREQ]
        vaf, _, unit, _ = value_of(comp, f"component[{i}]")
        if vaf is not None and (unit == "%" or vaf > 1):
            vaf = vaf / 100.0
    origin = None
    if K.LOINC_GENOMIC_SOURCE in comps:
        scc = comps[K.LOINC_GENOMIC_SOURCE][1].get("valueCodeableConcept")
        origin = next((K.GENOMIC_SOURCE_ANSWERS[c] for c in codes(scc) if c in K.GENOMIC_SOURCE_ANSWERS), None) \
            or (cc_text(scc) or "").lower() or None
    protein = K.protein_short(hgvsp) if hgvsp else None
    if not (hgvsc or hgvsp or hgvsg):
        out.warnings.append(f"{gene} variant reported without HGVS (c./p./g.); stored with the gene only")
    out.rows.append(Row("variants", {
        "specimen_id": hints.specimen_id, "sample_id": hints.sample_id, "genome_build": build or "unknown",
        "chrom": chrom, "pos": pos, "ref": ref, "alt": alt, "hugo_symbol": gene, "variant_category": "MUTATION",
        "variant_classification": _classification(protein), "hgvsc": hgvsc, "hgvsp": hgvsp,
        "protein_change": protein, "vaf": vaf, "origin": origin, "annotation_source": "fhir",
    }, Modality.GENOMICS, observed))
    return out
