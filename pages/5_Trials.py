"""Trial-matching hints: ranked arms, every criterion met / not met / unknown with its evidence, what to test next."""
from __future__ import annotations

import polars as pl
import streamlit as st

from pages import _cached as c
from pages._auth import page_guard

page_guard()

version = c.require_store()
pid = c.patient_picker(version)
st.title(f"Trial hints · {pid}")
st.caption("DEMO trials are synthetic examples, not registry records. A hint is not eligibility: "
           "'unknown' means the data to decide is not on file — never that the patient fails the criterion.")
m = c.trial_matches(version, pid)
if m.height == 0:
    st.info("No trials loaded. `python -m core ingest data/trials` loads the demo trials.")
    st.stop()
show_closed = st.toggle("Show arms that do not match", value=False, key="show_not_met")
view = m if show_closed else m.filter(pl.col("status") != "not met")
counts = m.group_by("status").len()
st.markdown(" · ".join(f"**{r['len']}** arms {r['status']}" for r in counts.iter_rows(named=True)))
st.dataframe(view.select(["rank", "status", "protocol_no", "title", "arm", "match_level", "priority_reason",
                          "n_met", "n_not_met", "n_unknown", "tests_to_resolve"]),
             hide_index=True, width="stretch", key="trial_table")

nxt = c.tests_next(version, pid)
if nxt.height:
    st.subheader("What to test next")
    for r in nxt.iter_rows(named=True):
        st.markdown(f"- **{r['test']}** would decide {r['resolves_arms']} of the best undecided arms "
                    f"({', '.join(r['arms'])})")

st.subheader("Criteria of one arm")
options = [f"{r['trial_id']}|{r['arm']}" for r in view.iter_rows(named=True)]
if options:
    pick = st.selectbox("Arm", options, key="trial_arm",
                        format_func=lambda o: " · ".join(o.split("|")))
    tid, arm = pick.split("|")
    crit = c.trial_criteria(version, pid, tid, arm)
    icon = {"met": "✅", "not met": "❌", "unknown": "❔"}
    st.dataframe(crit.with_columns(pl.col("status").replace_strict(icon, default="").alias("")).select(
        ["", "status", "description", "reason", "test_to_resolve", "evidence_table", "source_uri", "locator",
         "observed_at", "path"]), hide_index=True, width="stretch", key="criteria_table")
