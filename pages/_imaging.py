"""Imaging viewer tab: slice, window/level presets, lesion size over time, Grad-CAM overlay."""
from __future__ import annotations

import importlib.util

import plotly.express as px
import streamlit as st

from core.store import queries
from pages import _cached as c

PRESETS = {"lung": (-600, 1500), "mediastinum": (40, 400), "abdomen": (40, 350), "bone": (400, 1800)}


@st.cache_data(show_spinner=False)
def _instances(version: str, pid: str):
    return queries.imaging_instances(c.cursor(), pid)


@st.cache_data(show_spinner=False)
def _sizes(version: str, pid: str):
    return queries.lesion_sizes(c.cursor(), pid)


def render(version: str, pid: str, *, compact: bool = False) -> None:
    inst = _instances(version, pid)
    if inst.height == 0:
        st.info("No imaging on file for this patient.")
        return
    studies = inst.unique("study_uid", maintain_order=True)
    labels = {r["study_uid"]: f"{r['study_date']:%Y-%m-%d} · {r['study_description'] or 'CT'}"
              for r in studies.iter_rows(named=True)}
    from core.imaging.pixels import load_slice, window

    if compact:  # shared screen: the key slice of the latest study, large, no controls to fiddle with
        suid = list(labels)[-1]
        sl = inst.filter(inst["study_uid"] == suid)
        k = (sl.height + 1) // 2
        st.image(window(load_slice(sl["file_path"][k - 1]), *PRESETS["lung"]), width="stretch",
                 caption=f"{labels[suid]} · key slice {k}/{sl.height} · lung window")
        _size_chart(version, pid, compact)
        return
    suid = st.selectbox("Study", list(labels), index=len(labels) - 1, format_func=labels.get, key=f"study_{compact}")
    sl = inst.filter(inst["study_uid"] == suid)
    n = sl.height
    k = st.slider("Slice", 1, n, (n + 1) // 2, key=f"slice_{compact}") if n > 1 else 1
    preset = st.radio("Window", list(PRESETS), horizontal=True, key=f"window_{compact}")
    path = sl["file_path"][k - 1]
    hu = load_slice(path)
    cols = st.columns(2)
    cols[0].image(window(hu, *PRESETS[preset]), caption=f"{preset} window · slice {k}/{n}", width="stretch")
    if all(importlib.util.find_spec(m) for m in ("core.imaging.gradcam", "core.imaging.figures")):
        from core.imaging.figures import overlay_figure
        from core.imaging.gradcam import gradcam

        if cols[1].toggle("Grad-CAM overlay", key=f"gradcam_{compact}"):
            h_hu, heat = gradcam(path)
            cols[1].plotly_chart(overlay_figure(h_hu, heat, PRESETS[preset]), width="stretch", key=f"gc_{compact}")
            cols[1].caption("Grad-CAM shows where the image encoder looked, not where disease is.")
    _size_chart(version, pid, compact)


def _size_chart(version: str, pid: str, compact: bool) -> None:
    sizes = _sizes(version, pid)
    if sizes.height:
        fig = px.line(sizes.to_pandas(), x="observed_at", y="long_axis_mm", color="lesion_id", markers=True,
                      labels={"observed_at": "study date", "long_axis_mm": "long axis (mm)"})
        fig.update_layout(height=260 if compact else 300, font={"size": 18 if compact else 15},
                          margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Lesion size over time")
        st.plotly_chart(fig, width="stretch", key=f"sizes_{compact}")
