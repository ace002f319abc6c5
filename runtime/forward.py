"""Sending a CLI command to the server that holds the database, and running it there.

DuckDB lets one process open a file; while `loopgate serve` runs, the CLI cannot. The
server writes ``<db>.server.json`` (its address, PID and a random secret, readable only
by its owner) on start and removes it on stop; the CLI sends its command line there.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from runtime.settings import default_db_path, server_file

_PATH_OPTIONS = {"--db", "--out", "--items", "--data-file"}
_NOT_FORWARDED = {"serve", "ui", "validate", "--help", "-h", "--version"}


def _db_from_args(args: list[str]) -> Path:
    for i, arg in enumerate(args):
        if arg == "--db" and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--db="):
            return Path(arg.split("=", 1)[1])
    return default_db_path()


def _absolute(args: list[str]) -> list[str]:
    """Paths made absolute, since the server's working directory is not ours."""
    out = []
    take_path = False
    for arg in args:
        if take_path:
            out.append(str(Path(arg).resolve()))
            take_path = False
            continue
        name, eq, value = arg.partition("=")
        if name in _PATH_OPTIONS and eq:
            out.append(f"{name}={Path(value).resolve()}")
        elif arg in _PATH_OPTIONS:
            out.append(arg)
            take_path = True
        elif (
            not arg.startswith("-")
            and arg.endswith((".yaml", ".yml", ".jsonl", ".csv", ".json"))
            and Path(arg).exists()
        ):
            out.append(str(Path(arg).resolve()))
        else:
            out.append(arg)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_server_file(db: Path) -> dict[str, Any] | None:
    path = server_file(db)
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not _alive(int(info.get("pid", 0))):
        with contextlib.suppress(OSError):
            path.unlink()  # a server that died without cleaning up
        return None
    return info


def write_server_file(db: Path, url: str) -> str:
    """Announce a server for a database file; returns the secret the CLI must present."""
    secret = secrets.token_urlsafe(24)
    path = server_file(db)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "pid": os.getpid(), "secret": secret, "db": str(db)}, fh)
    return secret


def remove_server_file(db: Path) -> None:
    with contextlib.suppress(OSError):
        info = json.loads(server_file(db).read_text())
        if info.get("pid") == os.getpid():
            server_file(db).unlink()


def forward_if_served(args: list[str]) -> int | None:
    """Run the command on the server holding the database; None if there is none."""
    if not args or args[0] in _NOT_FORWARDED or any(a in ("--help", "-h") for a in args):
        return None
    db = _db_from_args(args)
    info = read_server_file(db)
    if info is None:
        return None
    import httpx

    try:
        resp = httpx.post(
            info["url"].rstrip("/") + "/api/cli",
            json={"argv": _absolute(args)},
            headers={"X-Loopgate-Local": info["secret"]},
            timeout=httpx.Timeout(10.0, read=3600.0),
        )
    except httpx.HTTPError as exc:
        print(
            f"error: the server for {db} ({info['url']}, PID {info['pid']}) holds the database "
            f"but did not answer: {exc}; stop it or try again",
            file=sys.stderr,
        )
        return 1
    if resp.status_code != 200:
        print(
            f"error: the server for {db} refused the command ({resp.status_code}): "
            f"{resp.text[:200]}",
            file=sys.stderr,
        )
        return 1
    body = resp.json()
    sys.stdout.write(body["stdout"])
    sys.stderr.write(body["stderr"])
    return int(body["code"])


def run_forwarded(engine: Any, argv: list[str]) -> dict[str, Any]:
    """Server side: run a command line with the server's engine, capturing its output."""
    from runtime import cli

    out, err = io.StringIO(), io.StringIO()
    t1 = cli._streams.set((out, err))
    t2 = cli._engine_override.set(engine)
    try:
        code = cli.run_args(argv)
    finally:
        cli._streams.reset(t1)
        cli._engine_override.reset(t2)
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
