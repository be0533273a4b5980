"""CTML loading: every shared fixture and demo trial loads; bad input names the trial and the field."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.trials.ctml import parse_trial, read_documents
from core.trials.model import CtmlError

ROOT = Path(__file__).resolve().parents[2]
CTML_FIXTURES = ROOT.parent / "shared" / "fixtures" / "ctml"
DEMO_TRIALS = ROOT / "data" / "trials"

# file -> (trial id, arm ids, number of leaf criteria per arm)
FIXTURES = {
    "matchminer_engine_trial.example.yml": ("00-000", ["A"], [4]),
    "matchengineV2_11-112.json": ("matchengineV2_11-112", ["ARM1", "ARM2"], [15, 15]),
    "matchengineV2_signatures.json": ("99-9999", ["DOSE"], [10]),
    "matchengineV2_structured_sv.json": ("99-9999", ["DOSE #1", "DOSE #2"], [18, 5]),
    "matchengineV2_tmb.json": ("99-9999", ["DOSE"], [5]),
}


def load(path: Path):
    docs = read_documents(path.read_bytes(), path.name)
    assert len(docs) == 1
    return parse_trial(docs[0], fallback_id=path.stem)


def test_every_ctml_fixture_is_covered() -> None:
    present = {p.name for p in CTML_FIXTURES.iterdir() if p.suffix in (".yml", ".yaml", ".json")}
    assert present == set(FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_loads(name: str) -> None:
    trial, warnings = load(CTML_FIXTURES / name)
    trial_id, arms, n_leaves = FIXTURES[name]
    assert trial.trial_id == trial_id
    assert [a.arm_id for a in trial.arms] == arms
    assert [len(a.leaves()) for a in trial.arms] == n_leaves
    assert not any(c.key == "unsupported" for a in trial.arms for c in a.leaves())
    if name == "matchengineV2_11-112.json":  # no protocol_no in the file: a warning, not a failure
        assert [w.path for w in warnings] == ["protocol_no"]
    else:
        assert warnings == []


def test_fixture_criteria_are_parsed_as_matchminer_means_them() -> None:
    arm1, arm2 = load(CTML_FIXTURES / "matchengineV2_11-112.json")[0].arms
    braf1, braf2 = arm1.leaves()[0], arm2.leaves()[0]
    assert braf1.params[0].wildcard_protein_change == "p.V600" and not braf1.negate
    assert braf2.negate  # "!Mutation" negates the whole genomic node
    sv = load(CTML_FIXTURES / "matchengineV2_structured_sv.json")[0].arms[0].leaves()
    tp53 = sv[2]
    assert tp53.params[0].gene == "TP53" and tp53.params[0].category == "SV" and tp53.negate
    kif5b = next(c for c in sv if c.params and getattr(c.params[0], "gene", None) == "KIF5B")
    assert kif5b.params[0].fusion_partner == "ALK" and kif5b.level.value == "variant"
    sig = load(CTML_FIXTURES / "matchengineV2_signatures.json")[0].arms[0].leaves()
    assert {(c.key, c.params) for c in sig} >= {("biomarker_status", ("TOBACCO", "yes")),
                                                  ("biomarker_status", ("UVA", "no"))}
    tmb = load(CTML_FIXTURES / "matchengineV2_tmb.json")[0].arms[0].leaves()
    assert [c.params for c in tmb] == [("TMB", ">=", 10.0), ("TMB", ">", 15.0), ("TMB", "<=", 40.0),
                                       ("TMB", "<", 40.0), ("TMB", "==", 40.0)]


def test_demo_trials_are_marked_and_cover_three_cancers() -> None:
    files = sorted(DEMO_TRIALS.glob("*.yml"))
    assert 18 <= len(files) <= 25
    trials = []
    for f in files:
        trial, warnings = load(f)
        assert warnings == [], f.name
        assert trial.is_demo and trial.title.startswith("[DEMO]") and trial.protocol_no.startswith("DEMO-")
        assert "NOT a real registry record" in f.read_text()
        trials.append(trial)
    assert len({t.trial_id for t in trials}) == len(trials)
    keys = {c.key for t in trials for a in t.arms for c in a.leaves()}
    assert keys == {"oncotree", "age", "variant", "biomarker_numeric", "biomarker_status"}
    groups = {t.protocol_no.split("-")[1] for t in trials}
    assert groups == {"LUNG", "BRST", "CRC", "AGN"}


BASE = """
protocol_no: BAD-001
treatment_list:
  step:
  - arm:
    - arm_code: A
      match:
      - and:
        - clinical:
            oncotree_primary_diagnosis: Breast
            age_numerical: ">=18"
        - genomic:
            hugo_symbol: EGFR
            variant_category: Mutation
"""


@pytest.mark.parametrize("old,new,field", [
    ('age_numerical: ">=18"', 'age_numerical: "eighteen"', "match[0].and[0].clinical.age_numerical"),
    ("variant_category: Mutation", "variant_category: Mutations of sorts",
     "match[0].and[1].genomic.variant_category"),
    ("variant_category: Mutation", "exon: nineteen", "match[0].and[1].genomic.exon"),
    ("variant_category: Mutation", "protein_change: 858", "match[0].and[1].genomic.protein_change"),
    ("variant_category: Mutation", "cnv_call: Huge", "match[0].and[1].genomic.cnv_call"),
    ("oncotree_primary_diagnosis: Breast", "gender: Unknown", "match[0].and[0].clinical.gender"),
    ("hugo_symbol: EGFR", "hugo_symbol: None", "match[0].and[1].genomic.hugo_symbol"),
    ("      - and:", "      - and: notalist\n      - or:", "match[0].and"),
])
def test_validation_errors_name_trial_and_field(old: str, new: str, field: str) -> None:
    doc = yaml.safe_load(BASE.replace(old, new))
    with pytest.raises(CtmlError, match="trial BAD-001") as e:
        parse_trial(doc, fallback_id="bad")
    paths = [p.path for p in e.value.problems]
    assert f"treatment_list.step[0].arm[0].{field}" in paths, paths


def test_missing_treatment_list_is_an_error() -> None:
    with pytest.raises(CtmlError, match=r"trial BAD-002: treatment_list: missing"):
        parse_trial({"protocol_no": "BAD-002"}, fallback_id="x")


def test_syntax_errors_say_where() -> None:
    with pytest.raises(ValueError, match=r"YAML syntax error at line \d+ column \d+"):
        read_documents(b"protocol_no: X\ntreatment_list:\n  step: [a, b\n", "bad.yml")
    with pytest.raises(ValueError, match="JSON syntax error at line 1"):
        read_documents(b'{"protocol_no": ', "bad.json")


def test_unsupported_key_is_a_warning_and_an_unknown_criterion() -> None:
    doc = yaml.safe_load(BASE.replace("age_numerical", "prior_lines_of_therapy"))
    trial, warnings = parse_trial(doc, fallback_id="x")
    path = "treatment_list.step[0].arm[0].match[0].and[0].clinical.prior_lines_of_therapy"
    assert [w.path for w in warnings] == [path]
    assert "unknown" in warnings[0].reason
    assert [c.key for c in trial.arms[0].leaves()].count("unsupported") == 1


def test_diagnosis_outside_the_subset_warns() -> None:
    doc = yaml.safe_load(BASE.replace("Breast", "Thymic Carcinoma"))
    _, warnings = parse_trial(doc, fallback_id="x")
    assert any("not in the bundled OncoTree subset" in w.reason for w in warnings)


def test_list_of_trials_and_three_letter_protein_changes() -> None:
    two = yaml.safe_dump([yaml.safe_load(BASE), {**yaml.safe_load(BASE), "protocol_no": "BAD-003"}]).encode()
    docs = read_documents(two, "two.yml")
    assert [parse_trial(d, fallback_id="x")[0].trial_id for d in docs] == ["BAD-001", "BAD-003"]
    doc = yaml.safe_load(BASE.replace("variant_category: Mutation", "protein_change: p.Leu858Arg"))
    spec = parse_trial(doc, fallback_id="x")[0].arms[0].leaves()[2].params[0]
    assert spec.protein_change == "p.L858R" and spec.category == "MUTATION"
