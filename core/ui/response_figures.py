"""Tumour response over time (RECIST 1.1-style): frame -> plotly Figure. No Streamlit, no SQL."""
from __future__ import annotations

import html
from datetime import datetime, timedelta

import plotly.graph_objects as go
import polars as pl

from core.imaging.recist import PR_DECREASE_FROM_BASELINE, Response

RESPONSE_COLOURS = {
    "baseline": "#2166AC", "CR": "#1B7837", "PR": "#5AAE61", "SD": "#878787", "PD": "#D73027", "NE": "#BDBDBD",
}
RESPONSE_TRACK_COLOUR = "#D73027"  # the timeline's "response" track
FONT = 18
BIG_FONT = 26


def _label(r: dict) -> str:
    if r["response"] == Response.BASELINE:
        return "baseline"
    if r["sum_mm"] is None:
        return r["response"] + (" (new lesion)" if r["new_lesions"] is not None and len(r["new_lesions"]) else
                                 " (not measured)")
    if r["change_from_baseline_pct"] is None:
        return r["response"]
    return f"{r['response']} {r['change_from_baseline_pct']:+.0f}%"


def response_figure(series: pl.DataFrame, *, big: bool = False, height: int | None = None,
                    last_board_at: datetime | None = None) -> go.Figure:
    """Sum of target-lesion diameters over time with baseline, PR threshold and nadir lines.

    Args:
        series: frame from ``core.imaging.recist.response_series`` (observed_at, sum_mm, response,
            reason, baseline_mm, change_from_baseline_pct, locator, ...).
        big: presentation mode (larger type and markers).
        height: pixels (default 420, 560 when ``big``).
        last_board_at: when the patient was last discussed at a board: a dashed vertical line, so
            progression since then is visible at a glance (drawn only inside the series' dates).

    Points without a sum (not evaluable, or PD from a new lesion only) sit on the x axis as open
    markers, so a missing measurement never reads as a shrinking tumour.
    """
    font = BIG_FONT if big else FONT
    fig = go.Figure()
    fig.update_layout(height=height or (560 if big else 420), margin={"l": 10, "r": 10, "t": 40, "b": 30},
                      font={"size": font}, hoverlabel={"font_size": font - 2}, showlegend=False,
                      yaxis={"title": "sum of diameters (mm)", "rangemode": "tozero"}, xaxis={"title": None})
    if series.height == 0:
        fig.add_annotation(text="No lesion measurements on file", showarrow=False, xref="paper", yref="paper",
                           x=0.5, y=0.5, font={"size": font})
        return fig
    rows = list(series.sort("observed_at").iter_rows(named=True))
    have = [r for r in rows if r["sum_mm"] is not None]
    fig.add_trace(go.Scatter(x=[r["observed_at"] for r in have], y=[r["sum_mm"] for r in have], mode="lines",
                             line={"color": "#4D4D4D", "width": 3 if big else 2}, hoverinfo="skip"))
    nadir_x, nadir_y, nadir = [], [], None
    for r in have:  # running nadir over complete sums (NE rows carry no sum)
        nadir = r["sum_mm"] if nadir is None else min(nadir, r["sum_mm"])
        nadir_x.append(r["observed_at"])
        nadir_y.append(nadir)
    if nadir_x:
        fig.add_trace(go.Scatter(x=nadir_x, y=nadir_y, mode="lines", line={"shape": "hv", "dash": "dot",
                                 "color": RESPONSE_COLOURS["PR"], "width": 2}, name="nadir", hoverinfo="skip"))
        fig.add_annotation(x=nadir_x[-1], y=nadir_y[-1], text=f"nadir {nadir_y[-1]:.0f} mm", showarrow=False,
                           xanchor="left", yanchor="top", font={"size": font - 4, "color": RESPONSE_COLOURS["PR"]})
    base = rows[0]["baseline_mm"]
    if base is not None:
        fig.add_hline(y=base, line_dash="dash", line_color=RESPONSE_COLOURS["baseline"],
                      annotation_text=f"baseline {base:.0f} mm", annotation_position="top right",
                      annotation_font_size=font - 4)
        fig.add_hline(y=base * (1 - PR_DECREASE_FROM_BASELINE), line_dash="dot", line_color="#999999",
                      annotation_text=f"PR threshold: -{PR_DECREASE_FROM_BASELINE:.0%}", annotation_position="bottom right",
                      annotation_font_size=font - 4)
    size = 22 if big else 15
    fig.add_trace(go.Scatter(
        x=[r["observed_at"] for r in rows], y=[r["sum_mm"] if r["sum_mm"] is not None else 0 for r in rows],
        mode="markers+text", text=[_label(r) for r in rows], textposition="top center",
        textfont={"size": font - 2, "color": [RESPONSE_COLOURS.get(r["response"], "#444") for r in rows]},
        marker={"size": size, "color": [RESPONSE_COLOURS.get(r["response"], "#444") for r in rows],
                "symbol": ["circle" if r["sum_mm"] is not None else "circle-open" for r in rows],
                "line": {"width": 2, "color": "white"}},
        hovertext=[f"<b>{r['response']}</b> {r['observed_at']:%Y-%m-%d}<br>"
                   f"{html.escape(r['reason'] or '', quote=False)}<br>"
                   f"source: {(r['source_uri'] or '').rsplit('/', 1)[-1]} · {r['locator'] or ''}" for r in rows],
        hoverinfo="text", name="response", cliponaxis=False,
    ))
    top = max([r["sum_mm"] for r in have] + [base or 0.0, 1.0])
    fig.update_yaxes(range=[0, top * 1.2])
    first, last = rows[0]["observed_at"], rows[-1]["observed_at"]
    span = max(last - first, timedelta(days=30))  # room for labels beyond the last point
    fig.update_xaxes(range=[first - span * 0.06, last + span * 0.22])
    if last_board_at is not None and first - span * 0.06 <= last_board_at <= last + span * 0.22:
        # shape + annotation rather than add_vline: add_vline's annotation fails on datetime axes
        fig.add_shape(type="line", x0=last_board_at, x1=last_board_at, xref="x", y0=0, y1=1, yref="paper",
                      line={"dash": "dash", "color": "#6A3D9A", "width": 2})
        fig.add_annotation(x=last_board_at, y=1, xref="x", yref="paper", text="last board", showarrow=False,
                           xanchor="left", yanchor="top", font={"size": font - 4, "color": "#6A3D9A"})
    return fig
