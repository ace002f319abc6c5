"""The Audit and Runs pages in a real browser: the auditor searches the trail, downloads
the search as CSV and sees the chain check pass; the operator filters the runs and retries
a failed one once its service is back. (The chain check failing on an altered row is in
tests/pages/test_audit_page.py: the server holds the database file.)"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime import open_engine
from runtime.auth import add_user
from runtime.seed import DEMO_PASSWORD, DEMO_USERS, EXAMPLES_DIR
from runtime.spec import load_yaml
from tests.browser.conftest import settle, sign_in
from tests.opsdata import add_failed_run, closed_port, hook_service
from tests.serverutil import running_server

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("LOOPGATE_SHOTS", "")) if os.environ.get("LOOPGATE_SHOTS") else None


@pytest.fixture(scope="module")
def ops_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    """A server with the demo accounts, one failed run (its webhook's port closed) and one
    decided expense: yields (url, the failed run's id, the webhook's port)."""
    db = tmp_path_factory.mktemp("ops") / "loopgate.duckdb"
    engine = open_engine(str(db))
    for name, display, roles, teams in DEMO_USERS:  # the accounts only: a lean start
        add_user(
            engine.store,
            name,
            roles=roles,
            teams=teams,
            password=DEMO_PASSWORD,
            display_name=display,
        )
    engine.forget_users()
    port = closed_port()
    run_id = add_failed_run(engine, port).run_id
    expense = engine.save_workflow(load_yaml(EXAMPLES_DIR / "expense-approval.yaml"), by="ada")
    item = {"employee": "bob", "amount": 240, "category": "travel"}
    waiting = engine.start(expense, item, by="ops")
    engine.decide(waiting.review_id, {"action": "reject", "reason": "over_policy"}, by="rae")
    engine.store.close()
    with running_server(db) as url:
        yield url, run_id, port


def shot(page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))


def click_until(page, button: str, expect: str, timeout_ms: int = 20_000) -> None:
    """Press a button and wait for ``expect``; a press landing during a rerun is lost, so
    press once more if nothing came."""
    for attempt in range(2):
        settle(page)
        page.get_by_role("button", name=button).first.click()
        try:
            page.get_by_text(expect).first.wait_for(timeout=timeout_ms * (attempt + 1))
            return
        except Exception:
            if attempt:
                page.screenshot(path="/tmp/fail-ops.png", full_page=True)
                raise


def pick(page, label: str, option: str, expect) -> None:
    """Pick ``option`` in the selectbox ``label`` and wait for ``expect`` (a locator); pick
    again if a rerun redrew it unpicked."""
    for attempt in range(3):
        settle(page)
        combo = page.get_by_role("combobox", name=label).first
        combo.scroll_into_view_if_needed()  # a box below the fold opens no list
        settle(page)
        combo.click()
        page.get_by_role("option", name=option).first.click()
        try:
            expect.first.wait_for(timeout=10_000 * (attempt + 1))
            return
        except Exception:
            if attempt == 2:
                raise


def test_audit_and_runs(ops_server, browser) -> None:
    url, run_id, port = ops_server
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    sign_in(page, url, "aud")
    page.get_by_role("link", name="Audit").click()
    page.get_by_role("heading", name="Audit").wait_for(timeout=20_000)
    settle(page)
    page.get_by_label("Text in the event data").fill("Connection refused")
    click_until(page, "Search", "Events 1 to 2, newest first")
    shot(page, "audit")
    click_until(page, "Prepare CSV", "CSV (2 rows)")
    with page.expect_download() as got:
        page.get_by_role("button", name="CSV (2 rows)").click()
    lines = Path(got.value.path()).read_text().splitlines()
    assert lines[0].startswith("seq,occurred_at,kind,run_id")
    assert len(lines) == 3 and all(run_id in line for line in lines[1:])
    page.get_by_role("tab", name="Chain check").click()
    click_until(page, "Check the audit chain", "Chain check passed: audit trail intact")
    shot(page, "audit-chain")
    assert "Traceback" not in page.content()
    page.close()

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    sign_in(page, url, "ops")
    page.get_by_role("link", name="Runs").click()
    page.get_by_role("heading", name="Runs").wait_for(timeout=20_000)
    page.get_by_text("Runs 1 to 2, newest first").wait_for(timeout=20_000)
    pick(page, "Status", "failed", page.get_by_text("Runs 1 to 1, newest first"))
    alert = page.locator("[data-testid^='stAlert']").filter(has_text="step limit of 3 reached")
    pick(page, "Run", run_id, alert)
    shot(page, "runs-failed")
    with hook_service(port):  # the service is back up: the retry goes through
        click_until(page, "Retry", f"Run {run_id} retried: succeeded (posted).")
    shot(page, "runs-retried")
    assert "Traceback" not in page.content()
    page.close()


def test_fork_a_run_from_the_runs_page(ops_server, browser) -> None:
    """The admin opens the rejected expense, forks it at the manager's approval with an
    approval instead, and opens the new run, which names where it came from."""
    url, _, _ = ops_server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    sign_in(page, url, "ada")
    page.get_by_role("link", name="Runs").click()
    page.get_by_role("heading", name="Runs").wait_for(timeout=20_000)
    pick(page, "Workflow", "expense-approval", page.get_by_text("Runs 1 to 1, newest first"))
    pick(page, "Run", "expense-approval", page.get_by_text("Fork from a checkpoint"))
    settle(page)
    page.get_by_text("Fork from a checkpoint").first.click()
    pick(page, "Decision", "Approve", page.get_by_role("button", name="Fork", exact=True))
    page.get_by_role("button", name="Fork", exact=True).scroll_into_view_if_needed()
    shot(page, "runs-fork-panel")
    click_until(page, "Fork", "into run_")
    done = page.locator("[data-testid^='stAlert']").filter(has_text="into run_").first.inner_text()
    assert ": succeeded (approved)." in done
    new = done.split(" into ")[1].split(":")[0]
    click_until(page, f"Open the new run {new}", "Forked from ")
    origin = page.locator("[data-testid^='stAlert']").filter(has_text="Forked from ").first
    assert "at manager by ada" in origin.inner_text()
    assert "approve there instead of reject." in origin.inner_text()
    settle(page)
    shot(page, "runs-forked")
    assert "Traceback" not in page.content()
    page.close()
