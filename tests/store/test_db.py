import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import pytest

from core.store import db


def test_writer_publishes_new_version_atomically(tmp_path):
    with db.evidence_writer(tmp_path) as con:
        con.execute("INSERT INTO patients (patient_id, cohort) VALUES ('P1', 'historical')")
    v1 = db.current_version(tmp_path)
    with db.evidence_writer(tmp_path) as con:
        con.execute("INSERT INTO patients (patient_id, cohort) VALUES ('P2', 'historical')")
    v2 = db.current_version(tmp_path)
    assert v1 != v2
    ro = db.connect_readonly(tmp_path)
    assert ro.execute("SELECT count(*) FROM patients").fetchone()[0] == 2
    with pytest.raises(duckdb.Error):
        ro.execute("INSERT INTO patients (patient_id) VALUES ('P3')")
    ro.close()


def test_failed_writer_keeps_old_version(tmp_path):
    with db.evidence_writer(tmp_path) as con:
        con.execute("INSERT INTO patients (patient_id) VALUES ('P1')")
    v1 = db.current_version(tmp_path)
    with pytest.raises(RuntimeError):
        with db.evidence_writer(tmp_path) as con:
            con.execute("INSERT INTO patients (patient_id) VALUES ('P2')")
            raise RuntimeError("boom")
    assert db.current_version(tmp_path) == v1
    ro = db.connect_readonly(tmp_path)
    assert ro.execute("SELECT count(*) FROM patients").fetchone()[0] == 1
    ro.close()


def test_sigkilled_writer_leaves_store_consistent_and_rerun_completes(tmp_path):
    with db.evidence_writer(tmp_path) as con:
        con.execute("INSERT INTO patients (patient_id) VALUES ('P1')")
    v1 = db.current_version(tmp_path)
    code = textwrap.dedent(f"""
        import time, pathlib
        from core.store import db
        with db.evidence_writer(pathlib.Path({str(tmp_path)!r})) as con:
            con.execute("INSERT INTO patients (patient_id) VALUES ('P2')")
            print('ready', flush=True)
            time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert db.current_version(tmp_path) == v1
    # the stale lock of the dead writer is taken over and a re-run completes
    with db.evidence_writer(tmp_path) as con:
        con.execute("INSERT INTO patients (patient_id) VALUES ('P2')")
    ro = db.connect_readonly(tmp_path)
    assert sorted(r[0] for r in ro.execute("SELECT patient_id FROM patients").fetchall()) == ["P1", "P2"]
    ro.close()


def test_board_writer_serialises_concurrent_writes(tmp_path):
    import threading

    w = db.BoardWriter(tmp_path / "board.duckdb")

    def write(i):
        for j in range(20):
            with w.transaction() as cur:
                cur.execute("INSERT INTO decisions (decision_id, patient_id) VALUES (?, ?)", [f"{i}-{j}", "P"])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cur = w.read()
    assert cur.execute("SELECT count(*) FROM decisions").fetchone()[0] == 80
    cur.close()
    w.close()
