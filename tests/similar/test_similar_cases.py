"""Similar cases on the hand-made store: neighbours, subgroups, filters, PHI, outcomes, map."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from core.similar.search import (COHORT_GROUP, NEIGHBOUR_GROUP, NoCaseVector, SimilarFilters, embedding_map,
                                 nearest, neighbour_outcomes, similar_cases)
from core.store import schema

K = 5


def test_a_patient_is_never_its_own_neighbour_and_neighbours_are_historical(hand, hand_con, hand_index):
    _, truth = hand
    current = set(truth.current)
    for pid in hand_index.cases["patient_id"].to_list():
        for filters in (None, SimilarFilters(same_cancer_type=True)):
            df = similar_cases(hand_con, pid, K, filters=filters, index=hand_index)
            assert pid not in df["patient_id"].to_list()
            assert not current & set(df["patient_id"].to_list())
            assert df.height == K
            assert df["similarity"].to_list() == sorted(df["similarity"].to_list(), reverse=True)
            assert df["rank"].to_list() == list(range(1, K + 1))


def subgroup_concordance(neighbours: dict[str, list[str]], subgroup: dict[str, str],
                         historical: list[str]) -> tuple[float, float]:
    """(mean share of neighbours in the query's subgroup, the same share for random historical cases)."""
    hits, chance = [], []
    for pid, near in neighbours.items():
        hits.append(np.mean([subgroup[n] == subgroup[pid] for n in near]))
        pool = [h for h in historical if h != pid]
        chance.append(np.mean([subgroup[h] == subgroup[pid] for h in pool]))
    return float(np.mean(hits)), float(np.mean(chance))


def test_neighbours_share_the_designed_subgroup_far_more_often_than_chance(hand, hand_con, hand_index):
    _, truth = hand
    hist = hand_index.cases.filter(pl.col("cohort") == "historical")["patient_id"].to_list()
    queries = truth.current + hist[::3]
    near = {pid: similar_cases(hand_con, pid, K, index=hand_index)["patient_id"].to_list() for pid in queries}
    hit, chance = subgroup_concordance(near, truth.subgroup, hist)
    assert chance < 0.2
    assert hit >= 3 * chance and hit >= 0.6, (hit, chance)


def test_why_similar_names_the_shared_driver_and_cancer_type(hand, hand_con, hand_index):
    _, truth = hand
    pid = next(p for p in truth.current if truth.subgroup[p] == "lung_egfr" and p not in truth.unsequenced)
    df = similar_cases(hand_con, pid, K, index=hand_index)
    top = df.row(0, named=True)
    assert "lung (LUAD)" in top["why_similar"]
    assert "EGFR p.L858R" in top["why_similar"]
    assert top["first_line_therapy"] == "osimertinib"
    assert df["n_shared"].min() >= 1


def _all_strings(frame: pl.DataFrame) -> set[str]:
    out: set[str] = set()
    for col, dtype in frame.schema.items():
        if dtype == pl.Utf8:
            out |= {v for v in frame[col].to_list() if v is not None}
        elif dtype == pl.List(pl.Utf8):
            out |= {v for lst in frame[col].to_list() if lst for v in lst}
    return out


def test_no_phi_leaves_through_the_results(hand, hand_con, hand_index):
    _, truth = hand
    phi_cols = set(schema.phi_columns("patients")) | set(schema.phi_columns("notes")) | {"text", "snippet", "author"}
    pid = truth.current[0]
    out = neighbour_outcomes(hand_con, pid, K, index=hand_index)
    emap = embedding_map(hand_con, pid, K, index=hand_index)
    frames = {"neighbours": out.neighbours, "km": out.km, "medians": out.medians, "rates": out.rates,
              "map": emap.points, "cases": hand_index.cases}
    phi_values = set(truth.phi_values)
    for name, frame in frames.items():
        assert not phi_cols & set(frame.columns), name
        assert not [c for c in frame.columns if "date" in c or "birth" in c or "mrn" in c], name
        strings = _all_strings(frame)
        leaked = {s for s in strings for v in phi_values if v in s}
        assert not leaked, (name, sorted(leaked)[:3])


def test_filters_restrict_the_neighbours(hand, hand_con, hand_index):
    _, truth = hand
    cases = hand_index.cases
    pid = next(p for p in truth.current if truth.subgroup[p] == "lung_kras" and p not in truth.unsequenced)
    same_type = similar_cases(hand_con, pid, 20, filters=SimilarFilters(same_cancer_type=True), index=hand_index)
    assert set(same_type["cancer_type"].to_list()) == {"lung"}
    kras = similar_cases(hand_con, pid, 20, filters=SimilarFilters(same_driver=True), index=hand_index)
    assert kras.height > 0 and all("KRAS" in d for d in kras["drivers"].to_list())
    braf = similar_cases(hand_con, pid, 20, filters=SimilarFilters(driver_gene="braf"), index=hand_index)
    assert braf.height > 0 and all("BRAF p.V600E" in d for d in braf["drivers"].to_list())
    osi = similar_cases(hand_con, pid, 50, filters=SimilarFilters(treated_with="Osimertinib"), index=hand_index)
    n_osi = cases.filter(pl.col("therapies").list.contains("osimertinib") & (pl.col("cohort") == "historical")).height
    assert osi.height == n_osi and set(osi["first_line_therapy"].to_list()) == {"osimertinib"}
    nothing = similar_cases(hand_con, pid, 10, filters=SimilarFilters(treated_with="no-such-drug"), index=hand_index)
    assert nothing.height == 0
    # filtered search is exact: it agrees with the unfiltered ranking restricted to the allowed cases
    full = similar_cases(hand_con, pid, 100, index=hand_index)
    expected = full.filter(pl.col("cancer_type") == "lung")["patient_id"].to_list()[:20]
    assert same_type["patient_id"].to_list() == expected


def test_same_driver_for_an_unsequenced_patient_says_why_it_cannot_filter(hand, hand_con, hand_index):
    _, truth = hand
    pid = next(p for p in truth.current if p in truth.unsequenced)
    with pytest.raises(ValueError, match="not sequenced"):
        similar_cases(hand_con, pid, K, filters=SimilarFilters(same_driver=True), index=hand_index)


def test_imaging_kind_only_for_patients_with_imaging(hand, hand_con):
    from core.similar.case_index import case_index

    _, truth = hand
    ci = case_index(hand_con, "imaging")
    assert not set(truth.no_imaging) & set(ci.cases["patient_id"].to_list())
    with pytest.raises(NoCaseVector, match="no imaging"):
        similar_cases(hand_con, truth.no_imaging[0], K, kind="imaging", index=ci)
    with_img = next(p for p in truth.current if p not in truth.no_imaging)
    df = similar_cases(hand_con, with_img, K, kind="imaging", index=ci)
    assert df.height == K and with_img not in df["patient_id"].to_list()
    with pytest.raises(NoCaseVector):
        similar_cases(hand_con, "NOBODY", K, index=ci)


def test_neighbour_outcomes_km_and_rates(hand, hand_con, hand_index):
    _, truth = hand
    out = neighbour_outcomes(hand_con, truth.current[0], 10, index=hand_index)
    assert set(out.km["group"].unique()) == {NEIGHBOUR_GROUP, COHORT_GROUP}
    assert set(out.km["endpoint"].unique()) == {"pfs", "os"}
    for (group, endpoint), g in out.km.group_by("group", "endpoint"):
        s = g.sort("time_months")
        assert s["survival"][0] == 1.0
        assert all(np.diff(s["survival"].to_numpy()) <= 1e-12)  # non-increasing
        assert (s["ci_low"] <= s["survival"] + 1e-9).all() and (s["survival"] <= s["ci_high"] + 1e-9).all()
    n_hist = hand_index.cases.filter(pl.col("cohort") == "historical").height
    med = out.medians.filter((pl.col("group") == COHORT_GROUP) & (pl.col("endpoint") == "pfs")).row(0, named=True)
    assert med["n"] == n_hist and 0 < med["events"] <= n_hist
    nb = out.medians.filter((pl.col("group") == NEIGHBOUR_GROUP) & (pl.col("endpoint") == "pfs")).row(0, named=True)
    assert nb["n"] == 10
    for r in out.rates.iter_rows(named=True):
        assert r["n"] == 0 or r["ci_low"] - 1e-9 <= r["rate"] <= r["ci_high"] + 1e-9
    assert out.filters == "none"


def test_embedding_map_marks_the_patient_and_its_neighbours(hand, hand_con, hand_index):
    _, truth = hand
    pid = truth.current[1]
    emap = embedding_map(hand_con, pid, 7, index=hand_index)
    pts = emap.points
    assert emap.method == "PCA" and emap.kind == "fused"
    assert pts.filter(pl.col("role") == "this patient")["patient_id"].to_list() == [pid]
    near = pts.filter(pl.col("role") == "similar case")
    assert near.height == 7 and near["similarity"].is_not_null().all()
    assert set(near["patient_id"].to_list()) == set(similar_cases(hand_con, pid, 7, index=hand_index)["patient_id"])
    assert pts.height == hand_index.cases.height and pts["x"].is_not_null().all()
    assert nearest(hand_index, pid, 7)[0][1] >= nearest(hand_index, pid, 7)[-1][1]
