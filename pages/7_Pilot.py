"""Pilot go/no-go review: verdict against thresholds fixed in advance, plots, drill-down, CSV/PDF export."""
from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from core.governance import audit
from core.pilot import drilldown, export, figures, report
from core.pilot.threshold_admin import threshold_history
from pages import _cached as c
from pages import _pilot_cached as pc
from pages._auth import current_user, page_guard

page_guard()

BANNER = {"go": st.success, "no-go": st.error, "extend": st.warning}
STATUS_ICON = {"met": "✅ met", "not met": "❌ not met", "not enough data": "⏳ not enough data"}

version = c.require_store()
user = current_user()
if user is None or not user.can("view_masked"):
    st.error("Your role may not view the pilot review.")
    st.stop()
st.title("Pilot go / no-go review")
board, tsha = pc.board_state(), pc.thresholds_sha()
win = pc.default_window(version, board, tsha)
a, b = st.columns(2)
start = a.date_input("From", win.start, key="pilot_start")
end = b.date_input("To (included)", win.end, key="pilot_end")
if end < start:
    st.error("The window ends before it starts.")
    st.stop()
rv = pc.review(version, board, tsha, start, end)
st.caption(f"{rv.cases.height} decided cases ({rv.n_decisions_in_window} decisions recorded in the window) · "
           f"default window {win.text()}")

v = str(rv.outcome.verdict)
BANNER[v](f"**Verdict: {v.upper()}**  \n" + "  \n".join(f"• {r}" for r in rv.outcome.reasons))
for note in rv.notes:
    st.warning(note)

meta = rv.config.meta
st.subheader("Thresholds (fixed in advance, read-only here)")
st.caption(f"data/pilot/thresholds.toml · sha256 `{rv.config.sha256[:16]}…` · fixed on {meta.get('fixed_on')} by "
           f"{meta.get('approved_by')} · version {meta.get('version')}"
           + (f" · amended on {meta['amended_on']}" if meta.get("amended_on") else "")
           + ". Met = the whole 95% interval on the right side with n ≥ min n; otherwise not enough data.")
tab = report.threshold_table(rv)
show = tab.select("threshold_id", "description", "estimate", "n", "threshold", "min_n", "critical",
                  pl.col("status").replace_strict(STATUS_ICON, default=pl.col("status")), "reason", "detail")
st.dataframe(show, hide_index=True, width="stretch", key="pilot_thresholds")
with st.expander("Changing a threshold (admin, audited)"):
    st.markdown("Thresholds cannot be edited here. An admin changes one with  \n"
                "`python -m core pilot set-threshold ID VALUE --actor NAME --reason TEXT`  \n"
                "(the file is rewritten, its version bumped and an audit entry with old/new value and both file "
                "hashes appended; the page then flags the amendment).")
    hist = threshold_history(c.board_writer())
    if hist:
        st.dataframe(pl.DataFrame(hist, infer_schema_length=None), hide_index=True, key="pilot_threshold_history")
    else:
        st.caption("No threshold change recorded in the audit log.")

st.subheader("Plots")
figs = figures.review_figures(rv)
tabs = st.tabs(list(figs))
for t, (name, fig) in zip(tabs, figs.items()):
    t.plotly_chart(fig, width="stretch", key=f"pilot_fig_{name}")

st.subheader("Cases behind a number")
labels = {r["metric"]: f"{r['threshold_id']} — {r['estimate']}, n={r['n']}" for r in tab.iter_rows(named=True)
          if r["metric"] in rv.measured}
metric = st.selectbox("Metric", list(labels), format_func=labels.get, key="pilot_drill_metric")
if metric is not None:
    drill = drilldown.drilldown(rv, metric)
    counts = drilldown.drill_counts(drill)
    st.caption(f"numerator {counts['numerator']} · denominator only {counts['denominator only']} · not counted "
               f"{counts['not counted']} · the metric's n = {rv.measured[metric].n}")
    drill = drill.with_columns(pl.format("/patient?patient={}", pl.col("patient_id")).alias("open"))
    st.dataframe(drill, hide_index=True, width="stretch", key="pilot_drill",
                 column_config={"open": st.column_config.LinkColumn("patient", display_text=r"patient=(.*)")})

st.subheader("Export for the steering committee")
if not user.can("export"):
    st.caption("Your role may not export.")
    st.stop()
stamp = f"{rv.window.start:%Y%m%d}-{rv.window.end:%Y%m%d}"
x, y, z = st.columns(3)


def audit_export(kind: str) -> None:
    with c.board_writer().transaction() as cur:
        audit.append(cur, user.username, "pilot.export", stamp, {"format": kind, "verdict": v, "cases": rv.cases.height,
                                                                  "thresholds_sha256": rv.config.sha256})


if x.download_button("Metrics CSV", export.metrics_csv(rv), file_name=f"pilot-metrics-{stamp}.csv", mime="text/csv",
                     key="pilot_csv_metrics"):
    audit_export("metrics csv")
if y.download_button("Cases CSV", export.cases_csv(rv), file_name=f"pilot-cases-{stamp}.csv", mime="text/csv",
                     key="pilot_csv_cases"):
    audit_export("cases csv")
if z.button("Prepare PDF", key="pilot_pdf"):
    with st.spinner("Rendering the PDF…"), tempfile.TemporaryDirectory() as d:
        pdf = export.export_pdf(rv, Path(d) / "pilot.pdf", figs).read_bytes()
    audit_export("pdf")
    z.download_button("Download PDF", pdf, file_name=f"pilot-review-{stamp}.pdf", mime="application/pdf",
                      key="pilot_pdf_download")
