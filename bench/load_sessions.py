"""Load: N concurrent dashboard sessions reading patient pages while decisions are written.

Usage: .venv/bin/python bench/load_sessions.py [--sessions 8] [--deciders 2] [--seconds 60]
        [--store DIR] [--write-threads 8] [--writes-per-thread 50] [--no-report]

A private copy of the current evidence version (``--store``, default the ``store_dir``
setting) and a fresh board store are served by ``python -m core.ui.serve`` (streamlit run app.py) on 127.0.0.1 only.
One headless Chromium opens ``--sessions`` browser contexts (one Streamlit session each,
bounded to ``--seconds`` plus the action in flight):

* readers (board viewer / coordinator) loop: agenda -> "Prepare" the next case -> patient
  page; the latency is click -> patient title shown and the script run finished;
* deciders (oncologist) stay in presentation mode: fill and save the decision form, then
  "Next"; latencies of the save and of the next case.

Afterwards the board store is opened: decisions found vs saved (each carries a run marker)
and the audit chain verified. Then, separately, ``--write-threads`` threads record
decisions in-process through the one ``BoardWriter`` (write latency without the UI).
Results are printed and appended under "## Load" in docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.app_server import CHROMIUM, CHROMIUM_ARGS, PASSWORDS, copy_store, serve  # noqa: E402

READER_ROLES = ("viewer", "coordinator")
ACTION_TIMEOUT_MS = 120_000
IDLE = "!document.querySelector('[data-testid=\"stStatusWidget\"]')"
VERSION = re.compile(r"Store version: (\S+?\.duckdb)")


# ---- sessions -------------------------------------------------------------------------------------

@dataclass
class Sample:
    session: int
    action: str
    seconds: float
    ok: bool


@dataclass
class SessionResult:
    index: int
    role: str
    held: bool = True                 # one websocket session from login to the end, no reconnect
    actions: int = 0
    errors: list[str] = field(default_factory=list)
    decisions_saved: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)  # store version shown in the sidebar after each action
    retyped: int = 0                  # saves the app refused ("Not saved": a field arrived empty) and were typed again


@dataclass
class LoadResult:
    sessions: list[SessionResult]
    samples: list[Sample]
    seconds: float

    def latencies(self, action: str) -> list[float]:
        return [s.seconds for s in self.samples if s.action == action and s.ok]

    @property
    def errors(self) -> list[str]:
        return [e for s in self.sessions for e in s.errors]

    @property
    def held(self) -> int:
        return sum(1 for s in self.sessions if s.held and s.actions > 0)

    @property
    def decisions_saved(self) -> list[str]:
        return [d for s in self.sessions for d in s.decisions_saved]


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0-1) by linear interpolation; NaN when empty."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class Session:
    """One browser context = one Streamlit session, driven through the UI only."""

    def __init__(self, browser, url: str, index: int, role: str, marker: str, result: LoadResult,
                 timeout_ms: int = ACTION_TIMEOUT_MS) -> None:
        self.browser, self.url, self.role, self.marker, self.timeout_ms = browser, url, role, marker, timeout_ms
        self.res = SessionResult(index, role)
        self.all = result
        self.page = None

    async def _timed(self, action: str, fn) -> bool:
        t0 = time.perf_counter()
        try:
            await fn()
            shown = await self.page.locator("[data-testid='stException']").all_inner_texts()
            if shown:
                raise RuntimeError(f"exception shown: {shown[0][:200]}")
            ok = True
        except Exception as e:  # noqa: BLE001 - every failure is counted, the session goes on
            self.res.errors.append(f"session {self.res.index} ({self.role}) {action}: {type(e).__name__}: "
                                   f"{str(e).splitlines()[0][:200]}")
            ok = False
            shots = os.environ.get("TB_LOAD_SCREENSHOTS")  # a folder: keep what the failed session showed
            if shots:
                await self.page.screenshot(path=str(Path(shots) / f"session{self.res.index}-{len(self.res.errors)}.png"))
        self.all.samples.append(Sample(self.res.index, action, time.perf_counter() - t0, ok))
        self.res.actions += ok
        if ok:
            text = await self.page.locator("[data-testid='stSidebar']").text_content() or ""
            m = VERSION.search(text)
            self.res.versions.append(m.group(1) if m else "?")
        return ok

    async def _idle_with(self, condition: str, arg=None) -> None:
        await self.page.wait_for_timeout(300)
        await self.page.wait_for_function(f"(a) => ({condition}) && {IDLE}", arg=arg, timeout=self.timeout_ms)

    async def login(self) -> bool:
        ctx = await self.browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = await ctx.new_page()
        self.page.set_default_timeout(self.timeout_ms)
        self.page.on("pageerror", lambda e: self.res.errors.append(f"session {self.res.index} page error: {e}"))
        user = "oncologist" if self.role == "decider" else self.role

        async def go() -> None:
            await self.page.goto(self.url, wait_until="domcontentloaded")
            await self.page.get_by_role("textbox", name="Username").fill(user)
            await self.page.get_by_role("textbox", name="Password").fill(PASSWORDS[user])
            await self.page.get_by_role("button", name="Sign in").click()
            await self._idle_with("document.querySelector('[class*=\"st-key-prep_\"]')")
        return await self._timed("login (page load to agenda shown)", go)

    async def _nav(self, title: str) -> None:
        nav = self.page.locator("[data-testid='stSidebarNav']")
        if not await nav.is_visible():  # presentation mode hides the sidebar
            await self.page.get_by_role("link", name="Exit").evaluate("e => e.click()")
            await nav.wait_for()
        await nav.get_by_role("link", name=title).click()

    async def read_loop(self, stop: Callable[[SessionResult], bool]) -> None:
        k = self.res.index
        while not stop(self.res):
            async def agenda() -> None:
                await self._nav("Board agenda")
                await self._idle_with("document.querySelector('[class*=\"st-key-prep_\"]')")
            if not await self._timed("agenda", agenda):
                await self._recover()
                continue
            keys = await self.page.locator("[class*='st-key-prep_']").evaluate_all(
                "els => els.map(e => [...e.classList].find(c => c.startsWith('st-key-prep_')).slice(12))")
            if not keys:
                self.res.errors.append(f"session {self.res.index}: agenda without cases")
                return
            pid = keys[k % len(keys)]
            k += 1

            async def patient() -> None:
                await self.page.locator(f".st-key-prep_{pid} button").click()
                await self._idle_with("document.querySelector('h1') && document.querySelector('h1').innerText"
                                      ".includes(a)", pid)
            if not await self._timed("patient page (click to content shown)", patient):
                await self._recover()

    async def decide_loop(self, stop: Callable[[SessionResult], bool]) -> None:
        async def present() -> None:
            await self._nav("Presentation mode")
            await self._idle_with("[...document.querySelectorAll('button')]"
                                  ".some(b => b.innerText.includes('Save decision'))")
        if not await self._timed("presentation mode", present):
            await self._recover()
        while not stop(self.res):
            note = f"{self.marker} s{self.res.index} d{len(self.res.decisions_saved) + 1}"

            async def save() -> None:
                # Like a user: type, save, read the answer. When the app answers "Not saved" (a field
                # arrived empty: typed while the page re-rendered after "Next"), type it again;
                # nothing was stored, so nothing is lost. At most three tries.
                # type only into this case's form: after "Next" the title changes before the form does
                m = re.search(r"Patient (\S+)", await self.page.locator("h1").first.inner_text())
                if m:
                    await self._idle_with(
                        f"document.querySelector('[class*=\"st-key-FormSubmitter-decision_{m.group(1)}-\"]')")
                for attempt in range(3):
                    await self.page.get_by_role("textbox", name="Attendees (comma separated)").fill(
                        f"medical oncology, radiology, {self.marker}")
                    await self.page.get_by_role("textbox", name="Recommendation details").fill(note)
                    await self.page.get_by_role("button", name="Save decision").click()
                    await self._idle_with("document.body.innerText.includes('Decision saved') || "
                                          "document.body.innerText.includes('Not saved')")
                    if await self.page.get_by_text("Decision saved").count():
                        self.res.retyped += attempt
                        return
                raise RuntimeError("the app answered 'Not saved' three times")
            if await self._timed("decision save (click to confirmation)", save):
                self.res.decisions_saved.append(note)
            else:
                await self._recover()
                continue
            title = await self.page.locator("h1").first.inner_text()

            async def nxt() -> None:
                # a DOM click: after the form the page is scrolled and the sticky header covers the button
                nxt_button = self.page.get_by_role("button", name="Next ▶")
                if await nxt_button.is_disabled():  # the last case: walk back instead
                    nxt_button = self.page.get_by_role("button", name="◀ Previous")
                await nxt_button.evaluate("e => e.click()")
                await self._idle_with("document.querySelector('h1') && document.querySelector('h1').innerText !== a",
                                      title)
            if not await self._timed("next case (presentation)", nxt):
                await self._recover()

    async def _recover(self) -> None:
        """After a failed action: reload (a new Streamlit session) and sign in again."""
        self.res.held = False
        await self.page.context.close()
        if await self.login() and self.role == "decider":
            await self._nav("Presentation mode")
            await self.page.wait_for_timeout(2000)


async def drive_sessions(url: str, n_sessions: int, n_deciders: int, stop: Callable[[SessionResult], bool],
                         marker: str | None = None, timeout_ms: int = ACTION_TIMEOUT_MS) -> LoadResult:
    """Run ``n_sessions`` concurrent sessions (the first ``n_deciders`` record decisions) until ``stop``.

    ``stop(session_result)`` is asked before every action of that session; an action taking
    longer than ``timeout_ms`` counts as an error.
    """
    from playwright.async_api import async_playwright

    marker = marker or f"load-{uuid.uuid4().hex[:8]}"
    result = LoadResult([], [], 0.0)
    t0 = time.perf_counter()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        roles = ["decider"] * n_deciders + [READER_ROLES[i % 2] for i in range(n_sessions - n_deciders)]
        sessions = [Session(browser, url, i, r, marker, result, timeout_ms) for i, r in enumerate(roles)]
        result.sessions = [s.res for s in sessions]

        async def run(s: Session) -> None:
            if await s.login():
                await (s.decide_loop(stop) if s.role == "decider" else s.read_loop(stop))
            else:
                s.res.held = False

        await asyncio.gather(*(run(s) for s in sessions))
        await browser.close()
    result.seconds = time.perf_counter() - t0
    return result


# ---- checks on the board store -------------------------------------------------------------------

def decisions_found(store_dir: Path, marker: str) -> tuple[int, bool, int]:
    """(decisions carrying ``marker``, audit chain ok, audit entries) in the board store (app stopped)."""
    from core.governance import audit
    from core.store import db

    w = db.BoardWriter(db.board_path(store_dir))
    try:
        cur = w.read()
        n = cur.execute("SELECT count(*) FROM decisions WHERE attendees LIKE ?", [f"%{marker}%"]).fetchall()[0][0]
        r = audit.verify(cur)
        cur.close()
    finally:
        w.close()
    return n, r.ok, r.entries


def in_process_writes(root: Path, threads: int, per_thread: int) -> dict:
    """Decisions recorded concurrently through one ``BoardWriter``: latencies, found vs written, audit."""
    from core.board.decisions import Decision, record_decision
    from core.governance import audit
    from core.store import db

    w = db.BoardWriter(db.board_path(root))
    lat: list[float] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for j in range(per_thread):
            d = Decision("LOAD", f"PT{j % 20:04d}", "surveillance", f"load {t}-{j}", "accepted", "none", "",
                         ("oncology",), f"dr{t}")
            t0 = time.perf_counter()
            record_decision(w, d, {"t": t, "j": j}, "load")
            with lock:
                lat.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    cur = w.read()
    found = cur.execute("SELECT count(*) FROM decisions WHERE meeting_id = 'LOAD'").fetchall()[0][0]
    r = audit.verify(cur)
    cur.close()
    w.close()
    return {"written": len(lat), "found": found, "p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "wall": wall,
            "audit_ok": r.ok, "audit_entries": r.entries}


# ---- report ---------------------------------------------------------------------------------------

def report_markdown(args: argparse.Namespace, res: LoadResult, found: int, audit_ok: bool, audit_n: int,
                    inproc: dict | None, n_patients: int) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"### {when}: {args.sessions} sessions ({args.deciders} deciding) x {args.seconds} s",
             "",
             f"`.venv/bin/python bench/load_sessions.py --sessions {args.sessions} --deciders {args.deciders} "
             f"--seconds {args.seconds}` on {platform.machine()}, {os.cpu_count()} CPUs "
             f"(load average at start {args.load_at_start}); store with {n_patients} patients; server, "
             "Chromium and the bench share the machine, so latencies include client rendering.",
             "",
             "| action | n ok | p50 (s) | p95 (s) | max (s) |",
             "|---|---:|---:|---:|---:|"]
    for action in dict.fromkeys(s.action for s in res.samples):
        v = res.latencies(action)
        if v:
            lines.append(f"| {action} | {len(v)} | {statistics.median(v):.2f} | {pct(v, 0.95):.2f} | {max(v):.2f} |")
    lines += ["",
              f"- sessions held (one session from login to the end, no reconnect): **{res.held} / {args.sessions}**",
              f"- errors (timeouts, exceptions shown, page errors): **{len(res.errors)}**"
              + ("" if not res.errors else " — " + "; ".join(res.errors[:3])),
              f"- decisions saved through the form: **{len(res.decisions_saved)}**, found in the board store: "
              f"**{found}**; audit chain {'verifies' if audit_ok else 'BROKEN'} ({audit_n} entries); "
              f"saves the app refused as 'Not saved' (empty field) and typed again: "
              f"{sum(s.retyped for s in res.sessions)}",
              f"- wall time {res.seconds:.0f} s, {sum(s.actions for s in res.sessions)} actions"]
    if inproc:
        lines.append(f"- in-process: {inproc['written']} decisions from {args.write_threads} threads through the one "
                     f"BoardWriter in {inproc['wall']:.1f} s, write p50 {inproc['p50'] * 1000:.0f} ms / "
                     f"p95 {inproc['p95'] * 1000:.0f} ms; found {inproc['found']}; audit chain "
                     f"{'verifies' if inproc['audit_ok'] else 'BROKEN'} ({inproc['audit_entries']} entries)")
    return "\n".join(lines) + "\n"


LOAD_INTRO = """## Load

`bench/load_sessions.py`: concurrent dashboard sessions in one headless Chromium against a local
`python -m core.ui.serve` (streamlit run app.py) on 127.0.0.1 (private copy of the store, fresh board store). Readers
(board viewer / coordinator) open agenda cases one after another; deciders (oncologist) save a
decision and move to the next case in presentation mode. Latency = click to content shown and
the script run finished. Decisions found = rows in the board store carrying the run's marker.

"""


def append_report(path: Path, block: str) -> None:
    """Insert ``block`` at the end of the "## Load" section of ``path`` (created when missing)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if "\n## Load\n" not in "\n" + text:
        text = text.rstrip("\n") + "\n\n" + LOAD_INTRO + block
    else:
        start = ("\n" + text).index("\n## Load\n")
        nxt = text.find("\n## ", start + 8)
        end = len(text) if nxt < 0 else nxt + 1
        text = text[:end].rstrip("\n") + "\n\n" + block + ("\n" + text[end:] if end < len(text) else "")
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--deciders", type=int, default=2, help="sessions that record decisions (oncologist)")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--store", type=Path, default=None, help="store folder to copy (default: the store_dir setting)")
    ap.add_argument("--write-threads", type=int, default=8)
    ap.add_argument("--writes-per-thread", type=int, default=50)
    ap.add_argument("--report", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    ap.add_argument("--no-report", action="store_true", help="print only")
    args = ap.parse_args(argv)
    if not (1 <= args.sessions <= 32) or not (0 <= args.deciders <= args.sessions) or not (5 <= args.seconds <= 600):
        ap.error("bounded load only: 1-32 sessions, deciders <= sessions, 5-600 seconds")
    from core.config import path_setting

    src = args.store or path_setting("store_dir")
    args.load_at_start = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="tb-load-") as tmp:
        store = Path(copy_store({"TB_STORE_DIR": str(src)}, Path(tmp) / "store")["TB_STORE_DIR"])
        env = {"TB_STORE_DIR": str(store)}
        import duckdb

        con = duckdb.connect(str(store / (store / "CURRENT").read_text().strip()), read_only=True)
        n_patients = con.execute("SELECT count(*) FROM patients").fetchall()[0][0]
        con.close()
        marker = f"load-{uuid.uuid4().hex[:8]}"
        with serve(env, Path(tmp) / "app.log") as url:
            print(f"serving {url}; {args.sessions} sessions for {args.seconds} s ...", flush=True)
            deadline = time.monotonic() + args.seconds + 90  # logins are not part of the measured window
            starts: dict[int, float] = {}

            def stop(s: SessionResult) -> bool:
                starts.setdefault(s.index, time.monotonic())
                return time.monotonic() > min(deadline, starts[s.index] + args.seconds)

            res = asyncio.run(drive_sessions(url, args.sessions, args.deciders, stop, marker))
        found, audit_ok, audit_n = decisions_found(store, marker)
        inproc = in_process_writes(Path(tmp) / "inproc", args.write_threads, args.writes_per_thread) \
            if args.write_threads > 0 else None
    block = report_markdown(args, res, found, audit_ok, audit_n, inproc, n_patients)
    print(block)
    if not args.no_report:
        append_report(args.report, block)
        print(f"appended to {args.report}")
    return 0 if (not res.errors and found == len(res.decisions_saved) and audit_ok) else 1


if __name__ == "__main__":
    sys.exit(main())
