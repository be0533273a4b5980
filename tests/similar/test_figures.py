"""Figures and display tables of the similar-cases view (pure functions)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import pytest

from core.similar.figures import (NEIGHBOUR_TABLE_COLUMNS, OUTCOME_COLOURS, embedding_map_figure, km_figure,
                                  neighbour_table, response_figure)
from core.similar.search import COHORT_GROUP, NEIGHBOUR_GROUP, embedding_map, neighbour_outcomes


@pytest.fixture(scope="module")
def outcomes(hand, hand_con, hand_index):
    return neighbour_outcomes(hand_con, hand[1].current[0], 10, index=hand_index)


def test_km_figure_has_a_curve_and_a_band_per_group(outcomes):
    fig = km_figure(outcomes.km, outcomes.medians, "pfs")
    assert isinstance(fig, go.Figure)
    curves = [t for t in fig.data if t.showlegend is not False]
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert len(curves) == 2 and len(bands) == 2
    names = " ".join(t.name for t in curves)
    assert NEIGHBOUR_GROUP in names and COHORT_GROUP in names and "median" in names
    assert all(t.line.shape == "hv" for t in curves)
    assert km_figure(outcomes.km.clear()).data == ()


def test_response_figure_shows_counts_and_intervals(outcomes):
    fig = response_figure(outcomes.rates)
    assert [t.name for t in fig.data] == [NEIGHBOUR_GROUP, COHORT_GROUP]
    assert all("/" in txt for t in fig.data for txt in t.text)
    assert all(t.error_y.array is not None for t in fig.data)


@pytest.mark.parametrize("color_by", ["cancer_type", "outcome"])
def test_embedding_map_figure_highlights_patient_and_neighbours(hand, hand_con, hand_index, color_by):
    emap = embedding_map(hand_con, hand[1].current[0], 6, index=hand_index)
    fig = embedding_map_figure(emap, color_by)
    names = [t.name for t in fig.data]
    assert names[-2:] == ["similar cases", "this patient"]
    assert len(fig.data[-2].x) == 6 and len(fig.data[-1].x) == 1
    assert fig.layout.xaxis.title.text == "PC 1"  # the hand-store map is drawn with PCA (see conftest)
    if color_by == "outcome":
        assert set(names[:-2]) <= set(OUTCOME_COLOURS) | {"unknown"}
    with pytest.raises(ValueError, match="color_by"):
        embedding_map_figure(emap, "stage")


def test_neighbour_table_is_display_ready(outcomes):
    table = neighbour_table(outcomes.neighbours)
    assert tuple(table.columns) == NEIGHBOUR_TABLE_COLUMNS
    assert table.height == outcomes.neighbours.height
    assert table["outcome_colour"].str.starts_with("#").all()
    assert table["PFS"].str.contains(r"mo \((progressed|censored)\)").all()
    assert table["similarity"].dtype == pl.Float64
