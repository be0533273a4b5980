"""Pure functions: frame -> plotly Figure. No Streamlit, no SQL."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

TRACK_ORDER = ["status", "treatment", "clinical", "lab test", "imaging", "specimen / genomics", "notes", "note events"]
TRACK_COLOURS = {
    "status": "#E31A1C", "treatment": "#33A02C", "clinical": "#A6761D", "lab test": "#FF7F00", "imaging": "#1F78B4",
    "specimen / genomics": "#6A3D9A", "notes": "#737373", "note events": "#B15928", "other": "#999999",
}
BIG_FONT = 18


def timeline_figure(tl: pl.DataFrame, *, height: int = 420) -> go.Figure:
    """cBioPortal-style patient timeline: one row per track, hover shows provenance.

    Args:
        tl: frame from ``queries.timeline`` (track, observed_at, summary, source_uri, locator, ...).
    """
    fig = go.Figure()
    present = [t for t in TRACK_ORDER if t in set(tl["track"].to_list())] if tl.height else []
    for track in present:
        sub = tl.filter(pl.col("track") == track)
        hover = [
            f"<b>{s}</b><br>{o:%Y-%m-%d}<br>source: {u.rsplit('/', 1)[-1]}<br>at: {loc}<br>by: {ex}"
            for s, o, u, loc, ex in zip(sub["summary"], sub["observed_at"], sub["source_uri"], sub["locator"],
                                        sub["extractor"], strict=True)
        ]
        fig.add_trace(go.Scatter(
            x=sub["observed_at"].to_list(), y=[track] * sub.height, mode="markers", name=track,
            marker={"size": 14, "color": TRACK_COLOURS.get(track, "#999"), "line": {"width": 1, "color": "white"}},
            hovertext=hover, hoverinfo="text",
            customdata=list(zip(sub["source_table"], sub["source_sha256"], sub["locator"], strict=True)),
        ))
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 30}, showlegend=False,
        font={"size": BIG_FONT}, hoverlabel={"font_size": 16},
        yaxis={"categoryorder": "array", "categoryarray": list(reversed(present)), "title": None},
        xaxis={"title": None},
    )
    return fig
