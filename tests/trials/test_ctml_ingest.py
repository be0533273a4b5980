"""core/ingest/ctml.py through the batch driver: fixtures land, bad trials are reported, the rest lands."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import core.ingest.run as run
from core.ingest.ctml import INGESTER
from core.store.schema import migrate

ROOT = Path(__file__).resolve().parents[2]
CTML = ROOT.parent / "shared" / "fixtures" / "ctml"

GOOD = """
protocol_no: {pno}
title: "[DEMO] {pno}"
demo: true
treatment_list:
  step:
  - arm:
    - arm_code: A
      match:
      - clinical:
          oncotree_primary_diagnosis: Breast
          age_numerical: "{age}"
"""


@pytest.fixture
def con(monkeypatch: pytest.MonkeyPatch) -> duckdb.DuckDBPyConnection:
    monkeypatch.setattr(run, "FORMAT_MODULES", ("core.ingest.ctml",))  # independent of other formats
    c = duckdb.connect()
    migrate(c)
    return c


def test_detects_ctml_only() -> None:
    assert INGESTER.detect(Path("t.yml"), b"protocol_no: X\ntreatment_list:")
    assert INGESTER.detect(Path("t.json"), b'{"treatment_list": {}}')
    assert not INGESTER.detect(Path("b.json"), b'{"resourceType": "Bundle"}')
    assert not INGESTER.detect(Path("t.txt"), b"protocol_no: X")


def test_all_fixtures_and_demo_trials_land(con: duckdb.DuckDBPyConnection) -> None:
    s = run.ingest_paths(con, [CTML, ROOT / "data" / "trials"], seed="t")
    assert s.failed == 0 and s.unrecognised == 2  # the two licence files
    rows = dict(con.execute("SELECT trial_id, is_demo FROM trials").fetchall())
    assert len(rows) == 5 + len(list((ROOT / "data" / "trials").glob("*.yml")))
    assert {"00-000", "99-9999", "99-9999@matchengineV2_structured_sv", "99-9999@matchengineV2_tmb",
            "matchengineV2_11-112"} <= set(rows)
    assert rows["DEMO-LUNG-001"] is True and rows["00-000"] is False
    warnings = con.execute("SELECT locator, severity FROM ingest_errors ORDER BY locator").fetchall()
    assert {sev for _, sev in warnings} == {"warning"}
    assert ("trial matchengineV2_11-112: protocol_no", "warning") in warnings
    again = run.ingest_paths(con, [CTML], seed="t")
    assert again.skipped == 5 and again.ingested == 0


def test_bad_trial_is_reported_and_the_rest_lands(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    (tmp_path / "two.yml").write_text(
        "- " + GOOD.format(pno="OK-1", age=">=18").strip().replace("\n", "\n  ") + "\n"
        + "- " + GOOD.format(pno="BAD-1", age="adults").strip().replace("\n", "\n  ") + "\n")
    (tmp_path / "broken.yml").write_text("protocol_no: X\ntreatment_list: [\n")
    (tmp_path / "fine.yml").write_text(GOOD.format(pno="OK-2", age=">=21"))
    s = run.ingest_paths(con, [tmp_path], seed="t")
    assert s.ingested == 1 and s.failed == 2
    assert sorted(r[0] for r in con.execute("SELECT trial_id FROM trials").fetchall()) == ["OK-1", "OK-2"]
    errs = con.execute("SELECT source_uri, locator, error_type, message FROM ingest_errors "
                       "WHERE severity = 'error' ORDER BY source_uri").fetchall()
    assert errs[0][0].endswith("broken.yml") and errs[0][2] == "CtmlSyntaxError" and "line" in errs[0][3]
    assert errs[1][0].endswith("two.yml")
    assert errs[1][1] == "trial BAD-1: treatment_list.step[0].arm[0].match[0].clinical.age_numerical"
    assert "'>=18'" in errs[1][3]


def test_amended_file_replaces_its_trial(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    f = tmp_path / "t.yml"
    f.write_text(GOOD.format(pno="AM-1", age=">=18"))
    run.ingest_paths(con, [f], seed="t")
    f.write_text(GOOD.format(pno="AM-1", age=">=21"))
    run.ingest_paths(con, [f], seed="t")
    rows = con.execute("SELECT trial_id, ctml_json FROM trials").fetchall()
    assert len(rows) == 1 and ">=21" in rows[0][1]
    other = tmp_path / "other.yml"
    other.write_text(GOOD.format(pno="AM-1", age=">=30"))   # another file reusing the protocol number
    run.ingest_paths(con, [other], seed="t")
    assert sorted(r[0] for r in con.execute("SELECT trial_id FROM trials").fetchall()) == ["AM-1", "AM-1@other"]
