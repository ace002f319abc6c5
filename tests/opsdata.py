"""Runs the Audit and Runs page tests need besides the demo seed: a failed run (a webhook to
a closed port on 127.0.0.1) and a waiting one, started by the operator ``ops``."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator
from typing import Any

from runtime.spec import loads_yaml

HOOK_WORKFLOW = """
id: hook-out
name: Hook out
description: Posts each order to a local service, trying again on an error; fails once
  its step budget is spent while the service is down.
max_steps: 3
input:
  order: {type: string, required: true}
nodes:
  - id: start
    type: trigger
  - id: post
    type: webhook
    params: {url: "http://127.0.0.1:PORT/hook", retries: 0, timeout_seconds: 2}
  - id: done
    type: end
    params: {result: posted}
edges:
  - {from: start, to: post}
  - {from: post, to: done, branch: next}
  - {from: post, to: post, branch: error}
"""


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_failed_run(engine: Any, port: int | None = None, order: str = "A-1") -> Any:
    """Save ``hook-out`` posting to ``port`` (a closed one by default) and start one run as
    ``ops``; returns its result (failed while nothing listens on the port)."""
    spec = loads_yaml(HOOK_WORKFLOW.replace("PORT", str(port or closed_port())))
    wf = engine.save_workflow(spec, by="ada", message="a webhook to a local service")
    return engine.start(wf, {"order": order}, by="ops")


class _Hook(http.server.BaseHTTPRequestHandler):
    """Answers every POST with 200 {"ok": true}."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@contextlib.contextmanager
def hook_service(port: int) -> Iterator[None]:
    """The local service ``hook-out`` posts to, up on 127.0.0.1:``port`` while inside."""
    server = http.server.HTTPServer(("127.0.0.1", port), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
