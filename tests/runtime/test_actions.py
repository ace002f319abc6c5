"""The action nodes that leave the database: notify (outbox + SMTP) and webhook (HTTP POST).

Every server here is real and local: aiosmtpd and http.server on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runtime.cli import run_args
from runtime.errors import SpecError
from runtime.nodes import get_node_type
from runtime.nodes import webhook as webhook_module
from runtime.nodes.base import utcnow
from runtime.nodes.notify import parse_recipients
from runtime.outbox import OutboxDispatcher, send_queued
from runtime.settings import SmtpSettings, smtp_settings
from runtime.spec import loads_yaml
from runtime.store import Store
from tests.mailsink import free_port, mail_sink

# ---------------------------------------------------------------- helpers


def workflow(body: str, *, wid: str = "actions", inputs: str = "") -> Any:
    """A workflow from YAML nodes and edges (a trigger `start` and ends are the caller's)."""
    head = f"id: {wid}\nname: Actions test\n"
    if inputs:
        head += "input:\n" + inputs
    return loads_yaml(head + body)


NOTIFY = """
nodes:
  - {id: start, type: trigger}
  - id: tell
    type: notify
    params:
      to: "{{ item.email }}"
      subject: "Refund of {{ item.amount }} for {{ item.name }}"
      body: |
        Dear {{ item.name }},
        we refunded {{ item.amount }} EUR.
  - {id: done, type: end, params: {result: told}}
  - {id: no_mail, type: end, params: {result: not_told}}
edges:
  - {from: start, to: tell}
  - {from: tell, to: done, branch: next}
  - {from: tell, to: no_mail, branch: error}
"""
ITEM = {"name": "Ana", "email": "ana@example.com", "amount": 120}


def settings(port: int, **kw: Any) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, sender="loopgate@example.com", timeout=5,
                        **kw)


def outbox(store: Store, **kw: Any) -> list[dict[str, Any]]:
    return store.list_outbox(**kw)


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


# ---------------------------------------------------------------- notify: the node


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


@pytest.mark.parametrize(("item", "message"), [
    ({"name": "Bo", "email": None}, "no recipient"),
    ({"name": "Bo", "email": " , "}, "no recipient"),
    ({"name": "Bo", "email": "not an address"}, "is not an email address"),
    ({"name": "Bo", "email": "a@example.com\nBcc: all@example.com"}, "line breaks"),
])
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
    spec = workflow(NOTIFY.replace('to: "{{ item.email }}"',
                                   'to: ["{{ item.email }}", "Ops Team <ops@example.com>"]'))
    res = engine.start(spec, ITEM)
    assert res.outputs["tell"]["to"] == ["ana@example.com", "Ops Team <ops@example.com>"]
    assert outbox(engine.store)[0]["recipient"] == "ana@example.com, Ops Team <ops@example.com>"
    assert parse_recipients('"Rivera, Ana" <ana@x.org>; bo@x.org') == (
        ['"Rivera, Ana" <ana@x.org>', "bo@x.org"], None)
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


# ---------------------------------------------------------------- notify: delivery


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
        code = run_args(["run", str(path), "--item", json.dumps(ITEM), "--db", str(tmp_db),
                         "--json"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert captured.err == ""
        assert len(sink.messages) == 1
        assert sink.messages[0]["From"] == "Loopgate <bot@example.com>"
        assert run_args(["outbox", "list", "--json", "--db", str(tmp_db)]) == 0
        [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert row["status"] == "sent" and row["attempts"] == 1
        assert run_args(["outbox", "send", "--db", str(tmp_db)]) == 0
        assert "sent 0, failed 0" in capsys.readouterr().out
    assert len(sink.messages) == 1


def test_unreachable_smtp_leaves_the_message_failed_and_the_command_ok(
        tmp_db, monkeypatch, capsys, tmp_path):
    path = tmp_path / "notify.yaml"
    path.write_text("id: cli-notify\nname: CLI notify\n" + NOTIFY)
    closed = free_port()
    monkeypatch.setenv("LOOPGATE_SMTP_PORT", str(closed))
    started = time.monotonic()
    code = run_args(["run", str(path), "--item", json.dumps(ITEM), "--db", str(tmp_db), "--json"])
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)["status"] == "succeeded"
    warning = captured.err.strip()
    assert warning.count("\n") == 0 and warning.startswith("warning: 1 of 1 message(s) not sent")
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
    dispatcher = OutboxDispatcher(engine.store, settings(closed, backoff_seconds=10),
                                  max_attempts=3, clock=clock)
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
        dispatcher = OutboxDispatcher(engine.store, settings(sink.port, backoff_seconds=1),
                                      clock=clock)
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
    for name, value in {"HOST": "mail.internal", "PORT": "587", "FROM": "a@b.c", "USER": "u",
                        "PASSWORD": "p", "STARTTLS": "yes", "MAX_ATTEMPTS": "2"}.items():
        monkeypatch.setenv(f"LOOPGATE_SMTP_{name}", value)
    s = smtp_settings()
    assert (s.host, s.port, s.sender, s.user, s.password, s.starttls, s.max_attempts) == (
        "mail.internal", 587, "a@b.c", "u", "p", True, 2)
    assert "password" not in repr(s)


# ---------------------------------------------------------------- notify: retried and resumed runs

def test_a_retried_run_does_not_queue_twice(engine):
    # A step limit of 2 fails the run at `wobble`, just after `tell`; a retry gets a fresh
    # budget and runs on from `wobble`: `tell` is not run again.
    spec = workflow("max_steps: 2\n" + NOTIFY
                    .replace("- {from: tell, to: done, branch: next}",
                             "- {from: tell, to: wobble, branch: next}\n"
                             "  - {from: wobble, to: done}")
                    .replace("  - {id: done,",
                             "  - {id: wobble, type: set, params: {values: {x: 1}}}\n"
                             "  - {id: done,"))
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


# ---------------------------------------------------------------- webhook


class Receiver(ThreadingHTTPServer):
    """A local HTTP server that records every request and answers from a script per path."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.script: dict[str, list[tuple[int, Any, float]]] = {}
        self.lock = threading.Lock()
        self.arrived = threading.Event()  # set when a request comes in
        self.hold: threading.Event | None = None  # when set: answer only once it is set

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, path: str, *replies: tuple[int, Any] | tuple[int, Any, float]) -> None:
        """Reply to ``path`` with these (status, body[, delay]) in turn; the last one repeats."""
        self.script[path] = [(r[0], r[1], r[2] if len(r) > 2 else 0.0) for r in replies]

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out and hung up is expected here


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append({"path": self.path, "headers": dict(self.headers),
                                         "body": raw.decode()})
            replies = self.server.script.get(self.path, [(200, {"ok": True}, 0.0)])
            status, body, delay = replies.pop(0) if len(replies) > 1 else replies[0]
        self.server.arrived.set()
        if self.server.hold is not None:
            self.server.hold.wait(timeout=20)
        if delay:
            time.sleep(delay)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        kind = "text/plain" if isinstance(body, str) else "application/json"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Backoff waits are recorded, not slept."""
    waits: list[float] = []
    monkeypatch.setattr(webhook_module, "sleep", waits.append)
    return waits


def hook(url: str, **params: Any) -> Any:
    lines = "\n".join(f"      {k}: {json.dumps(v)}" for k, v in params.items())
    return workflow(f"""
nodes:
  - {{id: start, type: trigger}}
  - id: call
    type: webhook
    params:
      url: {json.dumps(url)}
{lines}
  - {{id: done, type: end, params: {{result: called}}}}
  - {{id: failed, type: end, params: {{result: call_failed}}}}
edges:
  - {{from: start, to: call}}
  - {{from: call, to: done, branch: next}}
  - {{from: call, to: failed, branch: error}}
""", wid="hook")


def test_webhook_is_an_external_action():
    ntype = get_node_type("webhook")
    assert ntype is not None and ntype.external and ntype.family == "action"
    assert ntype.branches(ntype.Params(url="http://x")) == ["next", "error"]


def test_webhook_posts_json_with_an_idempotency_key(engine, receiver):
    receiver.answer("/refunds", (201, {"accepted": True, "id": 7}))
    spec = hook(receiver.url + "/refunds", body={"customer": "{{ item.name }}",
                                                 "amount": "{{ item.amount }}",
                                                 "note": "refund for {{ item.name }}"},
                headers={"X-Source": "loopgate-{{ item.name }}"})
    res = engine.start(spec, ITEM)
    assert res.result == "called"
    assert res.outputs["call"] == {"status_code": 201, "response": {"accepted": True, "id": 7},
                                   "attempts": 1}
    [req] = receiver.requests
    assert json.loads(req["body"]) == {"customer": "Ana", "amount": 120, "note": "refund for Ana"}
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["headers"]["Idempotency-Key"] == f"{res.run_id}:call:1"
    assert req["headers"]["X-Source"] == "loopgate-Ana"


def test_webhook_default_body_and_a_text_response(engine, receiver):
    receiver.answer("/t", (200, "x" * 5000))
    res = engine.start(hook(receiver.url + "/t"), ITEM)
    assert res.outputs["call"]["response"] == "x" * 2000
    sent = json.loads(receiver.requests[0]["body"])
    assert sent["item"] == ITEM and sent["run_id"] == res.run_id and sent["node_id"] == "call"


def test_webhook_body_template_that_renders_json(engine, receiver):
    spec = hook(receiver.url + "/j", body='{"who": "{{ item.name }}", "n": {{ item.amount }}}')
    engine.start(spec, ITEM)
    assert json.loads(receiver.requests[0]["body"]) == {"who": "Ana", "n": 120}


def test_webhook_retries_a_server_error_with_the_same_key(engine, receiver, sleeps):
    receiver.answer("/flaky", (500, "boom"), (200, {"ok": 1}))
    res = engine.start(hook(receiver.url + "/flaky"), ITEM)
    assert res.result == "called"
    assert res.outputs["call"]["status_code"] == 200 and res.outputs["call"]["attempts"] == 2
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert len(receiver.requests) == 2 and keys == {f"{res.run_id}:call:1"}
    assert sleeps == [0.5]


def test_webhook_backoff_doubles_and_the_last_error_is_named(engine, receiver, sleeps):
    receiver.answer("/down", (503, "maintenance"))
    url = receiver.url + "/down"
    res = engine.start(hook(url, retries=3), ITEM)
    assert res.result == "call_failed"
    error = res.outputs["call"]["error"]
    assert url in error and "after 4 tries" in error and "503" in error and "maintenance" in error
    assert len(receiver.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_webhook_429_is_retried(engine, receiver, sleeps):
    receiver.answer("/busy", (429, "slow down"), (200, {}))
    assert engine.start(hook(receiver.url + "/busy"), ITEM).result == "called"
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("status", [400, 404, 422])
def test_webhook_client_errors_are_not_retried(engine, receiver, sleeps, status):
    receiver.answer("/bad", (status, {"error": "bad field"}))
    url = receiver.url + "/bad"
    res = engine.start(hook(url), ITEM)
    assert res.result == "call_failed"
    error = res.outputs["call"]["error"]
    assert url in error and str(status) in error and "not retried" in error
    assert len(receiver.requests) == 1 and sleeps == []


def test_webhook_connection_refused(engine, sleeps):
    url = f"http://127.0.0.1:{free_port()}/hook"
    res = engine.start(hook(url, retries=2), ITEM)
    assert res.result == "call_failed"
    error = res.outputs["call"]["error"]
    assert error.startswith(f"POST {url} failed after 3 tries: ConnectError")
    assert sleeps == [0.5, 1.0]


def test_webhook_timeout(engine, receiver):
    receiver.answer("/slow", (200, {}, 1.5))
    started = time.monotonic()
    res = engine.start(hook(receiver.url + "/slow", timeout_seconds=0.3, retries=1,
                            backoff_seconds=0), ITEM)
    assert time.monotonic() - started < 1.4
    assert res.result == "call_failed"
    assert "timed out after 0.3 s" in res.outputs["call"]["error"]
    assert "after 2 tries" in res.outputs["call"]["error"]


def test_webhook_urls_must_be_http(engine):
    with pytest.raises(SpecError) as err:
        engine.save_workflow(hook("ftp://127.0.0.1/x"))
    assert "node call" in str(err.value) and "http:// or https://" in str(err.value)
    spec = hook("{{ item.url }}")
    res = engine.start(spec, {**ITEM, "url": "file:///etc/passwd"})
    assert res.result == "call_failed" and "http:// or https://" in res.outputs["call"]["error"]


def approval_then_hook(url: str, *, wid: str, **params: Any) -> Any:
    """A manager's approval, then a webhook call."""
    extra = "".join(f", {k}: {json.dumps(v)}" for k, v in params.items())
    return workflow(f"""
nodes:
  - {{id: start, type: trigger}}
  - {{id: check, type: approval, params: {{team: managers}}}}
  - id: call
    type: webhook
    params: {{url: "{url}"{extra}}}
  - {{id: done, type: end}}
edges:
  - {{from: start, to: check}}
  - {{from: check, to: call, branch: approved}}
  - {{from: check, to: done, branch: rejected}}
  - {{from: call, to: done, branch: next}}
  - {{from: call, to: done, branch: error}}
""", wid=wid)


def test_a_resumed_webhook_call_sends_the_same_idempotency_key(engine, receiver, monkeypatch):
    """The call happened but its step was not committed: the second call is recognisable."""
    spec = approval_then_hook(f"{receiver.url}/pay", wid="hook-resume")
    res = engine.start(spec, ITEM)
    real_write = engine.store.write
    crashes = [RuntimeError("killed before the commit")]

    def write_once_broken(cur, batch):
        if crashes:
            raise crashes.pop()
        return real_write(cur, batch)

    monkeypatch.setattr(engine.store, "write", write_once_broken)
    # The decision is journaled first; the failed commit is retried from the journal.
    done = engine.decide(res.review_id, {"action": "approve"}, by="mia")
    assert done.status == "succeeded" and not crashes
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert keys == [f"{res.run_id}:call:1"] * 2


def test_a_webhook_after_a_decision_does_not_hold_up_other_writes(engine, receiver):
    """The call runs before the write transaction: while the receiver keeps it waiting,
    other runs start and other reviews are decided."""
    spec = approval_then_hook(
        f"{receiver.url}/slow", wid="slow-hook", timeout_seconds=30, retries=0
    )
    first, second = engine.start_many(spec, [ITEM, ITEM])
    receiver.hold = threading.Event()
    out: list[Any] = []
    deciding = threading.Thread(
        target=lambda: out.append(
            engine.decide(first.review_id, {"action": "approve"}, by="mia")
        )
    )
    deciding.start()
    assert receiver.arrived.wait(timeout=20)
    try:
        # While the webhook waits: a new run commits, and a bulk decision goes through.
        assert engine.start(spec, ITEM).status == "waiting"
        [other] = engine.decide_many([second.review_id], {"action": "reject"}, by="mia")
        assert other.status == "succeeded"
        assert not out, "the first decision is still waiting on its webhook"
    finally:
        receiver.hold.set()
    deciding.join(timeout=30)
    assert out and out[0].status == "succeeded" and out[0].outputs["call"]["status_code"] == 200


def test_webhook_dry_run_sends_nothing(store, receiver):
    from runtime.engine import Engine
    from runtime.services import Services

    engine = Engine(store, services=Services(store=store, settings={"dry_run": True}))
    res = engine.start(hook(receiver.url + "/x", body={"n": "{{ item.amount }}"}), ITEM)
    assert res.outputs["call"]["dry_run"] is True and res.outputs["call"]["body"] == {"n": 120}
    assert receiver.requests == []
