"""Outcome definitions (aligned with the model target), Kaplan-Meier and rates, case profiles and comparisons."""
from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from core.models import target
from core.similar.outcomes import (DAYS_PER_MONTH, RESPONSE_LABEL, _first_line, case_outcomes, kaplan_meier,
                                   response_rates)
from core.similar.profile import age_band, compare_profiles, size_band, stage_group


def test_outcomes_use_the_model_target_definitions(hand_con):
    labels = target.outcome_labels(hand_con)
    out = case_outcomes(hand_con).join(labels, on="patient_id")
    hist = out.filter(pl.col("cohort") == "historical")
    assert hist.height > 50
    assert (hist["pfs_months"] * DAYS_PER_MONTH - hist["time_days"]).abs().max() < 1e-6
    assert hist["progressed_12m"].cast(pl.Int64).equals(hist["label"].cast(pl.Int64))
    assert hist["pfs_event"].equals(hist["event"])
    # OS is never shorter than PFS, and a death is an OS event
    assert (hist["os_months"] >= hist["pfs_months"] - 1e-9).all()
    # current cases have no follow-up after their board date
    cur = out.filter(pl.col("cohort") == "current")
    assert cur["pfs_months"].is_null().all() and cur["os_months"].is_null().all()


def test_first_line_groups_a_regimen_skips_biopsies_and_names_adjuvant_drugs():
    idx = pl.DataFrame({"patient_id": ["A", "B", "C"], "index_date": [datetime(2024, 1, 10)] * 3})
    tx = pl.DataFrame({
        "patient_id": ["A", "A", "A", "A", "B", "B", "B", "C", "C"],
        "kind": ["drug", "drug", "drug", "drug", "procedure", "drug", "drug", "drug", "drug"],
        "name": ["pemetrexed", "carboplatin", "pembrolizumab", "docetaxel", "lobectomy", "cisplatin", "vinorelbine",
                 "old drug", "osimertinib"],
        "start_date": [date(2024, 1, 20), date(2024, 1, 20), date(2024, 1, 30), date(2024, 9, 1), date(2024, 2, 1),
                       date(2024, 3, 15), date(2024, 3, 15), date(2023, 1, 1), date(2024, 1, 15)],
        "line": [None] * 9}, schema={"patient_id": pl.Utf8, "kind": pl.Utf8, "name": pl.Utf8, "start_date": pl.Date,
                                     "line": pl.Int32})
    got = {r["patient_id"]: r for r in _first_line(tx, idx).iter_rows(named=True)}
    assert got["A"]["first_line_therapy"] == "carboplatin + pembrolizumab + pemetrexed"
    assert "docetaxel" in got["A"]["therapies"]
    assert got["B"]["first_line_therapy"] == "lobectomy, then cisplatin + vinorelbine"
    assert got["C"]["first_line_therapy"] == "osimertinib"  # a drug from before the board is history
    assert "old drug" not in got["C"]["therapies"]


def test_kaplan_meier_matches_a_hand_computation():
    cases = pl.DataFrame({"pfs_months": [1.0, 2.0, 2.0, 3.0, 4.0, 5.0], "pfs_event": [True, True, False, True, False, True]})
    curve, med = kaplan_meier(cases, "g", "pfs")
    s = dict(zip(curve["time_months"].to_list(), curve["survival"].to_list()))
    # S(1) = 5/6; S(2) = 5/6 * 4/5 = 2/3; S(3) = 2/3 * 2/3 = 4/9; S(5) = 0
    assert s[0.0] == 1.0
    assert s[1.0] == pytest.approx(5 / 6) and s[2.0] == pytest.approx(2 / 3) and s[3.0] == pytest.approx(4 / 9)
    assert s[5.0] == pytest.approx(0.0)
    m = med.row(0, named=True)
    assert m["median_months"] == 3.0 and m["n"] == 6 and m["events"] == 4
    assert curve["at_risk"].to_list()[:3] == [6, 6, 5]
    lone, lone_med = kaplan_meier(cases.head(1), "g", "pfs")
    assert lone.height == 0 and lone_med["median_months"][0] is None


def test_rates_count_only_assessed_cases():
    cases = pl.DataFrame({"best_response": [RESPONSE_LABEL["response"], RESPONSE_LABEL["stable"], None, None],
                          "progressed_12m": [1, None, 0, 0]}, schema={"best_response": pl.Utf8, "progressed_12m": pl.Int8})
    r = {row["measure"]: row for row in response_rates(cases, "g").iter_rows(named=True)}
    assert (r["objective response"]["k"], r["objective response"]["n"]) == (1, 2)
    pd = r["progression or death within 12 months"]
    assert (pd["k"], pd["n"]) == (1, 3) and pd["ci_low"] < 1 / 3 < pd["ci_high"]
    empty = response_rates(cases.clear(), "g")
    assert empty["rate"].is_null().all() and (empty["n"] == 0).all()


@pytest.mark.parametrize("raw,band", [("IIIA", "III"), ("Stage IV", "IV"), ("2", "II"), (None, None), ("", None)])
def test_stage_group(raw, band):
    assert stage_group(raw) == band


def test_bands_hide_exact_values():
    assert age_band(64.9) == "60-69" and age_band(93) == "90+" and age_band(None) is None
    assert size_band(9.9) == "lesion < 10 mm" and size_band(31) == "lesion 30-50 mm" and size_band(float("nan")) is None


def _profile(**kw) -> dict:
    base = {"cancer_type": "lung", "oncotree_code": "LUAD", "stage_group": "IV", "sequenced": True, "drivers": [],
            "tested_driver_genes": ["EGFR", "KRAS", "ALK"], "margin": None, "size_band": None, "age_band": "60-69",
            "smoking": None, "ecog": None, "sex": None, "er": None, "her2": None, "pdl1": None, "msi": None}
    return base | kw


def test_compare_profiles_says_what_is_shared_and_what_differs():
    q = _profile(drivers=["EGFR p.L858R"], margin="spiculated / irregular margin")
    same = compare_profiles(q, _profile(drivers=["EGFR p.L858R"], margin="spiculated / irregular margin"))
    assert same.shared[:3] == ("lung (LUAD)", "stage IV", "EGFR p.L858R") and not same.differs
    other = compare_profiles(q, _profile(drivers=["EGFR p.E746_A750del"], stage_group="III", oncotree_code="LUSC"))
    assert "EGFR-altered" in other.shared and "lung" in other.shared
    assert "stage III (this patient: stage IV)" in other.differs
    assert "EGFR p.E746_A750del (this patient: EGFR p.L858R)" in other.differs
    assert "LUSC (this patient: LUAD)" in other.differs
    kras = compare_profiles(q, _profile(drivers=["KRAS p.G12C"]))
    assert "KRAS p.G12C (this patient: KRAS not found)" in kras.differs
    assert "EGFR not found (this patient: EGFR p.L858R)" in kras.differs


def test_not_tested_is_never_shared_or_called_negative():
    q = _profile(drivers=["ALK fusion"])
    small_panel = compare_profiles(q, _profile(drivers=[], tested_driver_genes=["EGFR", "KRAS"]))
    assert "ALK not tested (this patient: ALK fusion)" in small_panel.differs
    unsequenced = compare_profiles(q, _profile(sequenced=False, drivers=[], tested_driver_genes=[]))
    assert "not sequenced (this patient: ALK fusion)" in unsequenced.differs
    reverse = compare_profiles(_profile(sequenced=False), _profile(drivers=[]))
    assert "no driver found (this patient: not sequenced)" in reverse.differs
    both_unknown = compare_profiles(_profile(sequenced=False), _profile(sequenced=False))
    assert not any("driver" in s for s in both_unknown.shared + both_unknown.differs)
    # a value missing on one side (ER never measured) is neither shared nor different
    er = compare_profiles(_profile(er="ER+"), _profile(er=None))
    assert not any("ER" in s for s in er.shared + er.differs)
