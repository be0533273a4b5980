"""Plotly figures of the pilot review: pure functions frame -> Figure."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import polars as pl

GO, NO_GO, NEUTRAL = "#33A02C", "#EE3424", "#1F78B4"


def _layout(fig: go.Figure, title: str, height: int = 340) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10), template="plotly_white")
    return fig


def _empty(title: str, what: str = "no decided cases in the window") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=what, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title)


def acceptance_trend(weekly: pl.DataFrame, threshold: float | None = None) -> go.Figure:
    """Weekly acceptance with Wilson 95% intervals; the threshold as a dashed line; n on hover."""
    title = "Acceptance by week (95% CI)"
    w = weekly.filter(pl.col("acceptance").is_not_null()) if weekly.height else weekly
    if w.height == 0:
        return _empty(title)
    p = w["acceptance"].to_numpy()
    fig = go.Figure(go.Scatter(
        x=w["week"].to_list(), y=p, mode="lines+markers", name="acceptance",
        error_y=dict(type="data", symmetric=False, array=w["hi"].to_numpy() - p, arrayminus=p - w["lo"].to_numpy()),
        customdata=w["n"].to_list(), hovertemplate="week of %{x|%Y-%m-%d}: %{y:.0%} (n=%{customdata})<extra></extra>",
        line=dict(color=NEUTRAL)))
    if threshold is not None:
        fig.add_hline(y=threshold, line_dash="dash", line_color=NO_GO, annotation_text=f"threshold {threshold:.0%}")
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    return _layout(fig, title)


def override_reasons(reasons: pl.DataFrame) -> go.Figure:
    """Share of each reason among modified/overridden decisions, with Wilson intervals."""
    title = "Reasons for modifying or overriding the model (95% CI)"
    if reasons.height == 0:
        return _empty(title, "no modified or overridden decisions")
    r = reasons.sort("share")
    s = r["share"].to_numpy()
    fig = go.Figure(go.Bar(
        y=r["reason"].to_list(), x=s, orientation="h", marker_color=NEUTRAL,
        error_x=dict(type="data", symmetric=False, array=r["hi"].to_numpy() - s, arrayminus=s - r["lo"].to_numpy()),
        text=[f"{k}/{n}" for k, n in zip(r["k"], r["n"])], textposition="inside",
        hovertemplate="%{y}: %{x:.0%} (%{text})<extra></extra>"))
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return _layout(fig, title, height=120 + 40 * r.height)


def reliability_diagram(rel: pl.DataFrame, ece_text: str = "") -> go.Figure:
    """Observed 12-month event rate against mean predicted risk per bin; marker size = n."""
    title = "Calibration on cases with an observed 12-month outcome" + (f" — ECE {ece_text}" if ece_text else "")
    if rel.height == 0:
        return _empty(title, "no case with an observed outcome and a model risk yet")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dash", color="#999"),
                             name="perfect calibration", hoverinfo="skip"))
    n = rel["n"].to_numpy()
    fig.add_trace(go.Scatter(
        x=rel["mean_predicted"].to_list(), y=rel["observed"].to_list(), mode="markers+lines", name="pilot cases",
        marker=dict(size=8 + 22 * np.sqrt(n / max(n.max(), 1)), color=NEUTRAL), customdata=n,
        hovertemplate="predicted %{x:.2f}, observed %{y:.2f} (n=%{customdata})<extra></extra>"))
    fig.update_xaxes(range=[0, 1], title="mean predicted risk")
    fig.update_yaxes(range=[0, 1], title="observed event rate")
    return _layout(fig, title, height=380)


def subgroup_forest(tab: pl.DataFrame, floor: float | None = None, min_n: int | None = None) -> go.Figure:
    """AUROC with bootstrap 95% CI per subgroup level; levels below ``min_n`` outcomes drawn grey."""
    title = "AUROC by subgroup (95% CI, n = cases with an observed outcome)"
    t = tab.filter(pl.col("auroc").is_not_null()) if tab.height else tab
    if t.height == 0:
        return _empty(title, "no subgroup with both outcomes observed yet")
    labels = [f"{s}={lv} (n={n})" for s, lv, n in zip(t["subgroup"], t["level"], t["n_outcomes"])]
    small = [min_n is not None and n < min_n for n in t["n_outcomes"].to_list()]
    a = t["auroc"].to_numpy()
    fig = go.Figure(go.Scatter(
        x=a, y=labels, mode="markers", marker=dict(size=10, color=["#aaa" if s else NEUTRAL for s in small]),
        error_x=dict(type="data", symmetric=False, array=t["auroc_hi"].to_numpy() - a,
                     arrayminus=a - t["auroc_lo"].to_numpy()),
        hovertemplate="%{y}: AUROC %{x:.2f}<extra></extra>"))
    if floor is not None:
        fig.add_vline(x=floor, line_dash="dash", line_color=NO_GO, annotation_text=f"floor {floor:.2f}")
    fig.add_vline(x=0.5, line_dash="dot", line_color="#999")
    fig.update_xaxes(range=[0, 1.02], title="AUROC")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=140 + 28 * t.height)


def turnaround_distribution(hours: pl.DataFrame, baseline_hours: float | None, target_reduction: float | None = None
                            ) -> go.Figure:
    """Histogram of case-ready -> decided hours, with the pre-pilot baseline median and the target."""
    title = "Turnaround: case ready -> decided (hours)"
    h = hours.filter(pl.col("turnaround_h").is_not_null()) if hours.height else hours
    if h.height == 0:
        return _empty(title)
    x = h["turnaround_h"].to_numpy()
    fig = go.Figure(go.Histogram(x=x, nbinsx=20, marker_color=NEUTRAL, name="pilot cases"))
    fig.add_vline(x=float(np.median(x)), line_color=NEUTRAL, annotation_text=f"pilot median {np.median(x):.0f} h")
    if baseline_hours:
        fig.add_vline(x=baseline_hours, line_color="#555", line_dash="dash",
                      annotation_text=f"baseline {baseline_hours:.0f} h", annotation_position="top left")
        if target_reduction is not None:
            goal = baseline_hours * (1 - target_reduction)
            fig.add_vline(x=goal, line_color=GO, line_dash="dot", annotation_text=f"target ≤ {goal:.0f} h",
                          annotation_position="bottom right")
    fig.update_xaxes(title="hours")
    fig.update_yaxes(title="cases")
    return _layout(fig, title)


def completeness_bars(comp: pl.DataFrame, threshold: float | None = None) -> go.Figure:
    """Share of cases with each modality on file at the decision (Wilson 95% CI)."""
    title = "Evidence on file at the decision (95% CI)"
    if comp.height == 0:
        return _empty(title)
    s = comp["share"].to_numpy()
    fig = go.Figure(go.Bar(
        x=[m.replace("all_core", "all three") for m in comp["modality"].to_list()], y=s, marker_color=NEUTRAL,
        error_y=dict(type="data", symmetric=False, array=comp["hi"].to_numpy() - s,
                     arrayminus=s - comp["lo"].to_numpy()),
        text=[f"{k}/{n}" for k, n in zip(comp["k"], comp["n"])], textposition="inside",
        hovertemplate="%{x}: %{y:.0%} (%{text})<extra></extra>"))
    if threshold is not None:
        fig.add_hline(y=threshold, line_dash="dash", line_color=NO_GO, annotation_text=f"all three ≥ {threshold:.0%}")
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    return _layout(fig, title)


def review_figures(review) -> dict[str, go.Figure]:  # noqa: ANN001 - core.pilot.report.PilotReview
    """Every figure of the review page, by title (the page and the PDF export show the same)."""
    from core.pilot import report

    th = {t.metric: t.value for t in review.config.thresholds}
    ece = review.measured.get("ece")
    ece_text = f"{ece.value:.3f} (n={ece.n})" if ece is not None and ece.value is not None else ""
    return {
        "Acceptance by week": acceptance_trend(report.weekly_trend(review), th.get("acceptance_rate")),
        "Override reasons": override_reasons(report.override_reasons(review)),
        "Calibration": reliability_diagram(report.reliability(review), ece_text),
        "Subgroups": subgroup_forest(report.subgroups(review), th.get("subgroup_auroc_min"), review.subgroup_min_n),
        "Turnaround": turnaround_distribution(report.turnaround(review), review.baseline_hours,
                                              th.get("turnaround_reduction")),
        "Completeness": completeness_bars(report.completeness_table(review), th.get("completeness_all_core")),
    }
