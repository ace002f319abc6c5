"""A chat-completions server on 127.0.0.1 for tests of the OpenAI-compatible provider."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class ChatServer:
    """A chat-completions server on 127.0.0.1 that answers from a script of replies."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.replies: list[tuple[int, Any, float]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                status, payload, delay = (
                    server.replies.pop(0)
                    if server.replies
                    else (500, {"error": {"message": "no reply"}}, 0)
                )
                time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def reply(
        self,
        content: str,
        *,
        status: int = 200,
        delay: float = 0.0,
        model: str = "tiny-chat-2026-01",
    ) -> None:
        payload = {
            "id": "c1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
        }
        self.replies.append((status, payload, delay))

    def fail(self, status: int, message: str = "boom") -> None:
        self.replies.append((status, {"error": {"message": message}}, 0.0))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def chat_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """A running :class:`ChatServer`, with no proxy, no configured base URL or model, and
    ``LOOPGATE_OPENAI_API_KEY`` set to ``sk-test-123``."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    for var in ("LOOPGATE_OPENAI_BASE_URL", "LOOPGATE_OPENAI_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LOOPGATE_OPENAI_API_KEY", "sk-test-123")
    server = ChatServer()
    try:
        yield server
    finally:
        server.close()
