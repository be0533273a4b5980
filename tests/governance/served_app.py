"""Serve the dashboard for governance tests and drive it with Playwright + Chromium.

Shared by the PHI-in-logs, injection and concurrency tests (imported by module name:
pytest puts this folder on sys.path). One server per test module, on 127.0.0.1 only.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORDS = {"oncologist": "oncologist-demo", "viewer": "viewer-demo", "coordinator": "coordinator-demo",
             "admin": "admin-demo"}

# Starts streamlit with the root logger at DEBUG, so every core logger's output is captured.
_DEBUG_LAUNCHER = """
import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
from streamlit.web.cli import main
sys.argv = ["streamlit", *sys.argv[1:]]
sys.exit(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_store(src_env: dict[str, str], dest: Path) -> dict[str, str]:
    """A private copy of the current evidence version (no board store): env pointing at it."""
    src = Path(src_env["TB_STORE_DIR"])
    dest.mkdir(parents=True, exist_ok=True)
    version = (src / "CURRENT").read_text().strip()
    shutil.copyfile(src / version, dest / version)
    (dest / "CURRENT").write_text(version)
    return {**src_env, "TB_STORE_DIR": str(dest)}


@contextmanager
def serve(env: dict[str, str], log_path: Path | None = None, *, debug_logging: bool = False) -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free loopback port; yields the base URL.

    ``log_path`` receives the server's stdout and stderr; ``debug_logging`` sets the root
    logger and streamlit's own logger to DEBUG.
    """
    port = free_port()
    args = ["run", "app.py", "--server.headless", "true", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
            # no file watcher: an edited source file would show a "File change" prompt in the status widget
            "--server.fileWatcherType", "none"]
    if debug_logging:
        cmd = [sys.executable, "-c", _DEBUG_LAUNCHER, *args, "--logger.level", "debug"]
    else:
        cmd = [sys.executable, "-m", "streamlit", *args]
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"streamlit did not start (exit code {proc.poll()})") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            out.close()


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (Playwright sync API)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_idle(page, timeout_ms: int = 180_000) -> None:
    """Wait until the script run finished (no running-status widget) and the page settled."""
    page.wait_for_timeout(400)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)
    page.wait_for_timeout(300)


def login(page, url: str, user: str, path: str = "") -> None:
    """Open ``url/path`` (a fresh session) and sign in as a documented demo user."""
    page.set_default_timeout(120_000)  # a loaded 2-core machine runs pages slowly
    page.goto(f"{url}/{path}", wait_until="domcontentloaded")
    page.get_by_role("textbox", name="Username").fill(user)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[user])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=90_000)
    wait_idle(page)


def exceptions_shown(page) -> list[str]:
    """Texts of Streamlit exception boxes on the page (an uncaught error in a page script)."""
    return [e.inner_text()[:300] for e in page.locator("[data-testid='stException']").all()]


def click_nav(page, title: str) -> None:
    """Click the sidebar link ``title`` (same session, no reload); does not wait for the run.

    Presentation mode hides the sidebar: leave it by its Exit link first.
    """
    nav = page.locator("[data-testid='stSidebarNav']")
    if not nav.is_visible():
        # a DOM click: when the page is scrolled the sticky header covers the link
        page.get_by_role("link", name="Exit").evaluate("e => e.click()")
        nav.wait_for(timeout=120_000)
        wait_idle(page)
    nav.get_by_role("link", name=title).click()


def open_sidebar_page(page, title: str) -> None:
    """Navigate within the session by the sidebar link and wait for the page to finish."""
    click_nav(page, title)
    wait_idle(page)
