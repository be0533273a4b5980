"""Registry, stored outputs for every board case, retraining keeps earlier predictions, read API, figures."""
from __future__ import annotations

import math
import shutil

import plotly.graph_objects as go
import polars as pl
import pytest

from core.models import figures, read
from core.models.registry import entries, load_model
from core.models.score import board_case_patients, model_outputs, score_and_write, write_outputs
from core.models.train import train_and_register
from core.store import db


@pytest.fixture(scope="module")
def scored(syn, tmp_path_factory):
    """A copy of the synthetic store, trained and scored twice (two model versions)."""
    root = tmp_path_factory.mktemp("registry") / "store"
    shutil.copytree(syn[0], root)
    mp = pytest.MonkeyPatch()
    mp.setenv("TB_MODELS_DIR", str(tmp_path_factory.mktemp("models")))
    versions = []
    for seed in (0, 1):
        with db.evidence_writer(root) as con:
            res = train_and_register(con, seed=seed, n_members=2, cv_folds=0)
            score_and_write(con, res.model, res.entry)
            versions.append(res.entry.version)
    con = db.connect_readonly(root)
    yield con, versions, root
    con.close()
    mp.undo()


def test_registry_keeps_every_version(scored):
    con, versions, _ = scored
    reg = entries(con)
    assert set(reg["version"].to_list()) == set(versions) and len(set(versions)) == 2
    assert reg["training_data_hash"].n_unique() == 1  # same data, different seeds
    assert all(reg["metrics_json"].str.contains("global_importance"))


def test_retraining_keeps_earlier_predictions(scored):
    con, versions, _ = scored
    pid = board_case_patients(con)[0]
    hist = read.prediction_history(con, pid)
    assert set(hist["model_version"].to_list()) == set(versions)
    assert read.latest_prediction(con, pid)["model_version"] == versions[1]


def test_every_board_case_has_full_outputs(scored):
    con, versions, _ = scored
    cases = board_case_patients(con)
    assert len(cases) == 10
    for pid in cases:
        p = read.latest_prediction(con, pid)
        assert p is not None and p["risk_low"] <= p["risk"] <= p["risk_high"]
        assert set(p["modalities_used"]) | set(p["modalities_missing"]) == {"imaging", "notes", "genomics", "clinical"}
        attr = read.attributions(con, p["prediction_id"])
        mods = read.modality_contributions(con, p["prediction_id"])
        # stored SHAP is additive in calibrated log-odds
        assert p["base_value"] + attr["shap_value"].sum() == pytest.approx(math.log(p["risk"] / (1 - p["risk"])), abs=1e-6)
        assert mods["shap_value"].sum() == pytest.approx(attr["shap_value"].sum(), abs=1e-9)
        ab = read.ablations(con, p["prediction_id"])
        assert ab.filter(pl.col("scenario") == "all")["risk"][0] == pytest.approx(p["risk"])
        assert set(ab.filter(pl.col("scenario") == "without")["modality"]) == set(p["modalities_used"])


def test_triggers_and_discrepancies_are_stored(scored, syn):
    con, _, _ = scored
    # P0000 carries a planted note-vs-VCF discrepancy
    trig = read.review_triggers(con, "P0000")
    assert "cross_modal_discrepancy" in trig["trigger"].to_list()
    disc = read.discrepancies(con, "P0000")
    assert disc.height == 1 and disc["a_table"][0] == "note_events" and disc["b_table"][0] == "variants"
    assert all(r for r in trig["reason"].to_list())


def test_rescoring_same_version_replaces_rows(scored):
    con, versions, root = scored
    before = con.execute("SELECT count(*) FROM predictions").fetchone()[0]
    with db.evidence_writer(root) as w:
        model, entry = load_model(w)
        out = model_outputs(w, model, entry, board_case_patients(w))
        write_outputs(w, out, discrepancies_for=[])
        after = w.execute("SELECT count(*) FROM predictions").fetchone()[0]
        n_attr = w.execute("SELECT count(*) FROM attributions WHERE prediction_id IN (SELECT unnest(?))",
                           [out.predictions["prediction_id"].to_list()]).fetchone()[0]
    assert after == before and n_attr == out.attributions.height


def test_tampered_artifact_is_refused(scored, tmp_path):
    from core.models.artifact import load_artifact
    from core.models.registry import get_entry, resolve_artifact

    con, _, _ = scored
    e = get_entry(con)
    bad = tmp_path / "bad.json"
    good = resolve_artifact(e.artifact_path).read_bytes()
    bad.write_bytes(good.replace(b'"threshold":0.5', b'"threshold":0.9'))
    assert bad.read_bytes() != good
    with pytest.raises(ValueError, match="does not match"):
        load_artifact(bad, e.artifact_sha256)
    with pytest.raises(FileNotFoundError, match="python -m core train"):
        load_artifact(tmp_path / "missing.json")


def test_on_demand_matches_shapes_and_global_views(scored):
    con, _, _ = scored
    od = read.explain_on_demand(con, "P0100")
    assert 0 < od.prediction["risk"] < 1
    assert {"feature", "modality", "shap_value"} <= set(od.attributions.columns)
    gi = read.global_importance(con)
    assert gi.height > 5 and gi["mean_abs_shap"].is_sorted(descending=True)
    assert set(read.cohort_ablation(con)["scenario"]) == {"without", "only"}


def test_figures_render(scored):
    con, _, _ = scored
    p = read.latest_prediction(con, "P0000")
    attr = read.attributions(con, p["prediction_id"])
    wf = figures.shap_waterfall(attr, p["base_value"])
    assert isinstance(wf, go.Figure)
    x = list(wf.data[0].x)
    assert x[0] == pytest.approx(p["base_value"]) and wf.data[0].measure[-1] == "total"
    assert x[-1] == pytest.approx(math.log(p["risk"] / (1 - p["risk"])), abs=1e-6)
    assert "log-odds" in wf.layout.xaxis.title.text
    mods = read.modality_contributions(con, p["prediction_id"])
    assert isinstance(figures.modality_bars(mods, p["base_value"]), go.Figure)
    assert len(figures.ablation_bars(read.ablations(con, p["prediction_id"])).data) == 2
    assert isinstance(figures.global_importance_bars(read.global_importance(con)), go.Figure)
