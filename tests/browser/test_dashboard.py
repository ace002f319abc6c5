"""The Dashboard in a real browser: the auditor opens it, narrows it to one workflow, and
downloads a chart's data as CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import settle, sign_in
from tests.browser.test_builder import shot

pytestmark = pytest.mark.browser


def pick(page, label: str, option: str, expect: str) -> None:
    """Choose ``option`` in the sidebar selectbox ``label`` and wait for ``expect``; a pick
    that lands during a rerun is lost, so try again once."""
    for attempt in range(3):
        settle(page)
        page.get_by_role("combobox", name=label).click()
        page.get_by_role("option", name=option, exact=True).click()
        try:
            page.get_by_text(expect).first.wait_for(timeout=10_000 * (attempt + 1))
            return
        except Exception:
            if attempt == 2:
                raise


def test_auditor_filters_and_downloads(server: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    sign_in(page, server, user="aud")
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("heading", name="Dashboard").wait_for(timeout=20_000)
    page.get_by_text("Backlog by age").first.wait_for(timeout=20_000)
    settle(page)
    shot(page, "dashboard-demo")

    pick(page, "Workflow", "ticket-routing", "workflow ticket-routing")
    settle(page)
    # the what-if follows the workflow's confidence gate
    page.get_by_text("Threshold what-if").wait_for(timeout=20_000)

    buttons = page.get_by_role("button", name="Download CSV")
    backlog = buttons.nth(5)  # approval, override, reasons, edits, time, backlog
    with page.expect_download(timeout=20_000) as download:
        backlog.click()
    assert download.value.suggested_filename == "backlog.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "age,n"
    assert len(text.splitlines()) == 6  # five age buckets
    page.close()
