"""Browser tests: the app started on 127.0.0.1 inside the test, Debian's Chromium via Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverutil import running_server

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded Loopgate server on a free port, stopped after the module."""
    with running_server(tmp_path_factory.mktemp("app") / "loopgate.duckdb") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def sign_in(page, url: str, user: str = "dev", password: str = "loopgate-demo") -> None:
    page.goto(url)
    page.get_by_label("User name").fill(user)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=20_000)


def settle(page, quiet_ms: int = 1200, timeout_ms: int = 20_000) -> None:
    """Wait until Streamlit has stopped rerunning (the canvas triggers a few reruns)."""
    page.wait_for_timeout(300)
    waited = quiet = 0
    while waited < timeout_ms and quiet < quiet_ms:
        running = page.locator("[data-testid='stStatusWidget']").count() > 0
        quiet = 0 if running else quiet + 100
        page.wait_for_timeout(100)
        waited += 100
