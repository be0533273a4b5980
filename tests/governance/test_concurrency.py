"""Concurrency and durability: sessions during an ingest, concurrent decisions, a SIGKILLed ingest.

(a) four dashboard sessions keep working while ``python -m core ingest`` writes a new store
    version, decisions saved meanwhile are all found, and every session then shows the new version;
(b) decisions written from many threads through the one board writer are all found and the
    audit chain verifies;
(c) an ingest killed with SIGKILL mid-run leaves CURRENT on the old, intact version and a
    re-run completes.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from served_app import ROOT, chromium, copy_store, exceptions_shown, login, open_sidebar_page, serve, wait_idle

NEW_PATIENTS = 6


def generate_files(out: Path, n: int = NEW_PATIENTS, seed: int = 77) -> tuple[list[Path], list[str]]:
    """Files of ``n`` new synthetic patients (no DICOM), with sample ids that do not collide with the
    demo's; returns the folders to ingest and the patients' MRNs."""
    from core.synth.build import write_files
    from core.synth.cohort import draw_cohort
    from core.synth.patient_files import WriteOptions

    cohort = draw_cohort(n, seed)
    write_files(cohort, WriteOptions(demo_dir=out, seed=seed, images=False), workers=1, progress=False)
    for p in [*out.glob("manifests/*.csv"), *out.rglob("*.vcf"), *out.rglob("*.maf")]:
        p.write_text(p.read_text().replace("DEMO-S", f"NEW{seed}-S"))
    return sorted(q for q in out.iterdir() if q.is_dir()), [p.mrn for p in cohort]


def counts(store_dir: Path, mrns: list[str] = ()) -> dict[str, int]:
    """Row counts of a few tables in the current version, and how many of ``mrns`` are linked."""
    from core.ingest.base import MRN_SYSTEM
    from core.store import db

    con = duckdb.connect(str(db.current_evidence_path(store_dir)), read_only=True)
    try:
        out = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
               for t in ("patients", "notes", "sources", "labs")}
        out["new_mrns_linked"] = con.execute(
            "SELECT count(*) FROM patient_identifiers WHERE system = ? AND list_contains(?, value)",
            [MRN_SYSTEM, list(mrns)]).fetchall()[0][0]
        return out
    finally:
        con.close()


def start_ingest(env: dict[str, str], paths: list[Path]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", "ingest", *map(str, paths)], cwd=ROOT,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def new_files(tmp_path_factory) -> tuple[list[Path], list[str]]:
    return generate_files(tmp_path_factory.mktemp("newpatients"))


# ---- (b) concurrent decisions through the single board writer --------------------------------

def test_concurrent_decisions_all_found_and_audit_chain_verifies(tmp_path):
    from core.board.decisions import Decision, case_history, record_decision, verify_snapshot
    from core.governance import audit
    from core.store import db

    w = db.board_writer(tmp_path)
    threads_n, per_thread = 8, 25
    written: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def decide(t: int) -> None:
        try:
            for j in range(per_thread):
                d = Decision(f"M{t}", f"PT{j % 5}", "surveillance", f"thread {t} decision {j}", "accepted", "none",
                             "", ("oncology",), f"dr{t}")
                did = record_decision(db.board_writer(tmp_path), d, {"t": t, "j": j}, "v1")
                with lock:
                    written.append(did)
                case_history(w, f"PT{j % 5}")  # reads interleaved with writes
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            failures.append(e)

    def view(t: int) -> None:
        try:
            for j in range(per_thread):
                with w.transaction() as cur:
                    audit.append(cur, f"viewer{t}", "patient.view_unmasked", f"PT{j % 5}")
        except BaseException as e:  # noqa: BLE001
            failures.append(e)

    ts = [threading.Thread(target=decide, args=(i,)) for i in range(threads_n)]
    ts += [threading.Thread(target=view, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=300)
    assert not failures, failures
    cur = w.read()
    try:
        found = {r[0] for r in cur.execute("SELECT decision_id FROM decisions").fetchall()}
        n_audit_decisions = cur.execute("SELECT count(*) FROM audit_log WHERE action = 'decision.record'").fetchall()[0][0]
        r = audit.verify(cur)
    finally:
        cur.close()
    assert len(written) == threads_n * per_thread and set(written) == found
    assert n_audit_decisions == threads_n * per_thread
    assert r.ok and r.entries == threads_n * per_thread + 2 * per_thread, r
    assert all(verify_snapshot(w, d) for d in written[::17])


# ---- (c) SIGKILL mid-ingest ----------------------------------------------------------------------

def test_sigkilled_ingest_leaves_store_consistent_and_rerun_completes(demo_env, new_files, tmp_path):
    from core.store import db

    paths, mrns = new_files
    env = copy_store(demo_env, tmp_path / "store")
    root = Path(env["TB_STORE_DIR"])
    v1, before = db.current_version(root), counts(root, mrns)
    assert before["new_mrns_linked"] == 0
    p = start_ingest(env, paths)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(lambda: p.stderr.read(1), "")), daemon=True)
    reader.start()
    progressed = re.compile(r"ingest:\s+\d+%.*?\|\s*([1-9]\d*)/(\d+)")
    deadline = time.time() + 600
    while time.time() < deadline and p.poll() is None and not progressed.search("".join(err)):
        time.sleep(0.05)
    assert p.poll() is None, "ingest finished before it could be killed: " + "".join(err)[-2000:]
    m = progressed.search("".join(err))
    partial = [q for q in root.glob("evidence-*.duckdb") if q.name != v1]
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert m and int(m.group(1)) < int(m.group(2)), "not killed mid-run"
    assert partial, "the killed writer had not started its new version"
    assert db.current_version(root) == v1
    assert counts(root, mrns) == before
    assert (root / "writer.lock").exists()  # left behind by the dead writer

    r = subprocess.run([sys.executable, "-m", "core", "ingest", *map(str, paths)], cwd=ROOT,
                       env={**os.environ, **env}, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    after = counts(root, mrns)
    assert db.current_version(root) != v1
    assert after["new_mrns_linked"] == NEW_PATIENTS and after["patients"] >= before["patients"] + NEW_PATIENTS
    assert after["notes"] > before["notes"] and after["sources"] > before["sources"]
    assert not (root / "writer.lock").exists()


# ---- (a) dashboard sessions during a CLI ingest ----------------------------------------------------

SESSIONS = [("oncologist", True), ("oncologist", True), ("viewer", False), ("coordinator", False)]
ROUND = ["Presentation mode", "Patient evidence", "Trial hints", "Board agenda"]


def _save_decision(page, note: str) -> None:
    page.get_by_role("textbox", name="Attendees (comma separated)").fill("oncology, radiology")
    page.get_by_role("textbox", name="Recommendation details").fill(note)
    page.get_by_role("button", name="Save decision").click()
    page.get_by_text("Decision saved").wait_for(timeout=90_000)


def test_sessions_keep_working_during_ingest_and_switch_to_new_version(demo_env, new_files, tmp_path):
    from core.board.decisions import case_history  # noqa: F401  (import before the server holds the store)
    from core.governance import audit
    from core.store import db

    env = copy_store(demo_env, tmp_path / "store")
    root = Path(env["TB_STORE_DIR"])
    v1 = db.current_version(root)
    errors: list[str] = []
    saved: list[str] = []
    rounds = 0
    with serve(env, tmp_path / "app.log") as url, chromium() as browser:
        pages = []
        for user, _ in SESSIONS:
            pg = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            pg.on("pageerror", lambda e, u=user: errors.append(f"{u}: {e}"))
            login(pg, url, user)
            pages.append(pg)
        proc = start_ingest(env, new_files[0])
        try:
            while proc.poll() is None:
                title = ROUND[rounds % len(ROUND)]
                for pg in pages:  # start a rerun in every session, then wait for all: the server runs them together
                    pg.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
                for (user, decides), pg in zip(SESSIONS, pages):
                    wait_idle(pg)
                    errors.extend(f"{user} on {title}: {x}" for x in exceptions_shown(pg))
                    if decides and title == "Presentation mode":
                        note = f"concurrent decision {len(saved) + 1}"
                        _save_decision(pg, note)
                        saved.append(note)
                rounds += 1
            out, err = proc.communicate()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err[-3000:]
        v2 = db.current_version(root)
        assert v2 != v1 and counts(root, new_files[1])["new_mrns_linked"] == NEW_PATIENTS
        for (user, _), pg in zip(SESSIONS, pages):
            open_sidebar_page(pg, "Board agenda")
            pg.locator("[data-testid='stSidebar']").get_by_text(f"Store version: {v2}").wait_for(timeout=60_000)
            errors.extend(f"{user} after ingest: {x}" for x in exceptions_shown(pg))
            assert pg.get_by_role("button", name="Prepare").count() >= 5, f"{user}: agenda not served after ingest"
        open_sidebar_page(pages[0], "Presentation mode")
        _save_decision(pages[0], "decision after the ingest")
        saved.append("decision after the ingest")
    assert rounds >= 2, "the ingest ended before the sessions did anything"
    assert not errors, errors
    w = db.BoardWriter(db.board_path(root))
    try:
        cur = w.read()
        texts = [r[0] for r in cur.execute("SELECT recommendation_text FROM decisions").fetchall()]
        r = audit.verify(cur)
        cur.close()
    finally:
        w.close()
    assert sorted(texts) == sorted(saved), "a decision was lost or duplicated"
    assert r.ok, r
