"""Item 3: the CLI hand-off file (`<db>.server.json`) cannot be planted, hijacked or
redirected: the server creates it 0600 without following links, and the CLI trusts it only
when it is its user's own 0600 file and the server proves it holds the secret."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runtime.cli.forward import write_server_file
from runtime.errors import LoopgateError
from runtime.settings import server_file
from runtime.store import Store
from tests.e2e.clihelp import ROOT, loopgate
from tests.serverutil import free_port, running_server

FAKE_SECRET = "planted-secret"


class FakeServer:
    """An HTTP server on 127.0.0.1 that answers every forwarded command "intact" and
    records what it was sent: what an attacker's program on a port would do."""

    def __init__(self, proof: str = "wrong") -> None:
        self.requests: list[tuple[str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.requests.append((self.path, body))
                if self.path.endswith("/challenge"):
                    answer = {"proof": proof}
                else:
                    answer = {"code": 0, "stdout": "audit trail intact (fake)\n", "stderr": ""}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def forwarded(self) -> list[dict]:
        return [body for path, body in self.requests if path == "/api/cli"]


@contextmanager
def fake_server(proof: str = "wrong") -> Iterator[FakeServer]:
    fake = FakeServer(proof)
    thread = threading.Thread(target=fake.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.httpd.shutdown()
        fake.httpd.server_close()


def plant(db: Path, url: str, mode: int = 0o600, pid: int | None = None) -> Path:
    """A hand-off file as an attacker (or a dead server) would leave it."""
    path = server_file(db)
    path.write_text(json.dumps({"url": url, "pid": pid or os.getpid(), "secret": FAKE_SECRET}))
    os.chmod(path, mode)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "lg.duckdb"
    Store(path).close()
    return path


def _assert_ignored(res, why: str) -> None:
    lines = [line for line in res.err.splitlines() if "hand-off" in line]
    assert len(lines) == 1, res.err
    assert why in lines[0] and "opening" in lines[0] and "directly" in lines[0], lines[0]


def test_a_planted_file_readable_by_others_is_not_trusted(db: Path) -> None:
    with fake_server(proof="anything") as fake:
        plant(db, fake.url, mode=0o644)
        res = loopgate(db, "audit", "verify")
        add = loopgate(db, "users", "add", "boss", "--role", "admin", check=False)
    assert fake.requests == []  # never contacted: no command, no password went there
    _assert_ignored(res, "mode 0644")
    assert "fake" not in res.out and "intact" in res.out  # the real check, on the real file
    assert add.code == 0  # ran here, on the file itself


def test_a_file_owned_by_another_user_is_not_trusted(db: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file to another user")
    with fake_server() as fake:
        path = plant(db, fake.url)
        os.chown(path, 65534, 65534)
        res = loopgate(db, "audit", "verify")
    assert fake.requests == []
    _assert_ignored(res, "owned by uid 65534")


def test_a_symlink_at_the_path_is_not_trusted_by_the_cli(db: Path, tmp_path: Path) -> None:
    with fake_server() as fake:
        target = tmp_path / "elsewhere.json"
        target.write_text(json.dumps({"url": fake.url, "pid": os.getpid(), "secret": "x"}))
        os.chmod(target, 0o600)
        server_file(db).symlink_to(target)
        res = loopgate(db, "runs")
    assert fake.requests == []
    _assert_ignored(res, "symbolic link")


def test_a_server_that_does_not_know_the_secret_gets_no_command(db: Path) -> None:
    # A stale 0600 file of ours, naming a live PID, whose port another program now has.
    with fake_server(proof="0" * 64) as fake:
        plant(db, fake.url)
        res = loopgate(db, "audit", "verify")
    assert [p for p, _ in fake.requests] == ["/api/cli/challenge"]  # asked, and failed
    assert fake.forwarded == []
    _assert_ignored(res, "did not prove it holds")
    assert "fake" not in res.out and "intact" in res.out


def test_the_server_refuses_a_symlink_and_leaves_its_target_alone(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("do not overwrite\n")
    os.chmod(target, 0o644)
    server_file(db).symlink_to(target)
    proc = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "serve", "--port", str(free_port()), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "symbolic link" in proc.stderr and "Traceback" not in proc.stderr
    assert target.read_text() == "do not overwrite\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    with pytest.raises(LoopgateError, match="symbolic link"):
        write_server_file(db, "http://127.0.0.1:1")
    assert target.read_text() == "do not overwrite\n"


def test_the_server_replaces_an_existing_file_with_a_new_private_one(db: Path) -> None:
    path = plant(db, "http://127.0.0.1:1", mode=0o644)
    before = path.stat().st_ino
    secret = write_server_file(db, "http://127.0.0.1:2")
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_ino != before and st.st_uid == os.geteuid()
    assert json.loads(path.read_text())["secret"] == secret != FAKE_SECRET
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_real_server_writes_a_private_file_and_proves_its_secret(db: Path) -> None:
    plant(db, "http://127.0.0.1:1", mode=0o644)  # a stale file from before: replaced
    with running_server(db, "--no-seed", "--sweep-interval", "3600"):
        st = os.lstat(server_file(db))
        assert stat.S_IMODE(st.st_mode) == 0o600
        res = loopgate(db, "audit", "verify")
        assert "intact" in res.out and "hand-off" not in res.err
        # A password sent from a prompt or stdin reaches the server, not the command line.
        loopgate(db, "users", "add", "kai", "--role", "reviewer")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "runtime.cli",
                "users",
                "password",
                "kai",
                "--db",
                str(db),
                "--password-stdin",
            ],
            input="a-long-password\n",
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert proc.returncode == 0 and "password of kai changed" in proc.stdout, proc.stderr
    assert not server_file(db).exists()  # removed on stop
