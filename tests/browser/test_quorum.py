"""A multi-approver review in a real browser: rae's vote leaves it open (the queue marks
"1 of 2 approvals"), fay sees rae's vote in the approvers panel and closes it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_builder import shot
from tests.browser.test_review import (
    VIEW,
    deep_link_sign_in,
    open_review_page,
    pick,
    press,
    review_id,
    settle,
)

pytestmark = pytest.mark.browser


def test_two_of_finance_in_the_browser(server: str, browser) -> None:
    context = browser.new_context(viewport=VIEW)
    page = context.new_page()
    sign_in(page, server, "rae")
    open_review_page(page)
    pick(page, "Workflow", "quorum-approval")
    page.get_by_text("0 of 2 approvals").first.wait_for(timeout=20_000)
    press(page, "Open", "Why it stopped")  # the oldest first: ann's desk, 2 of finance
    page.get_by_text("Still needed: 2 more approvals from team finance").wait_for(timeout=20_000)
    rid = review_id(page)
    press(page, "Approve", f"You voted approve on review {rid}")
    press(page, "← Back to the queue", "Tick all")
    pick(page, "Workflow", "quorum-approval")
    page.get_by_text("1 of 2 approvals").first.wait_for(timeout=20_000)
    shot(page, "review-quorum-queue")
    context.close()

    context = browser.new_context(viewport=VIEW)
    fay = context.new_page()
    deep_link_sign_in(fay, f"{server}/review?review={rid}", "fay")
    fay.get_by_text("Still needed: 1 more approval from team finance").wait_for(timeout=20_000)
    assert fay.get_by_text("rae").count() > 0
    settle(fay)
    fay.locator("[data-testid='stDataFrame']").first.wait_for(timeout=20_000)
    fay.wait_for_timeout(1500)  # the item table draws a moment after the rerun
    shot(fay, "review-quorum-votes")
    press(fay, "Approve", f"Approved review {rid}")
    context.close()
