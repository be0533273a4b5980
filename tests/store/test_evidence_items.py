"""evidence_items: the materialised patient_evidence is exactly the live union, and never stale."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from core.ingest import run
from core.store import db, evidence_items, queries

FHIR = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "fhir"


def _live(con, pid: str) -> pl.DataFrame:
    return queries.frame(con, queries._EVIDENCE_SQL, {"pid": pid})


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    """Same rows (ties in the ORDER BY may come in any order) and the same dtypes."""
    return a.schema == b.schema and a.sort(a.columns, nulls_last=True).equals(b.sort(b.columns, nulls_last=True))


def _served(con, pid: str) -> pl.DataFrame:
    assert evidence_items.usable(con), "a published version must be served from evidence_items"
    return queries.patient_evidence(con, pid)


@pytest.fixture
def store(tmp_path) -> Path:
    with db.evidence_writer(tmp_path) as con:
        run.ingest_paths(con, [FHIR / "mcode_breast_cancer_patient.json", FHIR / "synthea_colon_cancer_patient.json"],
                         seed="test")
    return tmp_path


def test_materialised_rows_equal_the_live_union(store):
    with db.connect_readonly(store) as con:
        pids = [r[0] for r in con.execute("SELECT patient_id FROM patients").fetchall()]
        assert len(pids) == 2
        for pid in pids:
            served = _served(con, pid)
            assert served.height > 10
            assert _same(served, _live(con, pid))


def test_a_later_writer_refreshes_the_patients_it_touched(store):
    with db.connect_readonly(store) as con:
        pid = con.execute("SELECT patient_id FROM labs LIMIT 1").fetchone()[0]
        before = _served(con, pid).height
    with db.evidence_writer(store) as con:
        row = con.execute("SELECT * FROM labs WHERE patient_id = ? LIMIT 1", [pid]).fetchall()
        cols = [d[0] for d in con.description]
        new = dict(zip(cols, row[0], strict=True)) if row else None
        assert new is not None
        new.update(lab_id="added-by-test", name="added lab")
        con.execute(f"INSERT INTO labs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [new[c] for c in cols])
    with db.connect_readonly(store) as con:
        served = _served(con, pid)
        assert served.height == before + 1
        assert served.filter(pl.col("summary").str.starts_with("added lab")).height == 1
        assert _same(served, _live(con, pid))


def test_rows_written_without_a_refresh_are_never_served_stale(store):
    import duckdb

    path = db.current_evidence_path(store)

    with duckdb.connect(str(path)) as con:  # behind the writer's back: no refresh
        pid = con.execute("SELECT patient_id FROM labs LIMIT 1").fetchone()[0]
        con.execute("INSERT INTO labs SELECT * REPLACE ('extra' AS lab_id) FROM labs WHERE patient_id = ? LIMIT 1",
                    [pid])
    with duckdb.connect(str(path), read_only=True) as con:
        assert not evidence_items.usable(con)
        assert _same(queries.patient_evidence(con, pid), _live(con, pid))
