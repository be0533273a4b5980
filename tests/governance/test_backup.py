import pytest

from core.board.decisions import Decision, record_decision
from core.governance.backup import backup, restore
from core.store import db


def test_backup_restore_roundtrip_and_tamper_refused(tmp_path):
    root = tmp_path / "store"
    with db.evidence_writer(root) as con:
        con.execute("INSERT INTO patients (patient_id) VALUES ('P1')")
    w = db.BoardWriter(db.board_path(root))
    record_decision(w, Decision("M", "P1", "surveillance", "", "accepted", "none", "", ("onc",), "dr"), {"a": 1}, "v")
    out = backup(tmp_path / "bk", root, writer=w)
    record_decision(w, Decision("M", "P1", "surveillance", "", "accepted", "none", "", ("onc",), "dr"), {"a": 2}, "v")
    w.close()
    with db.evidence_writer(root) as con:
        con.execute("INSERT INTO patients (patient_id) VALUES ('P2')")
    restore(out, root)
    ro = db.connect_readonly(root)
    assert [r[0] for r in ro.execute("SELECT patient_id FROM patients").fetchall()] == ["P1"]
    ro.close()
    w = db.BoardWriter(db.board_path(root))
    assert w.read().execute("SELECT count(*) FROM decisions").fetchone()[0] == 1
    w.close()
    (out / "board.duckdb").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="sha256"):
        restore(out, root)
