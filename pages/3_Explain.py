"""Why did the model say that? SHAP by feature and by modality, modality ablation, global importance."""
from __future__ import annotations

import streamlit as st

from core.models import figures
from core.models.attention import ATTENTION_CAVEAT, patient_attention
from core.models.read import CAVEAT, EXPLAINED_SPACE
from pages import _cached as c
from pages import _widgets as w
from pages._auth import page_guard

page_guard()

version = c.require_store()
pid = c.patient_picker(version)
st.title(f"Explanation · {pid}")
st.info(CAVEAT)
try:
    ex = c.explanation(version, pid)
except LookupError as e:
    st.warning(f"No model available: {e}. Run `python -m core train` then `python -m core score`.")
    st.stop()
pred = ex["prediction"]
w.prediction_block(pred)
if ex["on_demand"]:
    st.caption("Computed now for this patient (not a stored board-case prediction).")
base = pred.get("base_value")
a, b = st.columns(2)
with a:
    st.subheader("By feature (SHAP)")
    st.caption(f"Bars add up from the baseline {base:.2f} ({EXPLAINED_SPACE}, the average patient) to this "
               "patient's output." if base is not None else "")
    st.plotly_chart(figures.shap_waterfall(ex["attributions"], base), width="stretch", key="shap_waterfall")
with b:
    st.subheader("By modality (summed SHAP)")
    st.plotly_chart(figures.modality_bars(ex["modalities"], base), width="stretch", key="modality_bars")
    st.subheader("Modality ablation")
    st.caption("Risk re-computed with each modality removed, and with each modality alone.")
    st.plotly_chart(figures.ablation_bars(ex["ablations"]), width="stretch", key="ablation_bars")
    st.subheader("Attention weights (comparison model)")
    st.caption(ATTENTION_CAVEAT)
    try:
        att = patient_attention(c.cursor(), pid)
    except (LookupError, FileNotFoundError, ValueError) as e:
        st.info(f"No attention comparison model to show: {e}")
    else:
        st.plotly_chart(figures.attention_bars(att.weights), width="stretch", key="attention_bars")
        st.caption(f"Attention-fusion risk {att.risk:.2f}, trained with served version {att.model_version}; "
                   "see docs/MODEL_CARD.md, Fusion strategies compared.")
g = c.global_explanations(version)
with st.expander("Across the cohort: global importance and average ablation"):
    if g["importance"].height:
        st.plotly_chart(figures.global_importance_bars(g["importance"]), width="stretch", key="global_importance")
    st.dataframe(g["cohort_ablation"], hide_index=True, key="cohort_ablation")
    if g["card"]:
        st.caption(f"Model {g['card']['model_id']} v{g['card']['version']} · training data "
                   f"{g['card']['training_data_hash'][:12]} · see docs/MODEL_CARD.md")
