import duckdb
import pytest

from core.store import schema
from core.store.schema import PROVENANCE_NAMES, Phi


def test_migrations_apply_and_are_idempotent():
    con = duckdb.connect()
    v = schema.migrate(con)
    assert v == max(m.version for m in schema.EVIDENCE_MIGRATIONS)
    assert schema.migrate(con) == v
    rows = con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [m.version for m in schema.EVIDENCE_MIGRATIONS]


def test_every_evidence_table_carries_the_provenance_contract():
    evidence = [t for t in schema.TABLES_V1 if t.evidence]
    assert len(evidence) >= 12
    for t in evidence:
        names = [c.name for c in t.columns]
        for p in PROVENANCE_NAMES:
            assert p in names, f"{t.name} lacks {p}"


@pytest.mark.parametrize("table,column", [
    ("patients", "given_name"), ("patients", "family_name"), ("patients", "mrn"), ("patients", "birth_date"),
    ("imaging_instances", "dicom_patient_name"), ("imaging_instances", "dicom_patient_id"),
    ("notes", "text"), ("patient_identifiers", "value"),
])
def test_phi_columns_are_classified(table, column):
    t = schema.EVIDENCE_TABLES[table]
    assert t.column(column).phi in (Phi.DIRECT, Phi.FREE_TEXT)


def test_board_store_is_separate_and_classified():
    con = duckdb.connect()
    schema.migrate(con, schema.BOARD_MIGRATIONS)
    assert "decisions" in {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "attendees" in schema.phi_columns("decisions")


@pytest.mark.parametrize("table,column,ok", [
    ("patients", "sex", True), ("patients; DROP TABLE x", None, False), ("variants", "nope", False),
])
def test_identifier_check(table, column, ok):
    if ok:
        schema.check_identifier(table, column)
    else:
        with pytest.raises((ValueError, KeyError)):
            schema.check_identifier(table, column)
