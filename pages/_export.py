"""Case export download buttons (UI only)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from core.governance import audit
from core.report.case_export import export_case
from pages import _cached as c


def case_downloads(patient_id: str, *, masked: bool) -> None:
    with st.spinner("Rendering the case summary…"), tempfile.TemporaryDirectory() as d:
        h, p = export_case(c.cursor(), patient_id, Path(d), masked=masked)
        html_bytes, pdf_bytes = h.read_bytes(), p.read_bytes()
    with c.board_writer().transaction() as cur:
        audit.append(cur, st.session_state.get("user", "demo"), "case.export", patient_id, {"masked": masked})
    a, b = st.columns(2)
    a.download_button("Download HTML", html_bytes, file_name=f"case-{patient_id}.html", mime="text/html",
                      key="dl_case_html")
    b.download_button("Download PDF", pdf_bytes, file_name=f"case-{patient_id}.pdf", mime="application/pdf",
                      key="dl_case_pdf")
