"""Patient evidence: summary, timeline with sources, imaging, genomics, model output, decisions."""
from __future__ import annotations

import polars as pl
import streamlit as st

from core.governance.masking import display_name
from core.imaging.recist import CAVEAT, THRESHOLDS_TEXT, response_table
from core.ui.figures import timeline_figure
from core.ui.response_figures import response_figure
from pages import _agenda_cached as ac
from pages import _cached as c
from pages import _widgets as w
from pages._auth import audit_unmasked_view, current_user, page_guard

page_guard()

version = c.require_store()
mask = st.session_state.get("mask_phi", True)
pid = c.patient_picker(version)
user = current_user()
if not mask and user is not None:
    audit_unmasked_view(user, pid)

row = c.patient(version, pid)
s = c.case_summary(version, pid)
response = ac.response_headline(version, pid)
st.title(display_name(row, mask=mask))
h = st.columns(6)
h[0].metric("Age", s.age_years if s.age_years is not None else "?")
h[1].metric("Sex", s.sex or "?")
h[2].metric("Diagnosis", s.oncotree_code or s.cancer_type or "?")
h[3].metric("Stage", s.stage or "?")
h[4].metric("ECOG", s.ecog.value if s.ecog else "?")
h[5].metric("Missing", ", ".join(s.missing_modalities) or "none")

tabs = st.tabs(["Summary", "Timeline & sources", "Imaging", "Genomics", "Model output", "All evidence", "Decisions"])
with tabs[0]:
    left, right = st.columns([3, 2])
    with left:
        w.summary_card(s)
    with right:
        w.prediction_block(s.prediction)
        if response.flag:
            st.error(response.flag, icon="🔴")
        for d in s.discrepancies:
            st.error(f"Discrepancy ({d.get('kind')}): {d.get('description')}")
        for t in s.triggers:
            st.warning(f"Review trigger — {t.get('trigger')}: {t.get('reason')}")
        if st.button("Export case summary (HTML + PDF)", key="export_case"):
            from pages._export import case_downloads

            case_downloads(pid, masked=mask)
with tabs[1]:
    tl = c.timeline(version, pid)
    st.plotly_chart(timeline_figure(tl), width="stretch", key="timeline")
    st.caption("Hover a point for its source; pick an item below to open it.")
    if tl.height:
        opts = list(range(tl.height))
        k = st.selectbox("Open source of", opts, key="open_source_pick",
                         format_func=lambda i: f"{tl['observed_at'][i]:%Y-%m-%d} · {tl['track'][i]} · {tl['summary'][i][:90]}")
        v = c.open_source(tl["source_table"][k], tl["source_sha256"][k], tl["locator"][k])
        if mask and v.kind in ("note", "fhir"):
            st.info("Source text hidden while PHI is masked. Turn masking off (oncologist role) to read it.")
        else:
            w.source_view(v)
with tabs[2]:
    from pages import _imaging

    _imaging.render(version, pid)
    st.subheader("Response (RECIST 1.1-style)")
    series = ac.response_series(version, pid)
    if response.flag:
        st.error(response.flag, icon="🔴")
    if series.height:
        st.markdown(f"**Latest:** {response.line}")
        st.plotly_chart(response_figure(series, last_board_at=response.last_board_at), width="stretch",
                        key="response_figure")
        st.dataframe(response_table(series), hide_index=True, width="stretch", key="response_table",
                     column_config={"date": st.column_config.DateColumn(format="YYYY-MM-DD"),
                                    "reason": st.column_config.TextColumn(width="large")})
    else:
        st.info("No lesion measurements on file: response cannot be assessed.")
    st.caption(THRESHOLDS_TEXT)
    st.caption(CAVEAT)
with tabs[3]:
    st.subheader("Variants")
    st.dataframe(c.variants(version, pid), hide_index=True, width="stretch", key="variants_table")
    st.subheader("Key genes: altered / wild type / not tested")
    st.dataframe(pl.DataFrame({"gene": list(s.gene_status), "status": list(s.gene_status.values())}),
                 hide_index=True, key="gene_status_table")
    st.caption("'not tested' means no panel of this patient covered the gene: it is unknown, not negative. "
               "Actionability levels follow the OncoKB scheme, mapped from CIViC evidence (docs/ACTIONABILITY.md).")
with tabs[4]:
    w.prediction_block(s.prediction)
    st.page_link("pages/3_Explain.py", label="Why? Open the explanation", icon="🔍")
with tabs[5]:
    ev = c.patient_evidence(version, pid)
    kinds = sorted(set(ev["kind"].to_list()))
    pick = st.multiselect("Kinds", kinds, default=kinds, key="evidence_kinds")
    shown = ev.filter(pl.col("kind").is_in(pick))
    if mask:
        shown = shown.with_columns(pl.when(pl.col("kind").is_in(["note", "note event"])).then(pl.lit("•••"))
                                   .otherwise(pl.col("summary")).alias("summary"))
    st.dataframe(shown.select(["observed_at", "modality", "kind", "summary", "source_uri", "locator", "source_sha256",
                               "extractor", "extractor_version", "ingested_at", "ingest_run_id"]),
                 hide_index=True, width="stretch", key="evidence_table")
with tabs[6]:
    from core.board.decisions import case_history

    hist = case_history(c.board_writer(), pid)
    st.dataframe(hist.drop(["attendees"]) if mask else hist, hide_index=True, width="stretch", key="history_table")
