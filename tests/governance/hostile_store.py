"""Script and SQL injection payloads ingested through the real CLI into a copy of the demo store."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from served_app import ROOT, copy_store

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SQL = "'; DROP TABLE patients; --"
PAYLOADS = (SCRIPT, IMG, SQL)
XSS_MRN = "XSS0000001"
# File names carry payloads too (no '/' allowed): they are shown as fact sources and captions.
NOTE_NEW = '<img src=x onerror="window.__xss=1">.txt'
NOTE_AGENDA = "x'><img src=x onerror=window.__xss=1>.txt"


@dataclass(frozen=True)
class HostileStore:
    env: dict[str, str]
    agenda_patient: str     # first case of the upcoming meeting; got a hostile note
    xss_patient: str        # new patient whose FHIR name and note header are payloads
    counts_before: dict[str, int]


def _note(mrn: str, patient: str, when: date) -> str:
    return (f"MRN: {mrn}\nPATIENT: {patient}\nDOB: 1960-01-01\nNOTE TYPE: Progress Note {SCRIPT}\n"
            f"DATE OF SERVICE: {when:%Y-%m-%d}\nAUTHOR: Dr. {SQL}\n--------\n"
            f"ASSESSMENT: {SCRIPT} Metastatic lung adenocarcinoma. {IMG}\n"
            f"ECOG performance status 1. PD-L1 TPS 80%. {SQL}\n"
            f"PLAN: discuss at tumor board {IMG} {SCRIPT}\n")


def current_counts(store_dir: Path) -> dict[str, int]:
    from core.store import db

    con = duckdb.connect(str(db.current_evidence_path(store_dir)), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in names}
    finally:
        con.close()


def build_hostile_store(demo_env: dict[str, str], base: Path) -> HostileStore:
    """Copy the demo store, write the hostile FHIR bundle and notes, ingest them with ``python -m core ingest``."""
    from core.fhir import writer as W
    from core.ingest.base import MRN_SYSTEM
    from core.store import db

    env = copy_store(demo_env, base / "store")
    root = Path(env["TB_STORE_DIR"])
    before = current_counts(root)
    con = db.connect_readonly(root)
    try:
        pid, mrn = con.execute("""
            SELECT c.patient_id, i.value FROM board_cases c JOIN board_meetings m USING (meeting_id)
            JOIN patient_identifiers i ON i.patient_id = c.patient_id AND i.system = ?
            WHERE m.scheduled_at >= now() ORDER BY m.scheduled_at, c.position LIMIT 1""", [MRN_SYSTEM]).fetchall()[0]
    finally:
        con.close()
    files = base / "hostile"
    files.mkdir(parents=True, exist_ok=True)
    today = date.today()
    p = W.patient(XSS_MRN, sex="female", birth_date=date(1960, 1, 1), given=IMG, family=SCRIPT)
    p["name"][0]["given"].append(SQL)
    cond = W.cancer_condition(W.ref(p), oncotree="LUAD", onset=today - timedelta(days=90), stage="IV")
    (files / "xss_patient.json").write_text(json.dumps(W.bundle([p, cond])))
    (files / NOTE_NEW).write_text(_note(XSS_MRN, f"{SCRIPT}, {IMG}", today - timedelta(days=2)))
    (files / NOTE_AGENDA).write_text(_note(mrn, f"{SQL}, {IMG}", today - timedelta(days=1)))
    r = subprocess.run([sys.executable, "-m", "core", "ingest", str(files)], cwd=ROOT, env={**os.environ, **env},
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    con = db.connect_readonly(root)
    try:
        xss_pid = con.execute("SELECT patient_id FROM patient_identifiers WHERE system = ? AND value = ?",
                              [MRN_SYSTEM, XSS_MRN]).fetchall()[0][0]
    finally:
        con.close()
    return HostileStore(env, pid, xss_pid, before)
