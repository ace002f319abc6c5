"""`notify`: queue an email in the outbox, committed with the step and sent after it.

Runs go through a real engine; the SMTP server is real and local (aiosmtpd on 127.0.0.1).
"""

from __future__ import annotations

import pytest

from runtime.errors import SpecError
from runtime.nodes.notify import parse_recipients
from runtime.outbox import OutboxDispatcher
from tests.mailsink import mail_sink
from tests.runtime.nodes.helpers import (
    ITEM,
    NOTIFY,
    assert_never_waits,
    node,
    outbox,
    settings,
    workflow,
)


def test_notify_queues_an_outbox_row_with_the_step(engine):
    res = engine.start(workflow(NOTIFY), ITEM)
    assert res.status == "succeeded" and res.result == "told"
    out = res.outputs["tell"]
    assert out["status"] == "queued" and out["to"] == ["ana@example.com"]
    assert out["subject"] == "Refund of 120 for Ana"
    [row] = outbox(engine.store)
    assert row["id"] == out["outbox_id"] and row["id"].startswith("msg_")
    assert row["status"] == "pending" and row["attempts"] == 0 and row["sent_at"] is None
    assert row["recipient"] == "ana@example.com" and row["channel"] == "email"
    assert row["body"] == "Dear Ana,\nwe refunded 120 EUR."
    assert row["idempotency_key"] == f"{res.run_id}:tell:1"
    assert row["run_id"] == res.run_id and row["node_id"] == "tell"


def test_a_failed_commit_queues_nothing(engine, monkeypatch):
    """The outbox row is part of the step's transaction: no commit, no message."""
    wf = engine.save_workflow(workflow(NOTIFY))

    def broken(cur, batch):
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine.store, "write", broken)
    with pytest.raises(RuntimeError):
        engine.start(wf, ITEM)
    monkeypatch.undo()
    assert outbox(engine.store) == []
    assert engine.store.list_runs() == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"name": "Bo", "email": None}, "no recipient"),
        ({"name": "Bo", "email": " , "}, "no recipient"),
        ({"name": "Bo", "email": "not an address"}, "is not an email address"),
        ({"name": "Bo", "email": "a@example.com\nBcc: all@example.com"}, "line breaks"),
    ],
)
def test_a_bad_recipient_takes_the_error_branch(engine, item, message):
    res = engine.start(workflow(NOTIFY), {**item, "amount": 1})
    assert res.status == "succeeded" and res.result == "not_told"
    assert message in res.outputs["tell"]["error"]
    assert outbox(engine.store) == []


def test_a_template_error_takes_the_error_branch(engine):
    spec = workflow(NOTIFY.replace("{{ item.amount }} for", "{{ item.amount.cents }} for"))
    res = engine.start(spec, ITEM)
    assert res.result == "not_told"
    assert "cents" in res.outputs["tell"]["error"]
    assert outbox(engine.store) == []


def test_recipients_lists_names_and_a_literal_address_checked_at_compile_time(engine):
    spec = workflow(
        NOTIFY.replace(
            'to: "{{ item.email }}"', 'to: ["{{ item.email }}", "Ops Team <ops@example.com>"]'
        )
    )
    res = engine.start(spec, ITEM)
    assert res.outputs["tell"]["to"] == ["ana@example.com", "Ops Team <ops@example.com>"]
    assert outbox(engine.store)[0]["recipient"] == "ana@example.com, Ops Team <ops@example.com>"
    assert parse_recipients('"Rivera, Ana" <ana@x.org>; bo@x.org') == (
        ['"Rivera, Ana" <ana@x.org>', "bo@x.org"],
        None,
    )
    bad = workflow(NOTIFY.replace('to: "{{ item.email }}"', "to: nobody"))
    with pytest.raises(SpecError) as err:
        engine.save_workflow(bad)
    assert "node tell" in str(err.value) and "'nobody' is not an email address" in str(err.value)


def test_a_subject_cannot_forge_headers(engine):
    with mail_sink() as sink:
        item = {**ITEM, "name": "Ana\r\nBcc: everyone@example.com"}
        res = engine.start(workflow(NOTIFY), item)
        assert "\n" not in res.outputs["tell"]["subject"]
        [result] = OutboxDispatcher(engine.store, settings(sink.port)).send_pending()
        assert result.status == "sent"
    [msg] = sink.messages
    assert msg["Bcc"] is None and sink.envelopes[0].rcpt_tos == ["ana@example.com"]


# ---------------------------------------------------------------- retried and resumed runs


def test_a_retried_run_does_not_queue_twice(engine):
    # A step limit of 2 fails the run at `wobble`, just after `tell`; a retry gets a fresh
    # budget and runs on from `wobble`: `tell` is not run again.
    spec = workflow(
        "max_steps: 2\n"
        + NOTIFY.replace(
            "- {from: tell, to: done, branch: next}",
            "- {from: tell, to: wobble, branch: next}\n  - {from: wobble, to: done}",
        ).replace(
            "  - {id: done,",
            "  - {id: wobble, type: set, params: {values: {x: 1}}}\n  - {id: done,",
        )
    )
    res = engine.start(spec, ITEM)
    assert res.status == "failed" and "step limit" in res.error
    assert len(outbox(engine.store)) == 1
    res = engine.retry(res.run_id)
    assert res.status == "succeeded" and res.result == "told"
    assert len(outbox(engine.store)) == 1
    with mail_sink() as sink:
        OutboxDispatcher(engine.store, settings(sink.port)).send_pending()
    assert len(sink.messages) == 1


RESUMED = """
nodes:
  - {id: start, type: trigger}
  - id: tell
    type: notify
    params: {to: "{{ item.email }}", subject: "We got your request", body: "Hello"}
  - id: check
    type: approval
    params: {team: managers}
  - id: confirm
    type: notify
    params: {to: "{{ item.email }}", subject: "Approved", body: "{{ review.by }} approved it"}
  - {id: done, type: end}
edges:
  - {from: start, to: tell}
  - {from: tell, to: check, branch: next}
  - {from: tell, to: done, branch: error}
  - {from: check, to: confirm, branch: approved}
  - {from: check, to: done, branch: rejected}
  - {from: confirm, to: done, branch: next}
  - {from: confirm, to: done, branch: error}
"""


def test_a_resumed_run_does_not_queue_again(engine):
    res = engine.start(workflow(RESUMED), ITEM)
    assert res.status == "waiting"
    assert [r["subject"] for r in outbox(engine.store)] == ["We got your request"]
    res = engine.decide(res.review_id, {"action": "approve"}, by="mia")
    assert res.status == "succeeded"
    rows = sorted(outbox(engine.store), key=lambda r: r["created_at"])
    assert [r["subject"] for r in rows] == ["We got your request", "Approved"]
    assert rows[1]["body"] == "mia approved it"
    with mail_sink() as sink:
        results = OutboxDispatcher(engine.store, settings(sink.port)).send_pending()
    assert [r.status for r in results] == ["sent", "sent"]
    assert [m["Subject"] for m in sink.messages] == ["We got your request", "Approved"]


# ---------------------------------------------------------------- the contract


def test_notify_contract():
    ntype, p = node("notify", to="{{ item.email }}")
    assert (ntype.family, ntype.icon) == ("action", "⚡")
    assert ntype.example_params == {"to": "{{ item.email }}", "subject": "Update", "body": "Hello"}
    assert ntype.branches(p) == ["next", "error"]
    assert not ntype.external  # the message is queued with the step; the outbox sends it
    assert_never_waits(ntype, p)
