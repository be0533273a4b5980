"""Real browser: serve the app, walk agenda -> patient -> presentation -> next case, save screenshots."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.app_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(demo_env, tmp_path_factory):
    from bench.app_server import copy_store, serve

    # a private copy of the evidence version and a fresh board store: the AppTests of this session
    # keep the shared board store open in the pytest process, and DuckDB lets one process write a file
    base = tmp_path_factory.mktemp("browser")
    with serve(copy_store(demo_env, base / "store"), base / "app.log") as url:
        yield url


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
    page.get_by_role("textbox", name="Username").wait_for(timeout=120_000)  # a busy CI machine starts slowly
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


def test_deep_link_in_a_new_session_opens_the_case_after_sign_in(server, page, demo_env, artifacts):
    """/present?meeting=...&patient=... typed into a fresh browser: no 'Page not found', the sign-in
    form, then that case in presentation mode (Streamlit's pages/ folder mode is off: core/ui/serve.py)."""
    import duckdb

    from core.store import db

    with duckdb.connect(str(db.current_evidence_path(Path(demo_env["TB_STORE_DIR"]))), read_only=True) as con:
        meeting, patient = con.execute("SELECT meeting_id, patient_id FROM board_cases ORDER BY meeting_id DESC, "
                                       "patient_id DESC LIMIT 1").fetchone()
    context = page.context.browser.new_context(viewport={"width": 1600, "height": 1000})  # a new session
    try:
        pg = context.new_page()
        pg.goto(f"{server}/present?meeting={meeting}&patient={patient}", wait_until="networkidle")
        pg.get_by_role("textbox", name="Username").wait_for(timeout=120_000)
        pg.wait_for_timeout(1000)
        assert pg.get_by_text("Page not found").count() == 0
        pg.get_by_role("textbox", name="Username").fill("oncologist")
        pg.get_by_role("textbox", name="Password").fill("oncologist-demo")
        pg.get_by_role("button", name="Sign in").click()
        pg.get_by_role("button", name="Next ▶").wait_for(timeout=60000)
        _wait_idle(pg)
        pg.screenshot(path=str(artifacts / "5_deep_link.png"), full_page=False)
        assert patient in pg.locator("h1").first.inner_text()
        assert "/present" in pg.url
    finally:
        context.close()
