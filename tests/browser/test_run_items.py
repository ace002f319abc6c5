"""The Builder's Run items tab in a real browser: upload a JSON Lines file, start its runs,
and see the summary (started, waiting for review, succeeded, failed, bad items)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.browser.conftest import settle, sign_in
from tests.browser.test_builder import open_workflow

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("LOOPGATE_SHOTS", "")) if os.environ.get("LOOPGATE_SHOTS") else None


def metric(page, label: str) -> str:
    box = page.locator("[data-testid='stMetric']").filter(has_text=label)
    return box.locator("[data-testid='stMetricValue']").inner_text().strip()


def test_run_items_from_an_uploaded_file(server: str, browser, tmp_path: Path) -> None:
    items = [
        {"employee": f"e{i:03d}", "amount": 20 if i % 3 else 300, "category": "meals"}
        for i in range(120)
    ]
    items.insert(7, {"employee": "eve", "amount": "lots", "category": "meals"})
    path = tmp_path / "expenses-march.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    waiting = sum(1 for i in range(120) if i % 3 == 0)

    page = browser.new_page(viewport={"width": 1500, "height": 1500 if SHOTS else 1100})
    sign_in(page, server)
    page.get_by_role("link", name="Builder").click()
    open_workflow(page, "expense-approval", "Expense approval")
    for attempt in range(2):  # a tab picked during a rerun can be redrawn unpicked
        settle(page)
        page.get_by_role("tab", name="Run items").click()
        try:
            page.get_by_text("runs the newest published version").wait_for(
                timeout=10_000 if attempt == 0 else 30_000
            )
            break
        except Exception:
            if attempt:
                raise
    uploader = page.locator("[data-testid='stFileUploader']").filter(has_text="Items file")
    uploader.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("121 items in expenses-march.jsonl").wait_for(timeout=20_000)
    page.get_by_text("1 item does not match the workflow's input").wait_for()
    page.get_by_text("item 8: field amount").first.wait_for()

    # A press that lands while the canvas is still rerunning is lost: press again (the same
    # file never starts an item twice, so a second press cannot double the runs).
    for attempt in range(2):
        settle(page)
        start = page.get_by_role("button", name="Start 120 runs")
        if attempt == 0 or start.count():
            start.click()
        try:
            page.get_by_text("Last batch").wait_for(timeout=15_000 if attempt == 0 else 30_000)
            break
        except Exception:
            if attempt:
                page.screenshot(path="/tmp/fail-run-items.png", full_page=True)
                raise
    settle(page)
    assert metric(page, "Started") == "120"
    assert metric(page, "Waiting for review") == str(waiting)
    assert metric(page, "Succeeded") == str(120 - waiting)
    assert metric(page, "Failed") == "0"
    assert metric(page, "Bad items") == "1"
    page.get_by_text("loopgate reviews --workflow expense-approval").wait_for()
    assert page.get_by_role("button", name="Start 120 runs").count() == 0
    page.get_by_text("item 8: field amount: expected a number").first.wait_for()
    assert "Traceback" not in page.content()
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.get_by_role("tab", name="Run items").evaluate("e => e.scrollIntoView()")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / "builder-run-items.png"))
    page.close()
