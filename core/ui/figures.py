"""Pure functions: frame -> plotly Figure. No Streamlit, no SQL."""
from __future__ import annotations

import html
import textwrap

import plotly.graph_objects as go
import polars as pl

from core.ui.response_figures import RESPONSE_COLOURS, RESPONSE_TRACK_COLOUR

TRACK_ORDER = ["status", "treatment", "clinical", "lab test", "imaging", "response", "specimen / genomics", "notes",
               "note events"]
TRACK_COLOURS = {
    "status": "#E31A1C", "treatment": "#33A02C", "clinical": "#A6761D", "lab test": "#FF7F00", "imaging": "#1F78B4",
    "response": RESPONSE_TRACK_COLOUR, "specimen / genomics": "#6A3D9A", "notes": "#737373", "note events": "#B15928",
    "other": "#999999",
}
BIG_FONT = 18
HOVER_WIDTH = 90  # characters per hover line: long summaries (a response's reason) wrap instead of running off


def _wrap(text: str) -> str:
    """Escaped for plotly's pseudo-HTML (a reason says "<= -30%") and wrapped into lines."""
    return "<br>".join(html.escape(line, quote=False) for line in textwrap.wrap(text, HOVER_WIDTH))


def timeline_figure(tl: pl.DataFrame, *, height: int = 420) -> go.Figure:
    """cBioPortal-style patient timeline: one row per track, hover shows provenance.

    Args:
        tl: frame from ``queries.timeline`` (track, observed_at, summary, value, source_uri, locator, ...).
            The "response" track is coloured by its RECIST category (``value``), PD points labelled.
    """
    fig = go.Figure()
    present = [t for t in TRACK_ORDER if t in set(tl["track"].to_list())] if tl.height else []
    for track in present:
        sub = tl.filter(pl.col("track") == track)
        hover = [
            f"<b>{_wrap(s)}</b><br>{o:%Y-%m-%d}<br>source: {u.rsplit('/', 1)[-1]}<br>at: {loc}<br>by: {ex}"
            for s, o, u, loc, ex in zip(sub["summary"], sub["observed_at"], sub["source_uri"], sub["locator"],
                                        sub["extractor"], strict=True)
        ]
        is_response = track == "response"
        colour = ([RESPONSE_COLOURS.get(v, RESPONSE_TRACK_COLOUR) for v in sub["value"]] if is_response
                  else TRACK_COLOURS.get(track, "#999"))
        fig.add_trace(go.Scatter(
            x=sub["observed_at"].to_list(), y=[track] * sub.height, mode="markers+text" if is_response else "markers",
            # only PD is labelled: follow-ups sit weeks apart on a years-long axis, so every label would collide
            name=track, text=[v if v == "PD" else "" for v in sub["value"]] if is_response else None,
            textposition="top center",
            textfont={"size": BIG_FONT - 4, "color": colour} if is_response else None,
            marker={"size": 16 if is_response else 14, "color": colour,
                    "symbol": "diamond" if is_response else "circle", "line": {"width": 1, "color": "white"}},
            hovertext=hover, hoverinfo="text", cliponaxis=False,
            customdata=list(zip(sub["source_table"], sub["source_sha256"], sub["locator"], strict=True)),
        ))
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 30}, showlegend=False,
        font={"size": BIG_FONT}, hoverlabel={"font_size": 16},
        yaxis={"categoryorder": "array", "categoryarray": list(reversed(present)), "title": None},
        xaxis={"title": None},
    )
    return fig
