"""Pure functions for the similar-cases view: frames -> plotly figures / display tables. No Streamlit, no SQL."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from core.similar.search import COHORT_GROUP, NEIGHBOUR_GROUP, EmbeddingMap

BIG_FONT = 18
GROUP_COLOURS = {NEIGHBOUR_GROUP: "#1F78B4", COHORT_GROUP: "#7F7F7F"}
CANCER_COLOURS = {"lung": "#1F78B4", "breast": "#E7298A", "colorectal": "#D95F02", "other": "#7570B3"}
OUTCOME_COLOURS = {"progressed within 12 months": "#E31A1C", "no progression within 12 months": "#33A02C",
                   "follow-up < 12 months": "#BDBDBD", "current case (no outcome yet)": "#6A3D9A"}
ENDPOINT_TITLE = {"pfs": "Progression-free survival", "os": "Overall survival"}


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def km_figure(km: pl.DataFrame, medians: pl.DataFrame | None = None, endpoint: str = "pfs", *,
              height: int = 420) -> go.Figure:
    """Kaplan-Meier step curves with 95% bands, one per group (similar cases vs the cohort).

    Args:
        km: ``NeighbourOutcomes.km`` (group, endpoint, time_months, survival, ci_low, ci_high, at_risk).
        medians: ``NeighbourOutcomes.medians``; adds n and median to the legend.
        endpoint: ``pfs`` or ``os``.
    """
    fig = go.Figure()
    data = km.filter(pl.col("endpoint") == endpoint) if km.height else km
    meds = {}
    if medians is not None and medians.height:
        for r in medians.filter(pl.col("endpoint") == endpoint).iter_rows(named=True):
            m = "not reached" if r["median_months"] is None else f"{r['median_months']:.1f} mo"
            meds[r["group"]] = f" (n={r['n']}, median {m})"
    groups = [g for g in (NEIGHBOUR_GROUP, COHORT_GROUP) if data.height and g in set(data["group"].to_list())]
    for group in reversed(groups):  # cohort drawn first, neighbours on top
        d = data.filter(pl.col("group") == group).sort("time_months")
        colour = GROUP_COLOURS.get(group, "#333333")
        t = d["time_months"].to_list()
        fig.add_trace(go.Scatter(x=t, y=d["ci_high"].to_list(), mode="lines", line={"width": 0, "shape": "hv"},
                                 hoverinfo="skip", showlegend=False, legendgroup=group))
        fig.add_trace(go.Scatter(x=t, y=d["ci_low"].to_list(), mode="lines", line={"width": 0, "shape": "hv"},
                                 fill="tonexty", fillcolor=_rgba(colour, 0.18), hoverinfo="skip", showlegend=False,
                                 legendgroup=group))
        fig.add_trace(go.Scatter(
            x=t, y=d["survival"].to_list(), mode="lines", name=group + meds.get(group, ""), legendgroup=group,
            line={"color": colour, "width": 3, "shape": "hv"}, customdata=d["at_risk"].to_list(),
            hovertemplate="%{x:.1f} months: %{y:.0%} (at risk %{customdata})<extra>" + group + "</extra>"))
    fig.add_hline(y=0.5, line={"dash": "dot", "color": "#999999", "width": 1})
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 40, "b": 40}, font={"size": BIG_FONT},
        title={"text": ENDPOINT_TITLE.get(endpoint, endpoint) + " from the board date (95% CI)", "font": {"size": BIG_FONT}},
        xaxis={"title": "months", "rangemode": "tozero"}, yaxis={"title": None, "range": [0, 1.02], "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.2}, hoverlabel={"font_size": 16})
    return fig


def response_figure(rates: pl.DataFrame, *, height: int = 340) -> go.Figure:
    """Rates with Wilson 95% error bars per measure, similar cases beside the cohort; 'k/n' on each bar."""
    fig = go.Figure()
    for group in (NEIGHBOUR_GROUP, COHORT_GROUP):
        d = rates.filter(pl.col("group") == group) if rates.height else rates
        if d.height == 0:
            continue
        rate = [r if r is not None else 0.0 for r in d["rate"].to_list()]
        hi = [(h - r) if h is not None else 0.0 for h, r in zip(d["ci_high"].to_list(), rate)]
        lo = [(r - lo_) if lo_ is not None else 0.0 for lo_, r in zip(d["ci_low"].to_list(), rate)]
        text = [f"{k}/{n}" if n else "no data" for k, n in zip(d["k"].to_list(), d["n"].to_list())]
        fig.add_trace(go.Bar(x=d["measure"].to_list(), y=rate, name=group, text=text, textposition="outside",
                             marker_color=GROUP_COLOURS[group],
                             error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo},
                             hovertemplate="%{x}: %{y:.0%} (%{text})<extra>" + group + "</extra>"))
    fig.update_layout(height=height, barmode="group", margin={"l": 10, "r": 10, "t": 30, "b": 30},
                      font={"size": BIG_FONT}, yaxis={"tickformat": ".0%", "range": [0, 1.1], "title": None},
                      legend={"orientation": "h", "y": -0.25}, hoverlabel={"font_size": 16})
    return fig


def embedding_map_figure(emap: EmbeddingMap, color_by: str = "cancer_type", *, height: int = 520) -> go.Figure:
    """Cohort map: every case a dot coloured by ``color_by`` ('cancer_type' or 'outcome'); the
    patient as a star and its similar cases ringed. Axis titles name the method (UMAP / PCA)."""
    if color_by not in ("cancer_type", "outcome"):
        raise ValueError(f"color_by must be 'cancer_type' or 'outcome', not {color_by!r}")
    pts = emap.points
    palette = CANCER_COLOURS if color_by == "cancer_type" else OUTCOME_COLOURS
    fig = go.Figure()
    background = pts.filter(~pl.col("role").is_in(["this patient", "similar case"]))
    for value in sorted({v for v in background[color_by].to_list() if v is not None}) + [None]:
        d = background.filter(pl.col(color_by).is_null() if value is None else pl.col(color_by) == value)
        if d.height == 0:
            continue
        fig.add_trace(go.Scatter(
            x=d["x"].to_list(), y=d["y"].to_list(), mode="markers", name=value or "unknown",
            marker={"size": 8, "color": palette.get(value or "", "#BDBDBD"), "opacity": 0.55},
            text=[f"{p}<br>{c or '?'}<br>{o}" for p, c, o in zip(d["patient_id"], d["cancer_type"], d["outcome"])],
            hoverinfo="text"))
    near = pts.filter(pl.col("role") == "similar case")
    if near.height:
        fig.add_trace(go.Scatter(
            x=near["x"].to_list(), y=near["y"].to_list(), mode="markers", name="similar cases",
            marker={"size": 15, "color": [palette.get(v or "", "#BDBDBD") for v in near[color_by].to_list()],
                    "line": {"width": 3, "color": "#111111"}},
            text=[f"{p}<br>similarity {s:.2f}<br>{c or '?'}<br>{o}" for p, s, c, o in
                  zip(near["patient_id"], near["similarity"], near["cancer_type"], near["outcome"])],
            hoverinfo="text"))
    me = pts.filter(pl.col("role") == "this patient")
    if me.height:
        fig.add_trace(go.Scatter(x=me["x"].to_list(), y=me["y"].to_list(), mode="markers", name="this patient",
                                 marker={"size": 24, "symbol": "star", "color": "#FFD700",
                                         "line": {"width": 2, "color": "#111111"}},
                                 text=[f"{p} (this patient)" for p in me["patient_id"]], hoverinfo="text"))
    axis = "UMAP" if emap.method == "UMAP" else "PC"
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, font={"size": BIG_FONT},
        title={"text": f"Cohort map ({emap.method} of {emap.kind} case vectors)", "font": {"size": BIG_FONT}},
        xaxis={"title": f"{axis} 1", "showticklabels": False, "zeroline": False},
        yaxis={"title": f"{axis} 2", "showticklabels": False, "zeroline": False},
        legend={"itemsizing": "constant"}, hoverlabel={"font_size": 16})
    return fig


def _survival_text(months: float | None, event: bool | None, what: str) -> str:
    if months is None:
        return "no follow-up"
    return f"{months:.1f} mo ({what})" if event else f"{months:.1f}+ mo (censored)"


def outcome_colour(progressed_12m: int | None) -> str:
    if progressed_12m is None:
        return OUTCOME_COLOURS["follow-up < 12 months"]
    return OUTCOME_COLOURS["progressed within 12 months" if progressed_12m == 1 else "no progression within 12 months"]


NEIGHBOUR_TABLE_COLUMNS = ("rank", "similarity", "case", "why similar", "what differs", "first-line therapy", "PFS",
                           "OS", "12-month progression", "best response", "outcome_colour", "patient_id")


def neighbour_table(neighbours: pl.DataFrame) -> pl.DataFrame:
    """Display rows for the neighbour table (strings), plus styling data.

    ``similarity`` stays numeric (0-1, for a progress-bar column); ``outcome_colour`` is the
    hex colour of the 12-month outcome for row or cell styling; ``patient_id`` (pseudonym)
    is kept last for links to the case.
    """
    rows = []
    for r in neighbours.iter_rows(named=True):
        cancer = r["cancer_type"] and r["cancer_type"] + (f" ({r['oncotree_code']})" if r["oncotree_code"] else "")
        parts = (cancer, r["stage_group"] and f"stage {r['stage_group']}", r["age_band"] and f"age {r['age_band']}",
                 "not sequenced" if r["drivers"] is None else r["drivers"] or "no driver found", r["imaging"])
        case = ", ".join(v for v in parts if v)
        p12 = r["progressed_12m"]
        rows.append({
            "rank": r["rank"], "similarity": r["similarity"], "case": case, "why similar": r["why_similar"],
            "what differs": r["what_differs"], "first-line therapy": r["first_line_therapy"] or "none recorded",
            "PFS": _survival_text(r["pfs_months"], r["pfs_event"], "progressed"),
            "OS": _survival_text(r["os_months"], r["os_event"], "died"),
            "12-month progression": "unknown (follow-up < 12 months)" if p12 is None else "yes" if p12 == 1 else "no",
            "best response": r["best_response"] or "not assessed", "outcome_colour": outcome_colour(p12),
            "patient_id": r["patient_id"]})
    schema = {c: pl.Utf8 for c in NEIGHBOUR_TABLE_COLUMNS} | {"rank": pl.Int64, "similarity": pl.Float64}
    return pl.DataFrame(rows, schema=schema)
