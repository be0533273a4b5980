"""Pure plotly figures for model explanations and calibration: frame in, ``go.Figure`` out.

SHAP figures are drawn in the space the values live in (calibrated log-odds) with the
base value as the starting bar, and say so on the axis; risk is shown alongside.
"""
from __future__ import annotations

import itertools
import math

import plotly.graph_objects as go
import polars as pl

MODALITY_COLOURS = {"imaging": "#1F78B4", "notes": "#B15928", "genomics": "#6A3D9A", "clinical": "#33A02C",
                    "labs": "#FF7F00", "all": "#444444"}
UP, DOWN = "#D62728", "#2CA02C"   # pushes risk up / down
FONT = 16


def _risk(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


def shap_waterfall(attributions: pl.DataFrame, base_value: float, *, top: int = 12, title: str | None = None) -> go.Figure:
    """Waterfall of per-feature SHAP values from the base value to the patient's log-odds.

    Args:
        attributions: rows with feature, modality, feature_value, shap_value (calibrated log-odds).
        base_value: the explanation's base value (same space).
        top: features shown individually; the rest are summed into one "other features" bar.
    """
    df = attributions.sort(pl.col("shap_value").abs(), descending=True)
    shown, rest = df.head(top), df.slice(top)
    labels = [f"{f} = {v}" for f, v in zip(shown["feature"], shown["feature_value"], strict=True)]
    values = shown["shap_value"].to_list()
    if rest.height:
        labels.append(f"{rest.height} other features")
        values.append(float(rest["shap_value"].sum()))
    total = base_value + float(df["shap_value"].sum()) if df.height else base_value
    fig = go.Figure(go.Waterfall(
        orientation="h", measure=["absolute"] + ["relative"] * len(values) + ["total"],
        y=["base value"] + labels + ["model output"], x=[base_value] + values + [total],
        increasing={"marker": {"color": UP}}, decreasing={"marker": {"color": DOWN}},
        totals={"marker": {"color": "#444444"}}, connector={"line": {"color": "#BBBBBB"}},
        text=[f"{base_value:+.2f}"] + [f"{v:+.2f}" for v in values] + [f"{total:+.2f} (risk {_risk(total):.2f})"],
        textposition="outside", cliponaxis=False))
    running = list(itertools.accumulate([base_value] + values))
    fig.update_layout(title=title or f"Why the model says {_risk(total):.2f}: SHAP by feature",
                      xaxis={"title": "calibrated log-odds (base value + contributions = model output)",
                             "range": _padded_range(running + [total])},
                      yaxis={"autorange": "reversed"}, height=max(360, 34 * (len(values) + 3)),
                      margin={"l": 10, "r": 40, "t": 50, "b": 50}, font={"size": FONT}, showlegend=False)
    return fig


def _padded_range(points: list[float], pad: float = 0.22) -> list[float]:
    """An x range holding every point and 0, widened so labels drawn outside the bars stay visible."""
    lo, hi = min([0.0, *points]), max([0.0, *points])
    span = (hi - lo) or 1.0
    return [lo - pad * span, hi + pad * span]


def modality_bars(contributions: pl.DataFrame, base_value: float | None = None) -> go.Figure:
    """SHAP summed per modality (horizontal bars, calibrated log-odds).

    Args:
        contributions: rows with modality and shap_value (features or already-summed modalities).
    """
    df = (contributions.group_by("modality").agg(pl.col("shap_value").sum())
          .sort(pl.col("shap_value").abs(), descending=False))
    fig = go.Figure(go.Bar(
        x=df["shap_value"].to_list(), y=df["modality"].to_list(), orientation="h",
        marker={"color": [MODALITY_COLOURS.get(m, "#999999") for m in df["modality"].to_list()]},
        text=[f"{v:+.2f}" for v in df["shap_value"].to_list()], textposition="outside", cliponaxis=False))
    title = "Contribution by modality"
    if base_value is not None:
        title += f" (base value {base_value:+.2f} log-odds, risk {_risk(base_value):.2f})"
    fig.update_layout(title=title, xaxis={"title": "sum of SHAP values (calibrated log-odds)",
                                          "range": _padded_range(df["shap_value"].to_list())},
                      height=80 + 60 * max(df.height, 1), margin={"l": 10, "r": 40, "t": 50, "b": 50},
                      font={"size": FONT}, showlegend=False)
    fig.add_vline(x=0, line_color="#888888")
    return fig


def ablation_bars(ablation: pl.DataFrame) -> go.Figure:
    """Risk without each modality and with each modality alone, against the full prediction.

    Args:
        ablation: rows with scenario ('all' / 'without' / 'only'), modality, risk.
    """
    full = ablation.filter(pl.col("scenario") == "all")
    full_risk = float(full["risk"][0]) if full.height else None
    fig = go.Figure()
    for scenario, colour in (("without", "#7F7F7F"), ("only", "#17BECF")):
        sub = ablation.filter(pl.col("scenario") == scenario).sort("modality")
        if sub.height:
            fig.add_trace(go.Bar(name=f"{scenario} this modality" if scenario == "without" else "this modality alone",
                                 x=sub["modality"].to_list(), y=sub["risk"].to_list(), marker={"color": colour},
                                 text=[f"{r:.2f}" for r in sub["risk"].to_list()], textposition="outside"))
    title = "Modality ablation: risk when a modality is removed or used alone"
    if full_risk is not None:  # named in the title: an annotation on the line collides with the bar labels
        fig.add_hline(y=full_risk, line_dash="dash", line_color="#D62728")
        title += f"<br><sub>dashed line: all available modalities, {full_risk:.2f}</sub>"
    fig.update_layout(title=title, barmode="group",
                      yaxis={"title": "predicted risk", "range": [0, 1]}, font={"size": FONT},
                      margin={"l": 10, "r": 10, "t": 70, "b": 40}, height=440)
    return fig


def reliability_figure(bins: list[dict] | pl.DataFrame) -> go.Figure:
    """Reliability diagram: observed event rate (95 % Wilson CI) against mean predicted risk per bin."""
    df = bins if isinstance(bins, pl.DataFrame) else pl.DataFrame(bins)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "#999999"},
                             name="perfect calibration"))
    if df.height:
        fig.add_trace(go.Scatter(
            x=df["mean_predicted"].to_list(), y=df["observed"].to_list(), mode="markers+lines", name="model",
            marker={"size": [8 + 2 * math.sqrt(n) for n in df["n"].to_list()], "color": "#1F78B4"},
            error_y={"type": "data", "symmetric": False,
                     "array": (df["observed_high"] - df["observed"]).to_list(),
                     "arrayminus": (df["observed"] - df["observed_low"]).to_list()},
            text=[f"n={n}" for n in df["n"].to_list()], hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{text}"))
    fig.update_layout(title="Reliability (held-out predictions)", xaxis={"title": "mean predicted risk", "range": [0, 1]},
                      yaxis={"title": "observed event rate", "range": [0, 1]}, font={"size": FONT}, height=460,
                      margin={"l": 10, "r": 10, "t": 50, "b": 40})
    return fig


def global_importance_bars(importance: pl.DataFrame, top: int = 15) -> go.Figure:
    """Mean |SHAP| per feature over the cohort, coloured by modality."""
    df = importance.sort("mean_abs_shap", descending=True).head(top).reverse()
    fig = go.Figure(go.Bar(x=df["mean_abs_shap"].to_list(), y=df["feature"].to_list(), orientation="h",
                           marker={"color": [MODALITY_COLOURS.get(m, "#999") for m in df["modality"].to_list()]},
                           hovertext=df["description"].to_list() if "description" in df.columns else None))
    fig.update_layout(title="Global importance: mean |SHAP| over the training cohort",
                      xaxis_title="mean |SHAP| (calibrated log-odds)", height=80 + 28 * max(df.height, 1),
                      font={"size": FONT}, margin={"l": 10, "r": 10, "t": 50, "b": 40})
    return fig


def attention_bars(weights: pl.DataFrame) -> go.Figure:
    """Attention weight per modality of the comparison model (missing modalities shown as 'missing', weight 0).

    Args:
        weights: rows with modality, present (bool), weight (0-1, summing to 1 over present modalities).
    """
    mods = weights["modality"].to_list()
    present = weights["present"].to_list()
    w = weights["weight"].to_list()
    fig = go.Figure(go.Bar(
        x=w, y=mods, orientation="h",
        marker={"color": [MODALITY_COLOURS.get(m, "#999999") if p else "#DDDDDD" for m, p in zip(mods, present,
                                                                                                strict=True)]},
        text=[f"{v:.2f}" if p else "missing" for v, p in zip(w, present, strict=True)], textposition="outside"))
    fig.update_layout(title="Attention weight by modality (comparison model, not the served one)",
                      xaxis={"title": "attention weight (sums to 1 over present modalities)", "range": [0, 1.1]},
                      yaxis={"autorange": "reversed"}, height=80 + 60 * max(len(mods), 1), showlegend=False,
                      margin={"l": 10, "r": 40, "t": 50, "b": 50}, font={"size": FONT})
    return fig
