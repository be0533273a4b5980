"""Patient linking: the identifier index loaded once per run never hides an identifier written since."""
from __future__ import annotations

import duckdb

from core.ingest.base import MRN_SYSTEM, IngestContext, SourceFile
from core.store import schema


def _ctx(tmp_path) -> tuple[IngestContext, SourceFile]:
    con = duckdb.connect()
    schema.migrate(con)
    f = tmp_path / "src.txt"
    f.write_text("x")
    return IngestContext(con=con, run_id="run-test", pseudonym_key=b"k" * 32), SourceFile.from_path(f)


def test_identifier_registered_after_the_index_was_loaded_links_to_its_patient(tmp_path):
    ctx, src = _ctx(tmp_path)
    first = ctx.link_patient(MRN_SYSTEM, "111", src)  # loads the MRN index of this run
    ctx.identifiers_committed()
    ctx.con.execute("INSERT INTO patients (patient_id, cohort) VALUES ('PT_FROM_FHIR', 'historical')")
    ctx.register_identifier(MRN_SYSTEM, "123", "PT_FROM_FHIR", src)  # e.g. a FHIR Patient's MRN
    ctx.identifiers_committed()
    assert ctx.link_patient(MRN_SYSTEM, "123", src, deferred=True) == "PT_FROM_FHIR"
    assert ctx.link_patient(MRN_SYSTEM, "111", src) == first


def test_identifier_written_behind_the_context_is_still_found(tmp_path):
    ctx, src = _ctx(tmp_path)
    ctx.link_patient(MRN_SYSTEM, "111", src)
    ctx.con.execute("INSERT INTO patient_identifiers (system, value, patient_id) VALUES (?, '999', 'PT_OTHER')",
                    [MRN_SYSTEM])
    assert ctx.link_patient(MRN_SYSTEM, "999", src, deferred=True) == "PT_OTHER"
    ctx.flush()
    assert ctx.con.execute("SELECT count(*) FROM patients WHERE patient_id <> ?", [ctx.pseudonym(MRN_SYSTEM, "111")]
                           ).fetchall()[0][0] == 0  # no orphan patient made for 999


def test_rollback_forgets_identifiers_and_buffered_patients(tmp_path):
    ctx, src = _ctx(tmp_path)
    pid = ctx.link_patient(MRN_SYSTEM, "555", src, deferred=True)
    ctx.update_patient(pid, deferred=True, sex="female")
    ctx.rolled_back()
    ctx.flush()
    assert ctx.con.execute("SELECT count(*) FROM patients").fetchall()[0][0] == 0
    assert ctx.link_patient(MRN_SYSTEM, "555", src, deferred=True) == pid  # created again, deterministically
    ctx.flush()
    assert ctx.con.execute("SELECT count(*) FROM patients").fetchall()[0][0] == 1
