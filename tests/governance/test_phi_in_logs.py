"""No PHI in logs: a demo build, a hostile ingest and a dashboard session, all logging at DEBUG.

The generator's truth table names every patient's name, MRN and birth date; the captured
stdout/stderr of ``build-demo -v``, of ``ingest -v`` over broken copies of real files that
carry that PHI in the broken fields, and of a served app walked by an oncologist (unmasked)
and an admin must contain none of them, nor any line of note text. Ingest error messages
stored in the store (shown on the Data page) are held to the same rule.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from served_app import ROOT, chromium, exceptions_shown, login, open_sidebar_page, serve, wait_idle

pytestmark = pytest.mark.browser

# Family names that are also ordinary words a log line may use in title case.
COMMON_WORDS = {"Long", "Young", "King", "Hill", "Green", "Hall", "Cook", "Price", "Bell", "Reed", "Ward", "Wood",
                "Gray", "Brown", "White", "Turner", "Baker", "Carter", "Cooper", "Parker", "Martin", "James", "Thomas",
                "Scott", "Kelly", "Russell", "Lee", "Kim", "Ross", "Cox", "Fisher", "Brooks", "Morgan", "Powell",
                "Bailey", "Butler", "Foster", "Sanders", "Perry", "Long", "Allen", "Adams", "Bennett", "Morris"}
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%B %d, %Y", "%d %B %Y", "%m/%d/%Y",
                "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d")


@dataclass
class Leak:
    kind: str
    term: str
    context: str

    def __str__(self) -> str:
        return f"{self.kind} {self.term!r} in: ...{self.context}..."


def phi_patterns(truth: pl.DataFrame) -> list[tuple[str, str, re.Pattern]]:
    """(kind, term, regex) for every generated patient's MRN, name forms and birth date forms."""
    out = []
    for r in truth.iter_rows(named=True):
        given, family, mrn, b = r["given_name"], r["family_name"], r["mrn"], r["birth_date"]
        out.append(("MRN", mrn, re.compile(rf"(?<!\d){re.escape(mrn)}(?!\d)")))
        g, f = re.escape(given), re.escape(family)
        out.append(("name", f"{given} {family}", re.compile(rf"\b(?:{g}[\s,^]+{f}|{f}[\s,^]+{g})\b", re.I)))
        out.append(("family name", family.upper(), re.compile(rf"\b{re.escape(family.upper())}\b")))
        if family not in COMMON_WORDS:
            out.append(("family name", family, re.compile(rf"\b{f}\b")))
        for fmt in DATE_FORMATS:
            s = b.strftime(fmt)
            out.append(("birth date", s, re.compile(rf"(?<![\d]){re.escape(s)}(?![\d])", re.I)))
    return out


def note_lines(demo_dir: Path, min_len: int = 40) -> set[str]:
    """Distinct body lines of the generated notes (free text), long enough to be specific."""
    lines: set[str] = set()
    for p in (demo_dir / "notes").rglob("*.txt"):
        text = p.read_text(encoding="utf-8", errors="replace")
        body = text.split("\n", 1)[1] if text.startswith("MRN") else text
        lines.update(s.strip() for s in body.splitlines() if len(s.strip()) >= min_len and ":" not in s[:20])
    return lines


def find_leaks(text: str, patterns: list[tuple[str, str, re.Pattern]], notes: set[str]) -> list[Leak]:
    leaks = []
    for kind, term, rx in patterns:
        m = rx.search(text)
        if m:
            leaks.append(Leak(kind, term, text[max(0, m.start() - 120): m.end() + 60].replace("\n", " | ")))
    for line in notes:
        i = text.find(line)
        if i >= 0:
            leaks.append(Leak("note text", line[:60], text[max(0, i - 120): i + 80].replace("\n", " | ")))
    return leaks


def _cli(env: dict[str, str], *args: str, log: Path) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "core", "-v", *args], cwd=ROOT, env={**os.environ, **env},
                       capture_output=True, text=True, timeout=900)
    log.write_text(f"$ {' '.join(args)}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}\n")
    return r


def write_hostile_copies(demo_dir: Path, truth: pl.DataFrame, out: Path) -> list[Path]:
    """Broken copies of real files whose broken field carries the patient's PHI."""
    out.mkdir(parents=True, exist_ok=True)
    p0, p1, p2 = (truth.row(i, named=True) for i in range(3))
    note = sorted((demo_dir / "notes").rglob("*.txt"))[0].read_text()
    files = []
    # note whose DOB is unreadable and holds the name
    bad_dob = re.sub(r"(?m)^DOB:.*$", f"DOB: {p0['family_name']} {p0['birth_date']:%d}/{p0['birth_date']:%Y}/77", note)
    files.append(out / "bad_dob_note.txt")
    files[-1].write_text(bad_dob)
    # note with a name and birth date but no MRN and no manifest row: cannot be linked
    no_mrn = re.sub(r"(?m)^MRN:.*\n", "", note)
    no_mrn = re.sub(r"(?m)^PATIENT:.*$", f"PATIENT: {p1['family_name'].upper()}, {p1['given_name'].upper()}", no_mrn)
    files.append(out / "unlinked_note.txt")
    files[-1].write_text(no_mrn)
    # FHIR bundle whose Patient.birthDate is not a FHIR date and whose name is not a HumanName
    bundle = json.loads(sorted((demo_dir / "fhir").rglob("*.json"))[1].read_text())
    pat = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    pat["birthDate"] = f"{p1['birth_date']:%d-%b-%Y} {p1['family_name']}"
    pat["name"] = f"{p1['given_name']} {p1['family_name']}"
    files.append(out / "bad_patient.json")
    files[-1].write_text(json.dumps(bundle))
    # lab export rows with the MRN of a real patient and unreadable date / range / value
    mrn = p2["mrn"]
    files.append(out / "bad_labs.csv")
    files[-1].write_text("mrn,loinc,test_name,value,unit,reference_range,collected_at\n"
                         f"{mrn},1751-7,Albumin,3.5,g/dL,3.5-5,{p2['birth_date']:%d-%b-%Y} {p2['family_name']}\n"
                         f"{mrn},1751-7,Albumin,3.5,g/dL,{p2['family_name']},2025-01-02\n"
                         f"{mrn},XXXX,{p2['given_name']} {p2['family_name']},{p2['birth_date']},g/dL,3.5-5,2025-01-02\n"
                         f",1751-7,Albumin,{mrn},g/dL,3.5-5,2025-01-02\n")
    # document manifest naming a real MRN with an unreadable note date
    files.append(out / "documents_bad.csv")
    files[-1].write_text("file_name,file_sha256,patient_system,patient_identifier,note_type,note_date\n"
                         f"unlinked_note.txt,,urn:oid:2.16.840.1.113883.3.9999.1,{mrn},"
                         f"Progress Note,{p2['family_name']} {p2['birth_date']:%Y}\n")
    return files


def _walk_app(url: str, truth: pl.DataFrame) -> list[str]:
    """An oncologist (PHI unmasked) and an admin use every page; returns page errors seen."""
    errors: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.on("pageerror", lambda e: errors.append(str(e)))
        # a user typing a patient's name as username and MRN as password must not reach the logs
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("textbox", name="Username").fill(truth["family_name"][0])
        page.get_by_role("textbox", name="Password").fill(truth["mrn"][0])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Unknown user or wrong password").wait_for(timeout=60_000)
        login(page, url, "oncologist")
        page.get_by_role("button", name="Prepare").first.click()
        page.get_by_text("Timeline & sources").wait_for(timeout=90_000)
        wait_idle(page)
        if page.get_by_role("switch", name="Mask PHI").is_checked():
            page.locator("[data-testid='stSidebar']").get_by_text("Mask PHI").click()
            wait_idle(page)
        shown = page.locator("h1").first.inner_text().split(",")[0]
        assert shown in truth["family_name"].str.to_uppercase().to_list(), f"name not unmasked: {shown}"
        page.get_by_role("tab", name="Timeline & sources").click()
        wait_idle(page)
        page.get_by_role("tab", name="Summary").click()  # the export button sits on the summary tab
        page.get_by_role("button", name="Export case summary (HTML + PDF)").click()
        page.get_by_role("button", name="Download HTML").wait_for(timeout=120_000)
        for title in ("Explain the model", "Trial hints", "Presentation mode"):
            open_sidebar_page(page, title)
        page.get_by_role("textbox", name="Attendees (comma separated)").fill("medical oncology, radiology")
        page.get_by_role("textbox", name="Recommendation details").fill(
            f"Discussed with {truth['given_name'][0]} {truth['family_name'][0]}")
        page.get_by_role("button", name="Save decision").click()
        page.get_by_text("Decision saved").wait_for(timeout=60_000)
        errors += exceptions_shown(page)
        open_sidebar_page(page, "Board agenda")  # presentation mode hides the sidebar and its Sign out
        page.get_by_role("button", name="Sign out").click()
        login(page, url, "admin")
        for title in ("Data & ingest", "Audit log"):
            open_sidebar_page(page, title)
        errors += exceptions_shown(page)
    return errors


@pytest.fixture(scope="module")
def phi_run(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("phi")
    env = {"TB_STORE_DIR": str(base / "store"), "TB_DEMO_DIR": str(base / "demo"),
           "TB_MODELS_DIR": str(base / "models")}
    logs = base / "logs"
    logs.mkdir()
    r = _cli(env, "build-demo", "--patients", "15", "--seed", "9", "--no-progress", log=logs / "build.log")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    truth = pl.read_parquet(base / "demo" / "truth" / "patients.parquet")
    bad = write_hostile_copies(base / "demo", truth, base / "hostile")
    r = _cli(env, "ingest", "--manifest", str(bad[-1]), *map(str, bad[:-1]), log=logs / "ingest.log")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    with serve(env, logs / "app.log", debug_logging=True) as url:
        page_errors = _walk_app(url, truth)
    return {"base": base, "env": env, "logs": logs, "truth": truth, "page_errors": page_errors}


def test_logs_contain_no_names_mrns_birth_dates_or_note_text(phi_run):
    truth = phi_run["truth"]
    patterns = phi_patterns(truth)
    notes = note_lines(phi_run["base"] / "demo")
    assert len(notes) > 20 and len(patterns) > 15 * 10
    leaks = {}
    for log in sorted(phi_run["logs"].glob("*.log")):
        found = find_leaks(log.read_text(errors="replace"), patterns, notes)
        if found:
            leaks[log.name] = [str(x) for x in found[:10]]
    assert not leaks, json.dumps(leaks, indent=1)


def test_logs_were_really_captured_at_debug(phi_run):
    """Guard against a vacuous pass: each log holds DEBUG lines and the session's traces."""
    app = (phi_run["logs"] / "app.log").read_text(errors="replace")
    build = (phi_run["logs"] / "build.log").read_text(errors="replace")
    ingest = (phi_run["logs"] / "ingest.log").read_text(errors="replace")
    assert " DEBUG streamlit" in app and " DEBUG " in build
    assert "WARNING core.ingest.base" in ingest  # the hostile files were reported
    assert not phi_run["page_errors"], phi_run["page_errors"]


def test_scanner_finds_planted_phi(phi_run):
    """The scanner itself must catch each kind of PHI in the forms the generator writes them."""
    r = phi_run["truth"].row(3, named=True)
    notes = note_lines(phi_run["base"] / "demo")
    patterns = phi_patterns(phi_run["truth"])
    for planted in (f"linked MRN {r['mrn']} ok", f"PATIENT: {r['family_name'].upper()}, {r['given_name'].upper()}",
                    f"name={r['given_name']} {r['family_name']}", f"DOB: {r['birth_date']:%d-%b-%Y}",
                    f"dob {r['birth_date']:%m/%d/%Y}", f"text: {next(iter(notes))}"):
        assert find_leaks(planted, patterns, notes), planted
    assert not find_leaks("2026-11-23 16:03:20 INFO core.synth.build: demo build done in 54.7 s", patterns, notes)


def test_ingest_error_messages_in_the_store_carry_no_phi(phi_run):
    from core.store import db

    con = duckdb.connect(str(db.current_evidence_path(Path(phi_run["env"]["TB_STORE_DIR"]))), read_only=True)
    try:
        rows = con.execute("SELECT source_uri, locator, error_type, message FROM ingest_errors").fetchall()
    finally:
        con.close()
    assert len(rows) >= 5, rows  # every hostile file was recorded
    text = "\n".join(" | ".join(str(x) for x in r) for r in rows)
    leaks = find_leaks(text, phi_patterns(phi_run["truth"]), note_lines(phi_run["base"] / "demo"))
    assert not leaks, "\n".join(map(str, leaks))
