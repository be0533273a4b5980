"""CIViC -> OncoKB-style levels: the mapping table, BRAF V600E and EGFR L858R across tumour types."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.genomics.actionability import LEVEL_COLOURS, assess, civic_items, civic_levels, soc_items
from core.genomics.alterations import VariantFacts
from core.genomics.diseases import covers

ROOT = Path(__file__).resolve().parents[2]
V600E = VariantFacts("BRAF", "MUTATION", "p.V600E", "Missense_Mutation", 15)
L858R = VariantFacts("EGFR", "MUTATION", "p.L858R", "Missense_Mutation", 21)


@pytest.mark.parametrize("level, significance, expected", [
    ("A: Validated", "Sensitivity", ("1", "3B")),
    ("B: Clinical evidence", "Sensitivity", ("3A", "3B")),
    ("C: Case study", "Sensitivity", ("4", "4")),
    ("D: Preclinical evidence", "Sensitivity", ("4", "4")),
    ("E: Indirect evidence", "Sensitivity", (None, None)),
    ("A", "Resistance or Non-Response", ("R1", "R2")),
    ("B", "Resistance or Non-Response", ("R1", "R2")),
    ("C", "Resistance or Non-Response", ("R2", "R2")),
    ("D", "Resistance or Non-Response", ("R2", "R2")),
    ("B", "Poor Outcome", (None, None)),
    ("A", "Adverse Response", (None, None)),
])
def test_civic_level_mapping_table(level, significance, expected):
    assert civic_levels(level, significance) == expected


def test_braf_v600e_depends_on_the_tumour_type():
    mel = assess(V600E, "SKCM")
    assert mel.level == "1" and mel.colour == "#33A02C"
    assert "CIVIC_80" in mel.note and "Vemurafenib" in mel.note          # CIViC A in skin melanoma
    crc = assess(V600E, "COAD")
    levels = {lv for lv, _ in crc.matched}
    assert crc.level == "1" and "SOC-09" in crc.note                     # encorafenib + cetuximab label
    assert "R1" in levels and "CIVIC_72" in {it.ref_id for lv, it in crc.matched if lv == "R1"}  # cetuximab resistance
    unknown = assess(V600E, None)
    assert unknown.level == "3B" and unknown.note.startswith("tumour type not on file")


def test_egfr_l858r_is_level_1_in_lung_and_3b_elsewhere():
    luad = assess(L858R, "LUAD")
    assert luad.level == "1" and "Osimertinib" in luad.note and "SOC-01" in luad.note
    assert ("3A", "CIVIC_247") in {(lv, it.ref_id) for lv, it in luad.matched}   # CIViC B in NSCLC
    brca = assess(L858R, "IDC")
    assert brca.level == "3B" and ("3B", "SOC-01") in {(lv, it.ref_id) for lv, it in brca.matched}


def test_resistance_only_and_gene_wide_rules():
    g12d_crc = assess(VariantFacts("KRAS", "MUTATION", "p.G12D", "Missense_Mutation", 2), "READ")
    assert "R1" in {lv for lv, _ in g12d_crc.matched}
    # "any TP53 mutation in CLL" must not give TP53 R175H in lung cancer a level through another indication
    tp53 = assess(VariantFacts("TP53", "MUTATION", "p.R175H", "Missense_Mutation", 5), "LUAD")
    gene_wide = [it for _, it in tp53.matched if it.rule.kind in ("mutation", "truncating")]
    assert all(covers(it.disease_codes, "LUAD") for it in gene_wide)
    assert "Alemtuzumab" not in (tp53.note or "")          # CLL evidence stays in CLL
    silent = assess(VariantFacts("BRAF", "MUTATION", "p.V600=", "Silent", 15), "SKCM")
    assert silent.level is None and silent.note is None


def test_copy_number_and_fusion_rules():
    amp = assess(VariantFacts("ERBB2", "CNV", cnv_call="Amplification"), "BRCA")
    assert amp.level == "1"
    gain = assess(VariantFacts("ERBB2", "CNV", cnv_call="Gain"), "BRCA")
    assert gain.level is None
    fusion = assess(VariantFacts("ALK", "SV", sv_partner="EML4"), "LUAD")
    assert fusion.level == "1" and "Alectinib" in fusion.note


def test_knowledge_tables_parse_completely():
    assert len(civic_items()) > 400
    soc = soc_items()
    assert {it.level_in for it in soc} <= set(LEVEL_COLOURS)


def test_docs_state_the_mapping_and_colours():
    text = (ROOT / "docs" / "ACTIONABILITY.md").read_text()
    for colour in LEVEL_COLOURS.values():
        assert colour in text
    assert "3B" in text and "R1" in text and "CIViC" in text
