"""Pure functions: CT slice (+ Grad-CAM heatmap) -> plotly Figure. No Streamlit, no SQL."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.imaging.pixels import preset, window

# transparent where the heatmap is low, so the anatomy stays readable under it
HEAT_COLORSCALE = [
    [0.0, "rgba(0,0,0,0)"], [0.3, "rgba(0,0,0,0)"], [0.45, "rgba(255,237,160,0.35)"],
    [0.7, "rgba(253,141,60,0.55)"], [1.0, "rgba(227,26,28,0.75)"],
]


def _window(w: str | tuple[float, float]) -> tuple[float, float]:
    return preset(w) if isinstance(w, str) else (float(w[0]), float(w[1]))


def slice_figure(hu: np.ndarray, window_: str | tuple[float, float] = "lung", *, title: str | None = None,
                 height: int = 520) -> go.Figure:
    """A CT slice in a display window (preset name or (centre, width) HU), square pixels, row 0 on top."""
    c, w = _window(window_)
    img = window(hu, c, w)
    fig = go.Figure(go.Heatmap(z=img, colorscale="gray", zmin=0, zmax=255, showscale=False,
                               customdata=np.asarray(hu, dtype=np.float32).round(0),
                               hovertemplate="row %{y}, col %{x}<br>%{customdata} HU<extra></extra>"))
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
                      title=title, plot_bgcolor="black",
                      xaxis={"visible": False, "constrain": "domain"},
                      yaxis={"visible": False, "autorange": "reversed", "scaleanchor": "x", "constrain": "domain"})
    return fig


def overlay_figure(hu: np.ndarray, heatmap: np.ndarray, window: str | tuple[float, float] = "lung", *,
                   lesion_centre: tuple[float, float] | None = None, title: str | None = None,
                   height: int = 520) -> go.Figure:
    """Grad-CAM heatmap over the windowed slice, with its peak and (optionally) the annotated lesion centre.

    Args:
        hu: HU slice (H, W).
        heatmap: same shape, values in [0, 1] (``core.imaging.gradcam.gradcam``).
        window: display preset name ('lung', 'mediastinum', ...) or (centre, width) in HU.
        lesion_centre: (row, col) of the radiologist's annotation, drawn as a ring.

    Raises:
        ValueError: ``heatmap`` and ``hu`` differ in shape.
    """
    if np.shape(heatmap) != np.shape(hu):
        raise ValueError(f"heatmap shape {np.shape(heatmap)} differs from slice shape {np.shape(hu)}")
    fig = slice_figure(hu, window, title=title, height=height)
    fig.add_trace(go.Heatmap(z=np.asarray(heatmap, dtype=np.float32), zmin=0, zmax=1, colorscale=HEAT_COLORSCALE,
                             showscale=True, colorbar={"title": "Grad-CAM", "thickness": 12},
                             hovertemplate="Grad-CAM %{z:.2f}<extra></extra>", name="Grad-CAM"))
    r, c = np.unravel_index(int(np.argmax(heatmap)), np.shape(heatmap))
    fig.add_trace(go.Scatter(x=[c], y=[r], mode="markers", name="model focus",
                             marker={"symbol": "x-thin", "size": 14, "line": {"width": 3, "color": "cyan"}},
                             hovertemplate="Grad-CAM peak<br>row %{y}, col %{x}<extra></extra>"))
    if lesion_centre is not None:
        fig.add_trace(go.Scatter(x=[lesion_centre[1]], y=[lesion_centre[0]], mode="markers", name="annotated lesion",
                                 marker={"symbol": "circle-open", "size": 22, "line": {"width": 2, "color": "lime"}},
                                 hovertemplate="radiologist's lesion centre<extra></extra>"))
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.02, "x": 0})
    return fig
