import pytest

from core.governance import audit
from core.store.db import BoardWriter


@pytest.fixture
def writer(tmp_path):
    w = BoardWriter(tmp_path / "board.duckdb")
    yield w
    w.close()


def _fill(w, n=5):
    for i in range(n):
        with w.transaction() as cur:
            audit.append(cur, "dr.a", "patient.view_unmasked", f"PT{i}", {"page": "patient"})


def test_intact_chain_verifies(writer):
    _fill(writer)
    r = audit.verify(writer.read())
    assert r.ok and r.entries == 5


@pytest.mark.parametrize("tamper,bad_seq,word", [
    ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", 3, "edited"),
    ("DELETE FROM audit_log WHERE seq = 2", 3, "deleted"),
    ("UPDATE audit_log SET detail = '{}' WHERE seq = 5", 5, "edited"),
])
def test_tampering_is_detected(writer, tamper, bad_seq, word):
    _fill(writer)
    with writer.transaction() as cur:
        cur.execute(tamper)
    r = audit.verify(writer.read())
    assert not r.ok and r.first_bad_seq == bad_seq and word in r.reason


def test_revision_moves_with_every_board_write(writer):
    with writer.read() as cur:
        assert audit.revision(cur) == 0
    _fill(writer, 3)
    with writer.read() as cur:
        assert audit.revision(cur) == 3
