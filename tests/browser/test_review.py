"""The Review page in a real browser: a reviewer sees only their teams' queue, approves,
rejects with a reason, bulk-approves with a progress bar, and a deep link opened before
sign-in lands on its review; two reviewers deciding the same review: exactly one wins."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import settle as _settle
from tests.browser.conftest import sign_in
from tests.browser.test_builder import shot

pytestmark = pytest.mark.browser
VIEW = {"width": 1400, "height": 900}


def settle(page) -> None:
    """Wait for Streamlit to stop rerunning (this page has no canvas: a shorter quiet)."""
    _settle(page, quiet_ms=500)


def open_review_page(page) -> None:
    settle(page)
    page.get_by_role("link", name="Review").first.click()
    page.get_by_role("heading", name="Review").wait_for(timeout=20_000)
    settle(page)


def review_id(page) -> str:
    """The review in the address bar (``?review=ID``), once it is there."""
    deadline = time.monotonic() + 20
    while not (m := re.search(r"[?&]review=([A-Za-z0-9_\-]+)", page.url)):
        assert time.monotonic() < deadline, f"no review in {page.url}"
        page.wait_for_timeout(100)
    return m.group(1)


def button(page, name: str):
    """Streamlit's buttons labelled exactly ``name`` (a select box's toggle is a "button"
    named Open too, so the role alone does not do)."""
    label = re.compile(rf"^\s*{re.escape(name)}\s*$")
    return page.locator("[data-testid^='stBaseButton']").filter(has_text=label)


def press(page, name: str, expect: str) -> None:
    """Press a button and wait for ``expect``; a press lost to a rerun is pressed again."""
    for attempt in range(2):
        settle(page)
        try:
            button(page, name).first.click(timeout=10_000)
            page.get_by_text(expect).first.wait_for(timeout=15_000 * (attempt + 1))
            return
        except Exception:
            if attempt == 1:
                page.screenshot(path="/tmp/review-fail.png")
                raise


def pick(page, box: str, option: str) -> None:
    """Pick an option of a select box (again, if a rerun redrew it unpicked)."""
    for _ in range(3):
        settle(page)
        combo = page.get_by_role("combobox", name=box).first
        combo.scroll_into_view_if_needed()  # a box below the fold opens no list
        settle(page)
        combo.click()
        page.get_by_role("option", name=option).first.click()
        settle(page)
        if page.get_by_text(option).count():
            return


def deep_link_sign_in(page, url: str, user: str) -> None:
    """Open a deep link as a visitor and sign in on the form it shows."""
    page.goto(url)
    page.get_by_label("User name").fill(user)
    page.get_by_role("textbox", name="Password").fill("loopgate-demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=20_000)


def test_reviewer_walk(server: str, browser) -> None:
    rio = browser.new_context(viewport=VIEW).new_page()
    sign_in(rio, server, "rio")
    open_review_page(rio)
    rio.get_by_text("No pending review matches these filters (your teams: risk)").wait_for()
    rio.context.close()

    context = browser.new_context(viewport=VIEW)
    page = context.new_page()
    sign_in(page, server, "rae")
    page.get_by_role("link", name="Open the Review page").wait_for()  # Home points here
    open_review_page(page)
    page.get_by_text("Tick all").wait_for()
    assert page.get_by_text("risk").count() == 0  # not rae's team: nothing of it shows
    shot(page, "review-queue")

    press(page, "Open", "Why it stopped")
    first = review_id(page)
    press(page, "Approve", f"Approved review {first}")
    second = review_id(page)
    assert second != first  # on to the next review
    press(page, "Reject", "pick a reason to reject")
    pick(page, "Reason (to reject)", "not_verified")
    press(page, "Reject", f"Rejected review {second}")
    linked = review_id(page)  # the next one: the deep link below opens it
    shot(page, "review-one")

    press(page, "← Back to the queue", "Tick all")
    pick(page, "Workflow", "refund-requests")
    boxes = page.locator("[data-testid='stCheckbox'] label")
    for i in range(2):  # the calibrated model sends two of the refund items to people
        settle(page)
        try:
            boxes.nth(i).click(timeout=5000)
        except Exception:
            page.screenshot(path="/tmp/review-fail.png", full_page=True)
            raise
    page.get_by_text("2 ticked on this page").wait_for()
    press(page, "Approve all of them", "2 review(s) approved")
    # the report keeps its finished bar; it is drawn in the same rerun as the message, a
    # moment after it on a busy machine
    bar = page.locator("[data-testid='stProgress']")
    bar.first.wait_for(timeout=15_000)
    assert bar.count() == 1
    context.close()

    visitor = browser.new_context(viewport=VIEW).new_page()
    deep_link_sign_in(visitor, f"{server}/review?review={linked}", "rae")
    visitor.get_by_text("Why it stopped").wait_for(timeout=20_000)
    assert review_id(visitor) == linked
    assert visitor.get_by_text("Page not found").count() == 0
    visitor.context.close()


def test_two_reviewers_decide_the_same_review(server: str, browser) -> None:
    rae = browser.new_context(viewport=VIEW).new_page()
    sign_in(rae, server, "rae")
    open_review_page(rae)
    press(rae, "Open", "Why it stopped")
    rid = review_id(rae)
    ada = browser.new_context(viewport=VIEW).new_page()
    deep_link_sign_in(ada, f"{server}/review?review={rid}", "ada")
    ada.get_by_text("Why it stopped").wait_for(timeout=20_000)
    settle(ada)
    press(rae, "Approve", f"Approved review {rid}")
    press(ada, "Approve", "was already decided by rae at")
    ada.get_by_text("The queue is refreshed").wait_for()
    assert ada.get_by_text(f"Approved review {rid}").count() == 0
    rae.context.close()
    ada.context.close()


def test_edit_then_approve_and_correct_a_label_at_a_confidence_gate(server: str, browser) -> None:
    page = browser.new_context(viewport=VIEW).new_page()
    sign_in(page, server, "rae")
    open_review_page(page)

    # edit-then-approve: the amount of an expense, a number that stays a number
    pick(page, "Workflow", "expense-approval")
    press(page, "Open", "Why it stopped")
    rid = review_id(page)
    settle(page)
    amount = page.get_by_label("amount").first
    amount.fill("123")
    amount.press("Tab")
    press(page, "Save edits and approve", f"Edited and approved review {rid}")

    # a confidence gate's label, correctable without the designer listing it as editable
    press(page, "← Back to the queue", "Tick all")
    pick(page, "Workflow", "ticket-routing")
    press(page, "Open", "confidence")
    rid = review_id(page)
    page.get_by_text("Correct if needed").wait_for()
    answer = page.get_by_role("combobox", name="classify.label").first
    answer.scroll_into_view_if_needed()
    settle(page)
    answer.click()
    page.get_by_role("option").first.wait_for(timeout=10_000)
    labels = [o.inner_text().strip() for o in page.get_by_role("option").all()]
    page.keyboard.press("Escape")
    assert len(labels) >= 2, labels  # the model's labels
    done = page.get_by_text(f"Edited and approved review {rid}")
    for label in labels[:2]:  # one of the first two differs from the model's answer
        pick(page, "classify.label", label)
        settle(page)
        button(page, "Save edits and approve").first.click()
        settle(page)
        if done.count():
            break
    done.first.wait_for(timeout=15_000)
    page.context.close()
