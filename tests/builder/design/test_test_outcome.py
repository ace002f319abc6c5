"""A Builder test run's outcome in words (issue 17 item 4): "rejected at manager", not
"succeeded (rejected)"; timeouts, escalations and choices read cleanly; review text with an
empty last value ends without a dangling colon."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.design.sandbox import Sandbox
from builder.design.test_outcome import clean_text, decisions, outcome
from runtime import loads_yaml
from runtime.nodes.base import Decision

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def ev(kind: str, node: str | None, **data: object) -> dict[str, object]:
    return {"kind": kind, "node_id": node, "data": data}


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("zoe spent 300.0 EUR on travel:", "zoe spent 300.0 EUR on travel"),
        ("zoe spent 300.0 EUR on travel: ", "zoe spent 300.0 EUR on travel"),
        ("Check:\nitem 1,\n", "Check\nitem 1"),
        ("ratio 3:4 is fine", "ratio 3:4 is fine"),
        ("zoe: taxi", "zoe: taxi"),
        (None, ""),
    ],
)
def test_clean_text_drops_only_a_dangling_colon(text: str | None, clean: str) -> None:
    assert clean_text(text) == clean


def test_outcomes_read_cleanly() -> None:
    started = ev("run.started", None)
    rejected = [
        started,
        ev("review.decided", "manager", action="reject", reason="over_policy"),
        ev("step", "refused"),
    ]
    assert outcome("succeeded", "rejected", None, rejected) == (
        "warning",
        "Test run rejected at manager (over_policy), ended at refused (rejected)",
    )
    approved = [
        started,
        ev("review.decided", "manager", action="approve"),
        ev("review.decided", "finance", action="approve"),
        ev("step", "paid"),
    ]
    assert outcome("succeeded", "approved", None, approved) == (
        "success",
        "Test run succeeded (approved): approved at manager, approved at finance",
    )
    timed_out = [started, ev("review.expired", "ask", action="timeout"), ev("step", "late")]
    assert outcome("succeeded", None, None, timed_out) == (
        "warning",
        "Test run timed out at ask (deadline), ended at late",
    )
    escalated = [
        started,
        ev("review.expired", "manager", action="escalate"),
        ev("review.decided", "finance", action="reject", reason="missing_receipt"),
        ev("step", "refused"),
    ]
    kind, text = outcome("succeeded", "rejected", None, escalated)
    assert (kind, text) == (
        "warning",
        "Test run rejected at finance (missing_receipt) after escalated at manager "
        "(deadline), ended at refused (rejected)",
    )
    chose = [started, ev("review.decided", "pick", action="choose", option=["a", "b"])]
    assert (
        outcome("succeeded", "ok", None, chose)[1] == "Test run succeeded (ok): chose a, b at pick"
    )
    assert outcome("succeeded", None, None, [started, ev("step", "done")]) == (
        "success",
        "Test run succeeded",
    )
    assert outcome("failed", None, "boom", [started, ev("step", "call")]) == (
        "error",
        "Test run failed at call: boom",
    )
    waiting = [started, ev("review.decided", "a", action="approve"), ev("review.requested", "b")]
    assert outcome("waiting", None, None, waiting) == (
        "info",
        "Test run waiting at b after approved at a",
    )
    assert decisions([ev("step", "x"), ev("review.decided", "y", action="edit")]) == [
        "edited and approved at y"
    ]


def test_a_rejected_expense_says_where_and_its_card_has_no_dangling_colon() -> None:
    spec = loads_yaml((EXAMPLES / "expense-approval.yaml").read_text())
    box = Sandbox()
    res = box.start(spec, {"employee": "zoe", "amount": 300.0, "category": "travel"})
    review = box.review(res.review_id)
    assert review["instructions"].rstrip() == "zoe spent 300.0 EUR on travel"  # the template
    assert clean_text(review["instructions"]) == "zoe spent 300.0 EUR on travel"
    noted = box.start(
        spec, {"employee": "zoe", "amount": 300.0, "category": "travel", "note": "taxi"}
    )
    assert box.review(noted.review_id)["instructions"] == "zoe spent 300.0 EUR on travel: taxi"
    done = box.decide(res.review_id, Decision(action="reject", reason="over_policy"))
    assert (done.status, done.result) == ("succeeded", "rejected")
    kind, text = outcome(done.status, done.result, done.error, box.store.run_events(done.run_id))
    assert kind == "warning" and text.startswith("Test run rejected at manager (over_policy)")
    assert "succeeded" not in text
