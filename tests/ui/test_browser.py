"""Real browser: serve the app, walk agenda -> patient -> presentation -> next case, save screenshots."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_env):
    port = _free_port()
    env = {**os.environ, **demo_env}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1600, "height": 1000})
        yield pg
        browser.close()


def _wait_idle(pg) -> None:
    pg.wait_for_timeout(500)
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60000)
    pg.wait_for_timeout(500)


def test_walk_agenda_patient_presentation_next(server, page, artifacts):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server, wait_until="networkidle")
    page.get_by_role("textbox", name="Username").fill("oncologist")
    page.get_by_role("textbox", name="Password").fill("oncologist-demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Prepare").first.wait_for(timeout=60000)
    _wait_idle(page)
    page.screenshot(path=str(artifacts / "1_agenda.png"), full_page=True)
    assert page.get_by_text("Fully ready").count() >= 1

    page.get_by_role("button", name="Prepare").first.click()
    page.get_by_text("Timeline & sources").wait_for(timeout=60000)
    _wait_idle(page)
    page.screenshot(path=str(artifacts / "2_patient.png"), full_page=True)

    page.get_by_role("link", name="Presentation mode").click()  # same session: no second login
    page.get_by_role("button", name="Next ▶").wait_for(timeout=60000)
    _wait_idle(page)
    first = page.locator("h1").first.inner_text()
    position = re.search(r"Case (\d+) of (\d+)", page.content())
    assert position is not None and int(position.group(1)) < int(position.group(2))
    page.screenshot(path=str(artifacts / "3_present.png"), full_page=False)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("(t) => document.querySelector('h1') && document.querySelector('h1').innerText !== t",
                           arg=first, timeout=30000)
    _wait_idle(page)
    page.screenshot(path=str(artifacts / "4_present_next.png"), full_page=False)
    assert page.locator("h1").first.inner_text() != first
    assert f"Case {int(position.group(1)) + 1} of {position.group(2)}" in page.content()
    assert not errors, errors
