"""`webhook`: POST JSON to a URL, retrying transient failures, with an idempotency key.

Runs go through a real engine; the receiving server is real and local (http.server).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runtime.errors import SpecError
from runtime.nodes import get_node_type
from runtime.nodes import webhook as webhook_module
from tests.mailsink import free_port
from tests.runtime.nodes.helpers import ITEM, assert_never_waits, node, workflow


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
            self.server.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": raw.decode()}
            )
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
    return workflow(
        f"""
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
""",
        wid="hook",
    )


def test_webhook_is_an_external_action():
    ntype = get_node_type("webhook")
    assert ntype is not None and ntype.external and ntype.family == "action"
    assert ntype.branches(ntype.Params(url="http://x")) == ["next", "error"]


def test_webhook_posts_json_with_an_idempotency_key(engine, receiver):
    receiver.answer("/refunds", (201, {"accepted": True, "id": 7}))
    spec = hook(
        receiver.url + "/refunds",
        body={
            "customer": "{{ item.name }}",
            "amount": "{{ item.amount }}",
            "note": "refund for {{ item.name }}",
        },
        headers={"X-Source": "loopgate-{{ item.name }}"},
    )
    res = engine.start(spec, ITEM)
    assert res.result == "called"
    assert res.outputs["call"] == {
        "status_code": 201,
        "response": {"accepted": True, "id": 7},
        "attempts": 1,
    }
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
    res = engine.start(
        hook(receiver.url + "/slow", timeout_seconds=0.3, retries=1, backoff_seconds=0), ITEM
    )
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
    return workflow(
        f"""
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
""",
        wid=wid,
    )


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
        target=lambda: out.append(engine.decide(first.review_id, {"action": "approve"}, by="mia"))
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


# ---------------------------------------------------------------- the contract


def test_webhook_contract():
    ntype, p = node("webhook", url="http://127.0.0.1:9000/hook")
    assert (ntype.family, ntype.icon) == ("action", "⚡")
    assert ntype.example_params == {"url": "http://127.0.0.1:9000/hook"}
    assert ntype.check(p, set()) == []
    assert_never_waits(ntype, p)
