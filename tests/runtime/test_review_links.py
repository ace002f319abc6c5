"""Review links in notification emails: ``LOOPGATE_BASE_URL`` and ``notify``'s ``link_review``.

A ``notify`` node that tells the reviewers, right before the run stops at their review,
ends its message with ``<base>/review?review=ID`` when the app's address is set; the mail
that leaves (a real local SMTP server) carries it.
"""

from __future__ import annotations

from typing import Any

import pytest

from runtime.engine import Engine
from runtime.errors import LoopgateError
from runtime.outbox import OutboxDispatcher
from runtime.settings import base_url, review_link
from runtime.spec import parse_spec
from tests.mailsink import mail_sink
from tests.runtime.nodes.helpers import settings


def _spec(**notify: Any) -> Any:
    return parse_spec(
        {
            "id": "tell-then-wait",
            "name": "tell then wait",
            "input": {"amount": {"type": "number", "required": True}},
            "nodes": [
                {"id": "start", "type": "trigger"},
                {
                    "id": "tell",
                    "type": "notify",
                    "params": {
                        "to": "managers@example.com",
                        "subject": "A refund of {{ item.amount }} waits",
                        "body": "Please look at it.",
                        **notify,
                    },
                },
                {"id": "check", "type": "approval", "params": {"team": "managers"}},
                {"id": "done", "type": "end", "params": {"result": "approved"}},
                {"id": "no", "type": "end", "params": {"result": "rejected"}},
            ],
            "edges": [
                {"from": "start", "to": "tell"},
                {"from": "tell", "to": "check", "branch": "next"},
                {"from": "tell", "to": "no", "branch": "error"},
                {"from": "check", "to": "done", "branch": "approved"},
                {"from": "check", "to": "no", "branch": "rejected"},
            ],
        }
    )


def _body(engine: Engine) -> str:
    [row] = engine.store.list_outbox()
    return row["body"]


def test_the_email_links_to_the_review(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOOPGATE_BASE_URL", "https://loopgate.example.com/")
    res = engine.start(_spec(link_review=True), {"amount": 120})
    assert res.status == "waiting"
    link = f"https://loopgate.example.com/review?review={res.review_id}"
    assert _body(engine) == f"Please look at it.\n\nOpen the review: {link}\n"
    with mail_sink() as sink:
        [sent] = OutboxDispatcher(engine.store, settings(sink.port)).send_pending()
        assert sent.status == "sent"
    [msg] = sink.messages
    assert link in msg.get_content()


@pytest.mark.parametrize(
    ("env", "notify"),
    [
        ({}, {"link_review": True}),  # no base URL: no link
        ({"LOOPGATE_BASE_URL": "https://loopgate.example.com"}, {}),  # not asked for
        ({"LOOPGATE_BASE_URL": "ftp://nope"}, {"link_review": True}),  # a bad setting
    ],
)
def test_no_link_unless_asked_and_set(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, env: dict, notify: dict
):
    monkeypatch.delenv("LOOPGATE_BASE_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    res = engine.start(_spec(**notify), {"amount": 120})
    assert res.status == "waiting"  # a bad setting never stops a run
    assert _body(engine) == "Please look at it."


def test_base_url_setting():
    assert base_url({}) is None
    assert base_url({"LOOPGATE_BASE_URL": " http://127.0.0.1:8501/app/ "}) == (
        "http://127.0.0.1:8501/app"
    )
    assert review_link("rev_1", {"LOOPGATE_BASE_URL": "https://x.example"}) == (
        "https://x.example/review?review=rev_1"
    )
    with pytest.raises(LoopgateError, match=r"LOOPGATE_BASE_URL='x\.example/\?a=1'"):
        base_url({"LOOPGATE_BASE_URL": "x.example/?a=1"})
    with pytest.raises(LoopgateError, match="must not carry a query"):
        base_url({"LOOPGATE_BASE_URL": "https://x.example/?a=1"})
