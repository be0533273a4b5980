"""The Explain page shows the attention comparison model's modality weights beside SHAP and ablation
(Streamlit AppTest on a copy of the synthetic store), and says so when the artifact is missing."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
CAVEAT_END = "they are not attributions and the served model is late fusion"


@pytest.fixture(scope="module")
def trained(syn, tmp_path_factory):
    """(base folder, served version) after `train` on a copy of the synthetic store."""
    from core.models.train import train_and_register
    from core.store import db

    base = tmp_path_factory.mktemp("explain_attention")
    shutil.copytree(syn[0], base / "store")
    mp = pytest.MonkeyPatch()
    mp.setenv("TB_STORE_DIR", str(base / "store"))
    mp.setenv("TB_MODELS_DIR", str(base / "models"))
    mp.setenv("TB_DEMO_DIR", str(base / "demo"))
    with db.evidence_writer() as con:
        res = train_and_register(con, n_members=2, cv_folds=0)
    yield base, res.entry
    mp.undo()


def _explain_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["user"] = at.session_state["role"] = "oncologist"
    at.session_state["last_activity"] = time.time()
    at.switch_page("pages/3_Explain.py")
    return at.run()


def _chart_titles(at: AppTest) -> list[str]:
    return [json.loads(el.proto.spec)["layout"]["title"]["text"] for el in at.get("plotly_chart")]


def test_train_saves_the_attention_model_beside_the_served_artifact(trained):
    base, entry = trained
    info = entry.metrics["attention_model"]
    assert info["served"] is False and info["artifact_path"].endswith(".attention.json")
    assert (base / "models" / info["artifact_path"]).parent == (base / "models" / entry.artifact_path).parent
    assert (base / "models" / info["artifact_path"]).is_file()


def test_explain_page_shows_attention_beside_shap_and_ablation(trained):
    at = _explain_page()
    assert not at.exception, [e.value for e in at.exception]
    heads = [s.value for s in at.subheader]
    for h in ("By feature (SHAP)", "Modality ablation", "Attention weights (comparison model)"):
        assert h in heads
    captions = " ".join(c.value for c in at.caption)
    assert "where the comparison model looked, not why" in captions and CAVEAT_END in captions
    titles = _chart_titles(at)
    assert any(t.startswith("Attention weight by modality") for t in titles)
    assert any(t.startswith("Modality ablation") for t in titles)


def test_explain_page_says_so_when_the_attention_artifact_is_missing(trained, monkeypatch):
    base, entry = trained
    other = base / "models_without_attention"
    shutil.copytree(base / "models", other)
    (other / entry.metrics["attention_model"]["artifact_path"]).unlink()
    monkeypatch.setenv("TB_MODELS_DIR", str(other))
    at = _explain_page()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No attention comparison model" in i.value and "missing" in i.value for i in at.info)
    assert not any(t.startswith("Attention weight by modality") for t in _chart_titles(at))
    assert any(t.startswith("Modality ablation") for t in _chart_titles(at))  # the rest of the page still works
