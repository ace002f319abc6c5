"""The sign-in cookie in a real browser, set by st.html's script (issue 12 item 8: the
deprecated st.components.v1.html is gone, and so is its warning from the server log).

Signing in sets the HttpOnly ``lg_session`` cookie, so a new tab is signed in without the
form; signing out clears it, so the next tab shows the form again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.browser.conftest import sign_in
from tests.serverutil import ROOT, free_port


def test_the_cookie_signs_in_a_new_tab_until_sign_out(browser, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    db = tmp_path / "loopgate.duckdb"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "serve", "--port", str(port), "--db", str(db)],
            cwd=ROOT,
            env={**os.environ, "LOOPGATE_DB": str(db)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        sign_in(page, url, "rae")
        deadline = time.monotonic() + 20
        while not [c for c in context.cookies() if c["name"] == "lg_session"]:
            assert time.monotonic() < deadline, "no lg_session cookie after sign-in"
            page.wait_for_timeout(200)
        [cookie] = [c for c in context.cookies() if c["name"] == "lg_session"]
        assert cookie["httpOnly"] and cookie["value"].startswith("rae.")

        fresh = context.new_page()  # a new tab: the cookie signs it in, no form
        fresh.goto(url)
        fresh.get_by_text("Signed in as").wait_for(timeout=20_000)
        fresh.get_by_role("button", name="Sign out").click()
        deadline = time.monotonic() + 20
        while [c for c in context.cookies() if c["name"] == "lg_session"]:
            assert time.monotonic() < deadline, "the cookie outlived the sign-out"
            fresh.wait_for_timeout(200)

        again = context.new_page()
        again.goto(url)
        again.get_by_label("User name").wait_for(timeout=20_000)
        context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    text = log.read_text()
    assert "components.v1" not in text and "will be removed after" not in text, text
