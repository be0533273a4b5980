"""Serve the dashboard for governance tests and drive it with Playwright + Chromium.

Shared by the PHI-in-logs, injection and concurrency tests (imported by module name:
pytest puts this folder on sys.path). One server per test module, on 127.0.0.1 only.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.app_server import CHROMIUM, CHROMIUM_ARGS, PASSWORDS, copy_store, free_port, serve  # noqa: E402,F401

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
    # signed in: the sidebar's Sign out, or presentation mode's Exit (it hides the sidebar)
    signed_in = "[data-testid='stSidebar'] button:has-text('Sign out'):visible, a:has-text('Exit'):visible"
    page.locator(signed_in).first.wait_for(timeout=90_000)
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
