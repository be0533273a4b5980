"""The MatchMiner example trial and the matchengine V2 fixtures, evaluated on hand-written patients."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from trial_store_builder import AS_OF, StoreBuilder

from core.trials.api import criteria_table, match_patient
from core.trials.bulk import match_all

CTML = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "ctml"
ADULT = date(1970, 5, 5)


def add_fixture(b: StoreBuilder, name: str) -> str:
    return b.trial((CTML / name).read_text(), name)


@pytest.fixture
def example_store() -> StoreBuilder:
    """Patients for MatchMiner's example: breast AND age >= 18 AND (PIK3CA H1047R OR any TP53 mutation)."""
    b = StoreBuilder()
    add_fixture(b, "matchminer_engine_trial.example.yml")
    panel = ["PIK3CA", "TP53", "EGFR"]
    # should match
    b.patient("pik3ca_h1047r", sex="female", birth_date=ADULT, oncotree="BRCA")
    b.panel("pik3ca_h1047r", panel); b.variant("pik3ca_h1047r", "PIK3CA", "p.H1047R", level="1")
    b.patient("tp53_idc", sex="female", birth_date=ADULT, oncotree="IDC")        # descendant of Breast
    b.panel("tp53_idc", panel); b.variant("tp53_idc", "TP53", "p.R175H")
    b.patient("tp53_no_panel_list", sex="female", birth_date=ADULT, oncotree="ILC")
    b.variant("tp53_no_panel_list", "TP53", "p.R248Q")                        # a variant shows TP53 was sequenced
    # should not match
    b.patient("pik3ca_e545k", sex="female", birth_date=ADULT, oncotree="IDC")  # other PIK3CA hotspot, TP53 wt
    b.panel("pik3ca_e545k", panel); b.variant("pik3ca_e545k", "PIK3CA", "p.E545K")
    b.patient("lung_h1047r", sex="male", birth_date=ADULT, oncotree="LUAD")
    b.panel("lung_h1047r", panel); b.variant("lung_h1047r", "PIK3CA", "p.H1047R")
    b.patient("minor_tp53", sex="female", birth_date=date(2010, 1, 1), oncotree="IDC")
    b.panel("minor_tp53", panel); b.variant("minor_tp53", "TP53", "p.R273H")
    b.patient("tp53_silent", sex="female", birth_date=ADULT, oncotree="IDC")
    b.panel("tp53_silent", panel); b.variant("tp53_silent", "TP53", "p.R72=", classification="Silent")
    # cannot be decided: not tested is unknown, never "not met"
    b.patient("untested_breast", sex="female", birth_date=ADULT, oncotree="IDC")
    b.patient("egfr_only_panel", sex="female", birth_date=ADULT, oncotree="IDC")
    b.panel("egfr_only_panel", ["EGFR"])
    b.patient("no_age", sex="female", oncotree="IDC")
    b.panel("no_age", panel); b.variant("no_age", "TP53", "p.R175H")
    return b


def test_example_trial_matches_the_right_patients_and_no_others(example_store: StoreBuilder) -> None:
    m = match_all(example_store.con, as_of=AS_OF)
    status = dict(m.select("patient_id", "status").iter_rows())
    assert {p for p, s in status.items() if s == "met"} == {"pik3ca_h1047r", "tp53_idc", "tp53_no_panel_list"}
    assert {p for p, s in status.items() if s == "not met"} == {"pik3ca_e545k", "lung_h1047r", "minor_tp53",
                                                                "tp53_silent"}
    assert {p for p, s in status.items() if s == "unknown"} == {"untested_breast", "egfr_only_panel", "no_age"}


def test_example_criteria_carry_evidence_and_tests(example_store: StoreBuilder) -> None:
    con = example_store.con
    t = criteria_table(con, "pik3ca_h1047r", "00-000", "A", as_of=AS_OF)
    pik3ca = t.filter(pl.col("description") == "PIK3CA p.H1047R mutation").row(0, named=True)
    assert pik3ca["status"] == "met" and pik3ca["evidence_table"] == "variants"
    assert pik3ca["source_uri"] == "test://pik3ca_h1047r/tumor.vcf" and pik3ca["locator"] == "line 10"
    assert pik3ca["match_level"] == "variant" and pik3ca["decisive"]
    tp53 = t.filter(pl.col("description") == "TP53 mutation").row(0, named=True)
    assert tp53["status"] == "not met" and tp53["evidence_table"] == "tested_genes" and not tp53["decisive"]
    assert tp53["match_level"] == "gene"
    u = criteria_table(con, "egfr_only_panel", "00-000", "A", as_of=AS_OF)
    assert u.filter(pl.col("status") == "unknown")["test_to_resolve"].to_list() == ["test PIK3CA", "test TP53"]
    assert set(u.filter(pl.col("status") == "unknown")["reason"]) == {
        "gene not covered by any panel on file: not tested is not negative"}
    ranked = match_patient(con, "pik3ca_h1047r", as_of=AS_OF).row(0, named=True)
    assert (ranked["status"], ranked["match_level"], ranked["priority_reason"]) == ("met", "variant",
                                                                                   "level 1 alteration")


def test_matchengine_v2_braf_v600_arms() -> None:
    b = StoreBuilder()
    add_fixture(b, "matchengineV2_11-112.json")
    for pid, onco in (("mel_v600e", "SKCM"), ("mel_wt", "MEL"), ("uveal_v600k", "UM"), ("mel_untested", "ACRM"),
                      ("crc_v600e", "COAD")):
        b.patient(pid, birth_date=ADULT, oncotree=onco)
    for pid, prot in (("mel_v600e", "p.V600E"), ("uveal_v600k", "p.V600K"), ("crc_v600e", "p.V600E")):
        b.panel(pid, ["BRAF"]); b.variant(pid, "BRAF", prot)
    b.panel("mel_wt", ["BRAF", "NRAS"])
    m = match_all(b.con, as_of=AS_OF)
    got = {(r["patient_id"], r["arm"]): r["status"] for r in m.iter_rows(named=True)}
    assert got == {
        ("mel_v600e", "ARM1"): "met", ("mel_v600e", "ARM2"): "not met",
        ("mel_wt", "ARM1"): "not met", ("mel_wt", "ARM2"): "met",
        ("uveal_v600k", "ARM1"): "met", ("uveal_v600k", "ARM2"): "not met",
        ("mel_untested", "ARM1"): "unknown", ("mel_untested", "ARM2"): "unknown",  # negation of unknown
        ("crc_v600e", "ARM1"): "not met", ("crc_v600e", "ARM2"): "not met",
    }


def test_matchengine_v2_structured_sv() -> None:
    b = StoreBuilder()
    add_fixture(b, "matchengineV2_structured_sv.json")
    b.patient("kif5b_alk", birth_date=ADULT, oncotree="SKCM", sex="female")   # stored ALK + partner KIF5B
    b.panel("kif5b_alk", ["ALK", "TP53"])
    b.variant("kif5b_alk", "ALK", None, category="Structural Variation", classification="Fusion", partner="KIF5B")
    b.patient("tp53_sv", birth_date=ADULT, oncotree="SKCM")                   # excluded by !Structural Variation
    b.panel("tp53_sv", ["ALK", "TP53"])
    b.variant("tp53_sv", "TP53", None, category="Structural Variation", classification="Fusion", partner="ALK")
    b.patient("merkel_man", birth_date=ADULT, oncotree="MCC", sex="male")
    b.panel("merkel_man", ["EML4", "ALK"])
    b.patient("merkel_woman", birth_date=ADULT, oncotree="MCC", sex="female")
    b.panel("merkel_woman", ["EML4", "ALK"])
    m = match_all(b.con, as_of=AS_OF)
    got = {(r["patient_id"], r["arm"]): r["status"] for r in m.iter_rows(named=True)}
    assert got[("kif5b_alk", "DOSE #1")] == "met"
    assert got[("tp53_sv", "DOSE #1")] == "not met"
    assert got[("merkel_man", "DOSE #2")] == "met"       # EML4 tested, no EML4-EML4 SV
    assert got[("merkel_woman", "DOSE #2")] == "not met"
    assert got[("kif5b_alk", "DOSE #2")] == "not met"    # not Merkel cell


def test_matchengine_v2_signatures_and_tmb() -> None:
    b = StoreBuilder()
    add_fixture(b, "matchengineV2_signatures.json")
    b.patient("tobacco").biomarker("tobacco", "tobacco_signature", value_text="Yes")
    b.patient("apobec_no").biomarker("apobec_no", "APOBEC signature", value_text="No")
    b.patient("none")
    m = match_all(b.con, as_of=AS_OF)
    assert dict(m.select("patient_id", "status").iter_rows()) == {"tobacco": "met", "apobec_no": "met",
                                                                   "none": "unknown"}
    b2 = StoreBuilder()
    b2.trial((CTML / "matchengineV2_tmb.json").read_text(), "matchengineV2_tmb.json")
    b2.patient("tmb50").biomarker("tmb50", "TMB", value_num=50)
    b2.patient("none")
    m = match_all(b2.con, as_of=AS_OF)
    assert dict(m.select("patient_id", "status").iter_rows()) == {"tmb50": "met", "none": "unknown"}
    row = m.filter(pl.col("patient_id") == "tmb50").row(0, named=True)
    assert row["n_met"] == 2 and row["n_not_met"] == 3  # >=10, >15 met; <=40, <40, ==40 not met
