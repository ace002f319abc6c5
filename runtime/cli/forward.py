"""Sending a CLI command to the server that holds the database, and running it there.

DuckDB lets one process open a file; while `loopgate serve` runs, the CLI cannot. The
server writes ``<db>.server.json`` (its address, PID and a random secret, readable only
by its owner) on start and removes it on stop; the CLI sends its command line there.

The server runs it with :func:`run_forwarded`, which it hands to the HTTP API
(``create_api(..., run_cli=run_forwarded)``): the API never imports the CLI.
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

from runtime.cli.app import run_args
from runtime.cli.base import forwarded
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
    """The running server's hand-off file for a database, if a live server wrote one.

    A file left by a server that died is removed.

    Args:
        db: the database file.

    Returns:
        ``url``, ``pid``, ``secret`` and ``db``; None if no live server holds the file.
    """
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
    """Announce a server for a database file (a file only this user may read).

    Args:
        db: the database file the server holds.
        url: the server's address.

    Returns:
        The secret a forwarding CLI must present.
    """
    secret = secrets.token_urlsafe(24)
    path = server_file(db)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "pid": os.getpid(), "secret": secret, "db": str(db)}, fh)
    return secret


def remove_server_file(db: Path) -> None:
    """Remove the hand-off file, if this process wrote it.

    Args:
        db: the database file the server held.
    """
    with contextlib.suppress(OSError):
        info = json.loads(server_file(db).read_text())
        if info.get("pid") == os.getpid():
            server_file(db).unlink()


def forward_if_served(args: list[str]) -> int | None:
    """Run the command on the server holding the database, if one does.

    Args:
        args: the command line after ``loopgate``.

    Returns:
        The command's exit code (its output already printed); None if no server holds
        the database or the command is never forwarded (``serve``, ``validate``, help).
    """
    if not args or args[0] in _NOT_FORWARDED or any(a in ("--help", "-h") for a in args):
        return None
    db = _db_from_args(args)
    info = read_server_file(db)
    if info is None:
        return None
    import httpx  # late: start-up speed (only needed while a server runs)

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
    """Server side: run a forwarded command line with the server's engine.

    Args:
        engine: the server's engine.
        argv: the command line after ``loopgate`` (paths already absolute).

    Returns:
        ``code`` (the exit code), ``stdout`` and ``stderr`` (what the command printed).
    """
    out, err = io.StringIO(), io.StringIO()
    with forwarded(engine, out, err):
        code = run_args(argv)
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
