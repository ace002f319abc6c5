"""Start a Loopgate server on 127.0.0.1 inside a test, and stop it after."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(db: Path, *extra: str) -> Iterator[str]:
    """A seeded server for ``db`` on a free port; yields its URL."""
    port = free_port()
    env = {**os.environ, "LOOPGATE_DB": str(db)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtime.cli",
            "serve",
            "--port",
            str(port),
            "--db",
            str(db),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(f"the server did not start:\n{out}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def api_over_store(db: Path) -> Iterator[tuple[object, object, str]]:
    """The HTTP API (``runtime.api.create_api``) over a real store in ``db``, with the
    example workflows saved and an admin ``ada``: yields ``(app, engine, ada's token)``.

    No server process and no port: call the app in-process (TestClient, schemathesis).
    """
    from runtime.api import create_api
    from runtime.auth import add_user, issue_token
    from runtime.engine import Engine
    from runtime.services import default_services
    from runtime.spec import load_yaml
    from runtime.store import Store

    store = Store(db)
    try:
        eng = Engine(store, services=default_services(store))
        add_user(store, "ada", roles=["admin"], teams=[])
        for name in ("expense-approval.yaml", "refund-requests.yaml"):
            eng.save_workflow(load_yaml(ROOT / "examples" / name))
        yield create_api(lambda: eng, lambda: None), eng, issue_token(store, "ada")
    finally:
        store.close()
