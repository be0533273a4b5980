"""Similar cases on the generated demo cohort (built once per session by `build-demo`, with its truth tables)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core.similar.case_index import case_index, index_dir
from core.similar.search import embedding_map, neighbour_outcomes, similar_cases
from core.store import db, schema
from core.store.queries import frame

K = 5


@pytest.fixture
def truth(demo_store) -> pl.DataFrame:
    path = Path(os.environ["TB_DEMO_DIR"]) / "truth" / "patients.parquet"
    return pl.read_parquet(path).select("patient_id", "subgroup").filter(pl.col("patient_id").is_not_null())


def test_build_demo_indexed_the_store(demo_store):
    folder = index_dir(demo_store)
    version = db.current_version()
    for kind in ("fused", "imaging"):
        files = sorted(folder.glob(f"{kind}-*{version.removesuffix('.duckdb')}*"))
        assert len(files) == 4, f"build-demo post-build step wrote no {kind} index for {version}"
    ci = case_index(demo_store, "fused")
    assert ci.meta.store_version == version
    assert ci.meta.map_method == "UMAP"  # >= 15 cases
    n_hist = frame(demo_store, "SELECT count(*) AS n FROM patients WHERE cohort = 'historical'")["n"][0]
    assert ci.meta.n_indexed == n_hist


def test_neighbours_share_the_generator_subgroup_far_more_often_than_chance(demo_store, truth):
    ci = case_index(demo_store, "fused")
    subgroup = dict(zip(truth["patient_id"].to_list(), truth["subgroup"].to_list()))
    cases = ci.cases.filter(pl.col("patient_id").is_in(list(subgroup)))
    hist = cases.filter(pl.col("cohort") == "historical")["patient_id"].to_list()
    hits, chance = [], []
    for pid in cases["patient_id"].to_list():
        near = similar_cases(demo_store, pid, K, index=ci)["patient_id"].to_list()
        assert pid not in near and set(near) <= set(hist)
        hits.append(np.mean([subgroup[n] == subgroup[pid] for n in near]))
        chance.append(np.mean([subgroup[h] == subgroup[pid] for h in hist if h != pid]))
    hit, base = float(np.mean(hits)), float(np.mean(chance))
    assert hit >= 2 * base, f"subgroup concordance {hit:.2f} vs chance {base:.2f}"


def _text(df: pl.DataFrame) -> str:
    """Every string value of ``df`` (plain and list columns), one per line."""
    out: list[str] = []
    for col, dtype in df.schema.items():
        if dtype == pl.Utf8:
            out += [v for v in df[col].to_list() if v]
        elif dtype == pl.List(pl.Utf8):
            out += [v for lst in df[col].to_list() if lst for v in lst]
    return "\n".join(out)


def test_no_phi_value_of_the_store_appears_in_the_results(demo_store):
    phi = set()
    for table in ("patients", "patient_identifiers", "imaging_instances"):
        for col in schema.phi_columns(table, (schema.Phi.DIRECT,)):
            vals = frame(demo_store, f'SELECT DISTINCT CAST("{col}" AS VARCHAR) AS v FROM {table} WHERE "{col}" IS NOT NULL')
            phi |= {v for v in vals["v"].to_list() if v and len(v) >= 4}
    assert phi, "the demo store should hold PHI to protect"
    current = frame(demo_store, "SELECT patient_id FROM patients WHERE cohort = 'current'")["patient_id"].to_list()
    ci = case_index(demo_store, "fused")
    for pid in current:
        out = neighbour_outcomes(demo_store, pid, K, index=ci)
        emap = embedding_map(demo_store, pid, K, index=ci)
        for name, df in {"neighbours": out.neighbours, "map": emap.points, "medians": out.medians,
                         "rates": out.rates}.items():
            text = _text(df)
            leaked = [v for v in phi if v in text]
            assert not leaked, (name, len(leaked))
    cases_text = _text(ci.cases)
    assert not [v for v in phi if v in cases_text]
    assert not set(schema.phi_columns("patients")) & set(ci.cases.columns)
