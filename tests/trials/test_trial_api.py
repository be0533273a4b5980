"""Ranking, what to test next, match_all / trial_matches, and the CLI."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from trial_store_builder import AS_OF, StoreBuilder

from core.trials.api import MATCH_COLUMNS, criteria_table, match_patient, what_to_test_next
from core.trials.bulk import match_all, write_trial_matches

ROOT = Path(__file__).resolve().parents[2]


def trial(pid: str, *nodes: dict, suspended: str = "N", arms: int = 1) -> dict:
    base = [{"clinical": {"oncotree_primary_diagnosis": "Colorectal Adenocarcinoma", "age_numerical": ">=18"}}]
    arm = {"arm_code": "A", "arm_suspended": suspended, "match": [{"and": base + list(nodes)}]}
    return {"protocol_no": pid, "title": f"[DEMO] {pid}", "demo": True, "treatment_list": {"step": [{"arm": [arm]}]}}


MMR = {"genomic": {"hugo_symbol": "None", "mmr_status": "MMR-Deficient"}}
BRAF_V600E = {"genomic": {"hugo_symbol": "BRAF", "variant_category": "Mutation", "protein_change": "p.V600E"}}
BRAF_GENE = {"genomic": {"hugo_symbol": "BRAF", "variant_category": "Mutation"}}
KRAS_WT = {"genomic": {"hugo_symbol": "KRAS", "wildtype": True}}
ER_POS = {"clinical": {"er_status": "Positive"}}
PDL1 = {"clinical": {"pdl1_tps_numerical": ">=50"}}
ALK = {"genomic": {"hugo_symbol": "ALK", "variant_category": "Structural Variation"}}


@pytest.fixture
def ranked_store() -> StoreBuilder:
    b = StoreBuilder()
    for doc in (trial("T-MMR", MMR), trial("T-BRAF-V600E", BRAF_V600E), trial("T-BRAF-GENE", BRAF_GENE),
                trial("T-KRAS-WT", KRAS_WT), trial("T-UNK1", ER_POS), trial("T-UNK2", ER_POS, PDL1),
                trial("T-UNK-ALK", ALK), trial("T-NOT", {"clinical": {"gender": "Male"}}),
                trial("T-CLOSED", BRAF_V600E, suspended="Y")):
        b.trial(doc, f"{doc['protocol_no']}.yml")
    b.patient("crc", sex="female", birth_date=date(1955, 2, 2), oncotree="COAD")
    b.panel("crc", ["BRAF", "KRAS", "NRAS"])
    b.variant("crc", "BRAF", "p.V600E", level="1")
    b.biomarker("crc", "MSI", value_text="MSI-H", status="positive")
    b.patient("other", sex="male", birth_date=date(1950, 1, 1), oncotree="LUAD")
    return b


def test_ranking_follows_matchminer_then_unknowns(ranked_store: StoreBuilder) -> None:
    r = match_patient(ranked_store.con, "crc", as_of=AS_OF)
    assert r.columns == list(MATCH_COLUMNS)
    assert r["trial_id"].to_list() == ["T-MMR", "T-BRAF-V600E", "T-BRAF-GENE", "T-KRAS-WT", "T-UNK-ALK", "T-UNK1",
                                       "T-UNK2", "T-NOT", "T-CLOSED"]
    rows = {x["trial_id"]: x for x in r.iter_rows(named=True)}
    assert rows["T-MMR"]["priority_reason"] == "MMR deficient / MSI-H"
    assert (rows["T-BRAF-V600E"]["match_level"], rows["T-BRAF-GENE"]["match_level"]) == ("variant", "gene")
    assert rows["T-KRAS-WT"]["priority_reason"] == "wild-type"
    assert rows["T-UNK2"]["n_to_resolve"] == 2 and rows["T-UNK2"]["tests_to_resolve"] == [
        "test ER (IHC)", "test PD-L1 (TPS)"]
    assert rows["T-UNK-ALK"]["tests_to_resolve"] == ["test ALK (fusion)"]
    assert rows["T-CLOSED"]["status"] == "met" and not rows["T-CLOSED"]["is_open"]
    assert r["rank"].to_list() == list(range(1, 10))


def test_what_to_test_next(ranked_store: StoreBuilder) -> None:
    t = what_to_test_next(ranked_store.con, "crc", as_of=AS_OF)
    assert t["test"].to_list() == ["test ALK (fusion)", "test ER (IHC)", "test PD-L1 (TPS)"]
    er = t.row(1, named=True)
    assert er["resolves_arms"] == 2 and er["arms"] == ["T-UNK1 / A", "T-UNK2 / A"]
    assert what_to_test_next(ranked_store.con, "other", as_of=AS_OF).height == 0


def test_criteria_table_and_errors(ranked_store: StoreBuilder) -> None:
    t = criteria_table(ranked_store.con, "crc", "T-MMR", "A", as_of=AS_OF)
    mmr = t.filter(pl.col("node") == "genomic").row(0, named=True)
    assert mmr["status"] == "met" and mmr["evidence_table"] == "biomarkers" and mmr["reason"].startswith("MSI/MMR")
    assert mmr["source_uri"] == "test://crc/report.json" and mmr["locator"] == "Observation/MSI"
    age = t.filter(pl.col("description") == "age >= 18 years").row(0, named=True)
    assert age["evidence_table"] == "patients" and age["source_uri"] == "test://crc/fhir.json"
    with pytest.raises(LookupError):
        match_patient(ranked_store.con, "nobody")
    with pytest.raises(KeyError, match="no arm"):
        criteria_table(ranked_store.con, "crc", "T-MMR", "Z")


def test_match_all_and_trial_matches(ranked_store: StoreBuilder) -> None:
    con = ranked_store.con
    m = match_all(con, as_of=AS_OF, batch_size=1)  # one patient per batch exercises the id filter
    assert m.height == 2 * 9
    mine = match_patient(con, "crc", as_of=AS_OF)
    same = m.filter(pl.col("patient_id") == "crc").sort("rank_score", descending=True)
    assert same["trial_id"].to_list() == mine["trial_id"].to_list()
    assert same["rank_score"].to_list() == mine["rank_score"].to_list()
    n = write_trial_matches(con, m)
    stored = con.execute("SELECT status, count(*) FROM trial_matches GROUP BY 1 ORDER BY 1").fetchall()
    assert n == sum(k for _, k in stored) and {s for s, _ in stored} == {"met", "unknown"}
    doc = json.loads(con.execute("SELECT criteria_json FROM trial_matches WHERE patient_id = 'crc' "
                                 "AND trial_id = 'T-BRAF-V600E'").fetchone()[0])
    assert doc["n_to_resolve"] == 0
    braf = [c for c in doc["criteria"] if c["path"].endswith("genomic")][0]
    assert braf["status"] == "met" and braf["evidence"].startswith("variants:")
    write_trial_matches(con, m.filter(pl.col("patient_id") == "crc"), replace_all=False)
    assert con.execute("SELECT count(*) FROM trial_matches").fetchone()[0] == n


def test_cli_load_and_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import core.ingest.run as run
    from core.__main__ import main
    from core.store import db

    monkeypatch.setenv("TB_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("TB_MANIFEST_DIR", str(tmp_path / "no-manifests"))
    monkeypatch.setattr(run, "FORMAT_MODULES", ("core.ingest.ctml",))  # only this module's format
    with db.evidence_writer() as con:
        b = StoreBuilder(con)
        b.patient("P1", sex="female", birth_date=date(1960, 1, 1), oncotree="IDC")
        b.panel("P1", ["PIK3CA", "TP53"])
        b.variant("P1", "PIK3CA", "p.H1047R", level="1")
        b.con  # noqa: B018 - flushes the rows
    ctml = ROOT.parent / "shared" / "fixtures" / "ctml"
    assert main(["load-trials", str(ctml), str(ROOT / "data" / "trials")]) == 0
    out = capsys.readouterr().out
    assert "trials in store: 27" in out and "CtmlWarning" in out
    assert main(["match-trials"]) == 0
    assert "matched 1 patients x 32 arms" in capsys.readouterr().out
    assert main(["match-trials", "--patient", "P1", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "met" in out and "00-000 / A" in out and "variants:" in out
    with db.connect_readonly() as con:
        assert con.execute("SELECT count(*) FROM trial_matches WHERE status = 'met'").fetchone()[0] == 1
