"""The outbox: queued messages sent through SMTP, retried with backoff, sent once.

Every server here is real and local: aiosmtpd on 127.0.0.1. The messages are queued by
`notify` nodes (tests of the node itself: tests/runtime/nodes/test_notify.py).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from runtime.cli import run_args
from runtime.nodes.base import utcnow
from runtime.outbox import OutboxDispatcher, send_queued
from runtime.settings import smtp_settings
from runtime.store import Store
from tests.mailsink import free_port, mail_sink
from tests.runtime.nodes.helpers import ITEM, NOTIFY, outbox, settings, workflow


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    return store.audit_events(kind=kind)


class Clock:
    """A settable clock for the dispatcher's backoff."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_notify_end_to_end_through_a_real_smtp_server(engine):
    with mail_sink() as sink:
        res = engine.start(workflow(NOTIFY), ITEM)
        dispatcher = OutboxDispatcher(engine.store, settings(sink.port))
        [result] = dispatcher.send_pending()
        assert result.status == "sent" and result.attempts == 1 and result.error is None
        assert dispatcher.send_pending() == []  # sent once, never again
    [msg] = sink.messages
    assert msg["To"] == "ana@example.com" and msg["From"] == "loopgate@example.com"
    assert msg["Subject"] == "Refund of 120 for Ana"
    assert msg.get_content().replace("\r\n", "\n") == "Dear Ana,\nwe refunded 120 EUR.\n"
    row = outbox(engine.store)[0]
    assert msg["Message-ID"] == f"<{row['id']}@example.com>"
    assert msg["X-Loopgate-Idempotency-Key"] == f"{res.run_id}:tell:1"
    assert row["status"] == "sent" and row["attempts"] == 1 and row["last_error"] is None
    assert row["sent_at"] is not None and row["next_attempt_at"] is None
    [event] = events(engine.store, "outbox.sent")
    assert event["run_id"] == res.run_id and event["node_id"] == "tell"
    assert event["data"]["to"] == "ana@example.com" and event["data"]["attempts"] == 1
    assert engine.store.verify_audit_chain()[0]


def test_the_cli_sends_what_a_command_queued(tmp_db, monkeypatch, capsys, tmp_path):
    path = tmp_path / "notify.yaml"
    path.write_text("id: cli-notify\nname: CLI notify\n" + NOTIFY)
    with mail_sink() as sink:
        monkeypatch.setenv("LOOPGATE_SMTP_PORT", str(sink.port))
        monkeypatch.setenv("LOOPGATE_SMTP_FROM", "Loopgate <bot@example.com>")
        code = run_args(
            ["run", str(path), "--item", json.dumps(ITEM), "--db", str(tmp_db), "--json"]
        )
        captured = capsys.readouterr()
        assert code == 0, captured.err
        # the file's first run publishes it, and says so (stdout holds only JSON)
        assert captured.err.startswith("note: saved ") and captured.err.count("\n") == 1
        assert len(sink.messages) == 1
        assert sink.messages[0]["From"] == "Loopgate <bot@example.com>"
        assert run_args(["outbox", "list", "--json", "--db", str(tmp_db)]) == 0
        [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert row["status"] == "sent" and row["attempts"] == 1
        assert run_args(["outbox", "send", "--db", str(tmp_db)]) == 0
        assert "sent 0, failed 0" in capsys.readouterr().out
    assert len(sink.messages) == 1


def test_unreachable_smtp_leaves_the_message_failed_and_the_command_ok(
    tmp_db, monkeypatch, capsys, tmp_path
):
    path = tmp_path / "notify.yaml"
    path.write_text("id: cli-notify\nname: CLI notify\n" + NOTIFY)
    closed = free_port()
    monkeypatch.setenv("LOOPGATE_SMTP_PORT", str(closed))
    started = time.monotonic()
    code = run_args(["run", str(path), "--item", json.dumps(ITEM), "--db", str(tmp_db), "--json"])
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)["status"] == "succeeded"
    note, warning = captured.err.strip().split("\n")  # the file's first run publishes it
    assert note.startswith("note: saved ")
    assert warning.startswith("warning: 1 of 1 message(s) not sent")
    assert f"127.0.0.1:{closed}" in warning
    assert time.monotonic() - started < 30
    with Store(tmp_db) as store:
        [row] = outbox(store)
        assert row["status"] == "failed" and row["attempts"] == 1
        assert f"cannot reach SMTP server 127.0.0.1:{closed}" in row["last_error"]
        assert row["next_attempt_at"] > row["created_at"]
        [event] = events(store, "outbox.failed")
        assert event["data"]["error"] == row["last_error"]
    # Not due yet: `outbox send` tries nothing; --force tries now and reports the failure.
    assert run_args(["outbox", "send", "--db", str(tmp_db)]) == 0
    assert "sent 0, failed 0" in capsys.readouterr().out
    assert run_args(["outbox", "send", "--force", "--db", str(tmp_db)]) == 1
    assert "1 message(s) not sent" in capsys.readouterr().err
    # The server comes back: the message goes out on the next forced round.
    with mail_sink() as sink:
        monkeypatch.setenv("LOOPGATE_SMTP_PORT", str(sink.port))
        assert run_args(["outbox", "send", "--force", "--db", str(tmp_db)]) == 0
        assert len(sink.messages) == 1
    with Store(tmp_db) as store:
        [row] = outbox(store)
        assert row["status"] == "sent" and row["attempts"] == 3


def test_failed_messages_back_off_and_are_given_up(engine):
    clock = Clock()
    closed = free_port()
    engine.start(workflow(NOTIFY), ITEM)
    dispatcher = OutboxDispatcher(
        engine.store, settings(closed, backoff_seconds=10), max_attempts=3, clock=clock
    )
    [first] = dispatcher.send_pending()
    assert first.status == "failed" and first.attempts == 1
    assert first.next_attempt_at == clock.now + timedelta(seconds=20)
    assert dispatcher.send_pending() == []  # not due yet
    clock.advance(20)
    [second] = dispatcher.send_pending()
    assert second.attempts == 2 and second.next_attempt_at == clock.now + timedelta(seconds=40)
    clock.advance(40)
    [third] = dispatcher.send_pending()
    assert third.attempts == 3 and third.gave_up
    clock.advance(3600)
    assert dispatcher.send_pending() == []
    row = outbox(engine.store)[0]
    assert row["status"] == "failed" and row["attempts"] == 3 and row["next_attempt_at"] is None
    assert len(events(engine.store, "outbox.failed")) == 3
    with mail_sink() as sink:
        revived = OutboxDispatcher(engine.store, settings(sink.port), clock=clock)
        [again] = revived.send_pending(force=True)
    assert again.status == "sent" and again.attempts == 4 and len(sink.messages) == 1


def test_a_refused_recipient_is_a_permanent_failure(engine):
    with mail_sink() as sink:
        sink.refuse["ana@example.com"] = "550 5.1.1 no such mailbox"
        engine.start(workflow(NOTIFY), ITEM)
        dispatcher = OutboxDispatcher(engine.store, settings(sink.port, backoff_seconds=0))
        [result] = dispatcher.send_pending()
        assert dispatcher.send_pending() == []  # given up: not tried again
    assert result.status == "failed" and result.gave_up and result.attempts == 1
    assert "550" in result.error and "no such mailbox" in result.error
    assert sink.messages == []
    assert outbox(engine.store)[0]["next_attempt_at"] is None


def test_a_temporarily_refused_recipient_is_retried(engine):
    with mail_sink() as sink:
        sink.refuse["ana@example.com"] = "451 4.3.0 try again later"
        engine.start(workflow(NOTIFY), ITEM)
        clock = Clock()
        dispatcher = OutboxDispatcher(
            engine.store, settings(sink.port, backoff_seconds=1), clock=clock
        )
        [result] = dispatcher.send_pending()
        assert result.status == "failed" and not result.gave_up and "451" in result.error
        sink.refuse.clear()
        clock.advance(2)
        [result] = dispatcher.send_pending()
    assert result.status == "sent" and result.attempts == 2 and len(sink.messages) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login(engine):
    with mail_sink(user="bot", password="s3cret") as sink:
        engine.start(workflow(NOTIFY), ITEM)
        engine.start(workflow(NOTIFY), {**ITEM, "email": "bo@example.com"})
        wrong = OutboxDispatcher(engine.store, settings(sink.port, user="bot", password="nope"))
        results = wrong.send_pending()
        assert [r.status for r in results] == ["failed", "failed"]
        assert all("cannot log in to SMTP server" in r.error for r in results), results
        right = OutboxDispatcher(engine.store, settings(sink.port, user="bot", password="s3cret"))
        results = right.send_pending(force=True)
    assert [r.status for r in results] == ["sent", "sent"]
    assert sorted(m["To"] for m in sink.messages) == ["ana@example.com", "bo@example.com"]


def test_two_dispatchers_at_once_send_each_message_once(engine):
    for i in range(6):
        engine.start(workflow(NOTIFY), {**ITEM, "email": f"user{i}@example.com"})
    with mail_sink() as sink:
        results: list[Any] = []
        barrier = threading.Barrier(3)

        def send() -> None:
            barrier.wait()
            results.extend(OutboxDispatcher(engine.store, settings(sink.port)).send_pending())

        threads = [threading.Thread(target=send) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert len(results) == 6 and all(r.status == "sent" for r in results)
    assert sorted(m["To"] for m in sink.messages) == [f"user{i}@example.com" for i in range(6)]


def test_send_queued_never_raises(engine, monkeypatch):
    engine.start(workflow(NOTIFY), ITEM)
    warnings: list[str] = []
    monkeypatch.setenv("LOOPGATE_SMTP_PORT", "not-a-port")
    assert send_queued(engine.store, warnings.append) == []
    assert len(warnings) == 1 and "LOOPGATE_SMTP_PORT" in warnings[0]
    assert outbox(engine.store)[0]["status"] == "pending"


def test_smtp_settings_from_the_environment(monkeypatch):
    for name, value in {
        "HOST": "mail.internal",
        "PORT": "587",
        "FROM": "a@b.c",
        "USER": "u",
        "PASSWORD": "p",
        "STARTTLS": "yes",
        "MAX_ATTEMPTS": "2",
    }.items():
        monkeypatch.setenv(f"LOOPGATE_SMTP_{name}", value)
    s = smtp_settings()
    assert (s.host, s.port, s.sender, s.user, s.password, s.starttls, s.max_attempts) == (
        "mail.internal",
        587,
        "a@b.c",
        "u",
        "p",
        True,
        2,
    )
    assert "password" not in repr(s)
