"""Sending a CLI command to the server that holds the database, and running it there.

DuckDB lets one process open a file; while `loopgate serve` runs, the CLI cannot. The
server writes ``<db>.server.json`` (its address, PID and a random secret) on start, as a
new 0600 file never written through a link, and removes it on stop. The CLI trusts it only
when it is a regular file of its own user with no group/other bits and the server it names
proves, by answering a random challenge with an HMAC, that it holds the file's secret; then
it sends its command line there.

The server runs it with :func:`run_forwarded`, which it hands to the HTTP API
(``create_api(..., run_cli=run_forwarded)``): the API never imports the CLI.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Any

from runtime.cli.app import run_args
from runtime.cli.base import forwarded
from runtime.settings import default_db_path, server_file

_PATH_OPTIONS = {"--db", "--out", "--items", "--data-file"}
_NOT_FORWARDED = {"serve", "ui", "validate", "--help", "-h", "--version"}
_CHALLENGE_CONTEXT = b"loopgate-cli-challenge:"
_MAX_FILE = 64 * 1024


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


def challenge_proof(secret: str, nonce: str) -> str:
    """What a server holding ``secret`` answers to a CLI's challenge ``nonce`` (hex HMAC)."""
    return hmac.new(
        secret.encode(), _CHALLENGE_CONTEXT + nonce.encode(), hashlib.sha256
    ).hexdigest()


class UntrustedServerFile(Exception):
    """The hand-off file exists but is not to be trusted; the message says why."""


def _load_trusted(path: Path) -> dict[str, Any] | None:
    """The hand-off file's content, if it is a regular file only this user may read.

    Returns:
        The parsed file; None if there is none.

    Raises:
        UntrustedServerFile: a symbolic link, not a regular file, owned by another user,
            readable or writable by others, or not a hand-off file.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise UntrustedServerFile(f"{path} is a symbolic link, not a file the server wrote")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UntrustedServerFile(f"{path} cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())  # the file opened, not what the name points at now
        if not stat.S_ISREG(st.st_mode):
            raise UntrustedServerFile(f"{path} is not a regular file")
        if st.st_uid != os.geteuid():
            raise UntrustedServerFile(
                f"{path} is owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
            )
        if st.st_mode & 0o077:
            raise UntrustedServerFile(
                f"{path} has mode {stat.S_IMODE(st.st_mode):04o}; a server writes it 0600"
            )
        raw = fh.read(_MAX_FILE)
    try:
        info = json.loads(raw)
        url, pid, secret = info["url"], int(info["pid"]), info["secret"]
    except (ValueError, KeyError, TypeError):
        raise UntrustedServerFile(f"{path} is not a Loopgate hand-off file") from None
    if not (isinstance(url, str) and url.startswith(("http://", "https://"))) or not (
        isinstance(secret, str) and secret
    ):
        raise UntrustedServerFile(f"{path} is not a Loopgate hand-off file")
    info["pid"] = pid
    return info


def read_server_file(db: Path) -> dict[str, Any] | None:
    """The running server's hand-off file for a database, if a live server wrote one.

    A file of ours left by a server that died is removed.

    Args:
        db: the database file.

    Returns:
        ``url``, ``pid``, ``secret`` and ``db``; None if no live server holds the file.

    Raises:
        UntrustedServerFile: the file is there but not to be trusted (the message says why).
    """
    path = server_file(db)
    info = _load_trusted(path)
    if info is None:
        return None
    if not _alive(info["pid"]):
        with contextlib.suppress(OSError):
            path.unlink()  # ours (checked above), from a server that died without cleaning up
        return None
    return info


def _prove(httpx: Any, info: dict[str, Any]) -> None:
    """Make the server at ``info["url"]`` prove it holds the file's secret.

    Raises:
        UntrustedServerFile: it does not (another program on that port, say).
    """
    nonce = secrets.token_hex(16)
    try:
        resp = httpx.post(
            info["url"].rstrip("/") + "/api/cli/challenge", json={"nonce": nonce}, timeout=10.0
        )
        proof = resp.json().get("proof") if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        proof = None
    if not isinstance(proof, str) or not hmac.compare_digest(
        proof, challenge_proof(info["secret"], nonce)
    ):
        raise UntrustedServerFile(
            f"the program at {info['url']} named by {info['path']} did not prove it holds "
            "the file's secret (a stale file, or another program on that port)"
        )


def write_server_file(db: Path, url: str) -> str:
    """Announce a server for a database file: a new 0600 file, never through a link.

    The content goes to a new file in the same directory, created exclusively without
    following links, then renamed over the hand-off path (so an existing file's mode or
    owner is never reused, and a reader never sees half a file).

    Args:
        db: the database file the server holds.
        url: the server's address.

    Returns:
        The secret a forwarding CLI must present.

    Raises:
        LoopgateError: a symbolic link or something other than a file is at the path.
    """
    path = server_file(db)
    check_server_file_path(db)
    secret = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        data = {"url": url, "pid": os.getpid(), "secret": secret, "db": str(db)}
        os.write(fd, json.dumps(data).encode())
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)  # replaces the entry itself, never a link's target
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return secret


def check_server_file_path(db: Path) -> None:
    """Refuse to serve when the hand-off path is a link or not a regular file.

    Raises:
        LoopgateError: what is at the path, and what to do.
    """
    from runtime.errors import LoopgateError  # late: start-up speed (pydantic)

    path = server_file(db)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise LoopgateError(
            f"{path} is a symbolic link (to {os.readlink(path)}); the server will not write "
            "its secret through a link. Remove the link (someone may have planted it) and "
            "start again"
        )
    if not stat.S_ISREG(st.st_mode):
        raise LoopgateError(f"{path} is not a regular file; remove it and start again")


def remove_server_file(db: Path) -> None:
    """Remove the hand-off file, if this process wrote it.

    Args:
        db: the database file the server held.
    """
    with contextlib.suppress(OSError, UntrustedServerFile):
        info = _load_trusted(server_file(db))
        if info and info.get("pid") == os.getpid():
            server_file(db).unlink()


def _stdin_for(args: list[str]) -> tuple[list[str], str | None]:
    """What a forwarded command reads from standard input, read here (the server cannot).

    ``users password`` without ``--password-stdin`` prompts here and sends the answer.
    """
    if args[:2] == ["users", "password"] and "--password-stdin" not in args:
        import click  # late: start-up speed

        name = next((a for a in args[2:] if not a.startswith("-")), "the user")
        pw = click.prompt(f"New password for {name}", hide_input=True, confirmation_prompt=True)
        return [*args, "--password-stdin"], pw + "\n"
    if "--password-stdin" in args:
        return args, sys.stdin.read()
    return args, None


def forward_if_served(args: list[str]) -> int | None:
    """Run the command on the server holding the database, if one does.

    The hand-off file is trusted only when it is a regular file of this user with mode
    0600, and the server it names proves it holds its secret; otherwise one line on stderr
    says why, and the command opens the database itself (which fails, with exit 1, if a
    process holds it).

    Args:
        args: the command line after ``loopgate``.

    Returns:
        The command's exit code (its output already printed); None if no server holds
        the database or the command is never forwarded (``serve``, ``validate``, help).
    """
    if not args or args[0] in _NOT_FORWARDED or any(a in ("--help", "-h") for a in args):
        return None
    db = _db_from_args(args)
    try:
        info = read_server_file(db)
        if info is None:
            return None
        info["path"] = str(server_file(db))
        import httpx  # late: start-up speed (only needed while a server runs)

        _prove(httpx, info)
    except UntrustedServerFile as exc:
        print(f"warning: ignoring the hand-off file: {exc}; opening {db} directly", file=sys.stderr)
        return None
    args, stdin = _stdin_for(args)
    try:
        resp = httpx.post(
            info["url"].rstrip("/") + "/api/cli",
            json={"argv": _absolute(args), "stdin": stdin},
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


def run_forwarded(engine: Any, argv: list[str], stdin: str | None = None) -> dict[str, Any]:
    """Server side: run a forwarded command line with the server's engine.

    Args:
        engine: the server's engine.
        argv: the command line after ``loopgate`` (paths already absolute).
        stdin: what the CLI read from its standard input for the command, if anything.

    Returns:
        ``code`` (the exit code), ``stdout`` and ``stderr`` (what the command printed).
    """
    out, err = io.StringIO(), io.StringIO()
    with forwarded(engine, out, err, stdin):
        code = run_args(argv)
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
