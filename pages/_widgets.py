"""Small Streamlit renderers shared by pages (UI only: no SQL, no models)."""
from __future__ import annotations

import html
import json

import streamlit as st

from core.board.case_summary import CaseSummary, Fact

LEVEL_COLOURS = {"1": "#33A02C", "2": "#1F78B4", "3A": "#984EA3", "3B": "#BE98CE", "4": "#424242",
                 "R1": "#EE3424", "R2": "#F79A92"}
STATUS_ICON = {"altered": "🟣 altered", "wild type": "⚪ wild type", "not tested": "❔ not tested"}


def fact_line(f: Fact | None, *, empty: str = "not on file", show_source: bool = True) -> str:
    if f is None:
        return f"<i>{html.escape(empty)}</i>"
    when = f" · {f.observed_at:%Y-%m-%d}" if f.observed_at else ""
    src = html.escape(f.source_uri.rsplit("/", 1)[-1])
    tag = f"<span style='color:#666;font-size:0.8em'>[{src}]</span>" if show_source else ""
    return (f"<span title='{src} @ {html.escape(f.locator)}'><b>{html.escape(f.label)}</b>: "
            f"{html.escape(f.value)}{when}</span> {tag}")


def summary_card(s: CaseSummary, *, big: bool = False) -> None:
    """Key drivers, biomarkers, latest imaging, therapy, open questions; every fact with its source on hover."""
    size = "1.35rem" if big else "1rem"
    src = not big  # the shared screen shows facts; sources stay one hover away
    lines = [fact_line(s.ecog, empty="ECOG not documented", show_source=src),
             fact_line(s.latest_imaging, empty="no imaging on file", show_source=src),
             fact_line(s.current_therapy, empty="no systemic therapy on file", show_source=src)]
    lines += [fact_line(d, show_source=src) for d in s.drivers[:6]] or ["<i>no actionable variant on file</i>"]
    lines += [fact_line(b, show_source=src) for b in s.biomarkers[:6]]
    gs = " · ".join(f"{g}: {STATUS_ICON[v]}" for g, v in s.gene_status.items())
    body = "<br>".join(lines)
    st.markdown(f"<div style='font-size:{size};line-height:1.5'>{body}</div>", unsafe_allow_html=True)
    if gs:
        if big:  # a caption is too small to read from the back of the room
            st.markdown(f"<div style='font-size:1.1rem'>Key genes — {html.escape(gs)}</div>", unsafe_allow_html=True)
        else:
            st.caption("Key genes — " + gs)
    if s.open_questions:
        st.warning("Open questions: " + "; ".join(s.open_questions))


def prediction_block(pred: dict | None, *, big: bool = False) -> None:
    if not pred:
        st.info("No model output stored for this patient.")
        return
    used = ", ".join(pred.get("modalities_used") or []) or "none"
    missing = ", ".join(pred.get("modalities_missing") or []) or "none"
    # the shared screen's metric column is narrow: a label Streamlit would cut off is shortened there
    st.metric("12-month risk" if big else "12-month progression risk (calibrated)", f"{pred['risk']:.2f}",
              help="Probability of progression or death within 12 months; interval = bootstrap/conformal range")
    st.markdown(f"<div style='font-size:{'1.3rem' if big else '1rem'}'>interval <b>{pred['risk_low']:.2f}–"
                f"{pred['risk_high']:.2f}</b> · used: {html.escape(used)} · missing: {html.escape(missing)}</div>",
                unsafe_allow_html=True)
    st.caption(f"model {pred.get('model_id')} v{pred.get('model_version')} · training data "
               f"{str(pred.get('training_data_hash') or '')[:12]} · scored {pred.get('scored_at')}")


def source_view(v) -> None:
    """Render an opened source: the note with its span highlighted, a file line, FHIR JSON, or a DICOM slice."""
    st.caption(f"{v.source_uri} @ {v.locator}" + ("" if v.intact is None else
                                                   (" · file unchanged since ingest ✅" if v.intact else
                                                    " · file CHANGED since ingest ⚠️")))
    if v.kind == "note":
        t = v.text
        if v.highlight:
            a, b = v.highlight
            t = html.escape(t[:a]) + "<mark style='background:#ffe066'>" + html.escape(t[a:b]) + "</mark>" + html.escape(t[b:])
        else:
            t = html.escape(t)
        # Streamlit turns <pre> into a div and drops its style, so line breaks are made explicit
        t = t.replace("\n", "<br>")
        st.markdown(f"<pre style='white-space:pre-wrap;font-size:0.95rem'>{t}</pre>", unsafe_allow_html=True)
    elif v.kind == "text_line":
        st.code("\n".join(v.context + [v.text]), language=None)
    elif v.kind == "fhir":
        try:
            st.json(json.loads(v.text), expanded=False)
        except ValueError:
            st.code(v.text)
    elif v.kind == "dicom" and v.file_path:
        from core.imaging.pixels import load_slice, window

        st.image(window(load_slice(v.file_path), -600, 1500), caption="lung window", width=360)
    else:
        st.info(v.text)
