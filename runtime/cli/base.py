"""What every `loopgate` command shares: the context, output, errors and the `command` decorator.

This module imports no other module of :mod:`runtime.cli`; every command module imports it.
The engine, the store and other heavy modules are imported where a command first needs
them, for start-up speed (``--help``, and commands a running server runs for the CLI).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from runtime.settings import default_db_path

if TYPE_CHECKING:
    from runtime.engine import Engine
    from runtime.store import Store


class CliExit(Exception):
    """Ends a command with an exit code (1: a user error, already explained on stderr).

    Attributes:
        code: the process exit code.
    """

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


# When a server runs a command for a CLI (see runtime.cli.forward), output goes to its
# buffers and commands use the server's engine instead of opening the file.
_streams: ContextVar[tuple[IO[str], IO[str]] | None] = ContextVar("loopgate_streams", default=None)
_engine_override: ContextVar[Any] = ContextVar("loopgate_engine", default=None)
_stdin: ContextVar[str | None] = ContextVar("loopgate_stdin", default=None)


@contextlib.contextmanager
def forwarded(engine: Any, out: IO[str], err: IO[str], stdin: str | None = None) -> Iterator[None]:
    """Run commands inside this block with ``engine`` and print to ``out`` and ``err``.

    The server uses it to run a command line a CLI forwarded to it.

    Args:
        engine: the server's engine (commands use it instead of opening the file).
        out: receives what commands print to stdout.
        err: receives what commands print to stderr.
        stdin: what the CLI read from its own standard input for the command (a password
            given with ``--password-stdin``), never the server's.
    """
    t1 = _streams.set((out, err))
    t2 = _engine_override.set(engine)
    t3 = _stdin.set(stdin)
    try:
        yield
    finally:
        _streams.reset(t1)
        _engine_override.reset(t2)
        _stdin.reset(t3)


def read_stdin() -> str:
    """The command's standard input: the forwarding CLI's, or this process's."""
    if is_forwarded():
        return _stdin.get() or ""
    return click.get_text_stream("stdin").read()


def is_forwarded() -> bool:
    """Whether the current command runs on a server for a forwarding CLI."""
    return _streams.get() is not None


def echo(message: Any = "", err: bool = False, nl: bool = True) -> None:
    """Print to stdout or stderr (or to the buffers of a forwarded command).

    Args:
        message: what to print.
        err: print to stderr.
        nl: end with a newline.
    """
    streams = _streams.get()
    if streams is None:
        click.echo(message, err=err, nl=nl)
    else:
        (streams[1] if err else streams[0]).write(f"{message}" + ("\n" if nl else ""))


def json_default(value: Any) -> Any:
    """JSON for what ``json.dumps`` cannot encode: ISO dates, pydantic models, else text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def json_line(obj: Any) -> None:
    """Print one object as one line of JSON (``--json`` output)."""
    echo(json.dumps(obj, default=json_default, ensure_ascii=False))


def fail(messages: list[str] | str) -> NoReturn:
    """Print each message as ``error: ...`` on stderr and end the command with exit code 1.

    Raises:
        CliExit: always.
    """
    for msg in [messages] if isinstance(messages, str) else messages:
        echo(f"error: {msg}", err=True)
    raise CliExit(1)


#: The largest ``--limit`` a listing command takes (more is a clear error, not a huge read).
MAX_LIMIT = 100_000


def db_path(db: str | None) -> str:
    """The database a command uses: ``--db``, else $LOOPGATE_DB, else ./loopgate.duckdb.

    Raises:
        CliExit: ``--db`` was given empty (explained on stderr).
    """
    if db is not None and not db.strip():
        fail(
            '--db "" names no file; give the database file, or leave --db out to use '
            "$LOOPGATE_DB or ./loopgate.duckdb"
        )
    return db or str(default_db_path())


class Ctx:
    """What every command gets: the database path, and the store or engine on demand.

    A read command opens only the store (no engine, so none of the compiler's, the node
    types' or the models' imports) and never creates the database: ``create`` is False.

    Attributes:
        db: the database file.
        wait: seconds to wait while another process holds it.
        json: print one JSON object per line.
        create: the command may create a new database file (write commands).
    """

    def __init__(self, db: str, wait: float, as_json: bool, create: bool = True):
        self.db = db
        self.wait = wait
        self.json = as_json
        self.create = create
        self._engine: Engine | None = None
        self._store: Store | None = None

    @property
    def local_actor(self) -> str:
        """Who a command without ``--by`` is recorded as in the audit trail: the operating
        system's account that ran it, as ``cli:NAME``."""
        import getpass

        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):  # no such account in a bare container
            return "cli"

    @property
    def engine(self) -> Engine:
        """The server's engine for a forwarded command, else one opened on :attr:`db`."""
        override = _engine_override.get()
        if override is not None:
            return override
        if self._engine is None:
            from runtime.engine import Engine  # late: start-up speed
            from runtime.services import default_services

            store = self.store
            self._engine = Engine(store, services=default_services(store))
        return self._engine

    @property
    def store(self) -> Store:
        """The server's store for a forwarded command, else the file opened on :attr:`db`.

        Raises:
            CliExit: a read command's database does not exist (says where it looked).
        """
        override = _engine_override.get()
        if override is not None:
            return override.store
        if self._store is None:
            from runtime.store import Store  # late: start-up speed

            if not self.create and not Path(self.db).exists():
                fail(f"no database at {Path(self.db).resolve()}; pass --db FILE or set LOOPGATE_DB")
            self._store = Store(self.db, wait=self.wait, create=self.create)
        return self._store

    def close(self) -> None:
        """Close the store this context opened (not a server's)."""
        if self._store is not None:
            self._store.close()


class LazyChoice(click.Choice):
    """A ``click.Choice`` whose choices are computed on first use, not at import.

    For choices that need heavy imports (the node registry's decision actions): listing
    the commands or parsing another command's options then does not pay for them.

    Args:
        load: returns the choices.
        case_sensitive: as for ``click.Choice``.
    """

    def __init__(self, load: Callable[[], Iterable[str]], case_sensitive: bool = True):
        # click.Choice.__init__ would evaluate the choices; set what it sets, lazily.
        self._load = load
        self._choices: tuple[str, ...] | None = None
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        """The choices, loaded once."""
        if self._choices is None:
            self._choices = tuple(self._load())
        return self._choices


class _Count(click.IntRange):
    """A whole number in a range ("'abc' is not a valid integer", not "integer range")."""

    name = "integer"


def limit_option(default: int, help: str | None = None) -> Callable[[Any], Any]:
    """The ``--limit`` option of a listing command: 1 to :data:`MAX_LIMIT` rows."""
    return click.option(
        "--limit",
        type=_Count(1, MAX_LIMIT),
        default=default,
        show_default=True,
        help=help or f"The most rows to show (1 to {MAX_LIMIT:,}).",
    )


def command(
    parent: click.Group | None,
    name: str,
    *,
    json_flag: bool = True,
    create_db: bool = True,
    **kwargs: Any,
):
    """A (sub)command with the shared --db, --wait and --json options and clean errors.

    The decorated function receives a :class:`Ctx` first, then the command's own options.
    A :class:`~runtime.errors.LoopgateError` becomes ``error: ...`` lines and exit code 1.

    Args:
        parent: the group to add the command to; None for a top-level command that
            :mod:`runtime.cli.app` adds to the ``loopgate`` group.
        name: the command's name.
        json_flag: offer ``--json``.
        create_db: the command may create a new database; read commands pass False (they
            refuse a missing file, saying where they looked, and create no folder).
        **kwargs: passed on to ``click.command``.

    Returns:
        A decorator turning a function into a click command.
    """

    def wrap(fn: Callable[..., None]) -> click.Command:
        @functools.wraps(fn)
        def run(db: str | None, wait: float, as_json: bool = False, **kw: Any) -> None:
            ctx = Ctx(db_path(db), wait, as_json, create=create_db)
            run_in(ctx, fn, **kw)

        for opt in shared_options(json_flag):
            run = opt(run)
        if parent is None:
            return click.command(name, **kwargs)(run)
        return parent.command(name, **kwargs)(run)

    return wrap


def run_in(ctx: Ctx, fn: Callable[..., None], *args: Any, **kw: Any) -> None:
    """Run a command's body with its context: Loopgate errors become ``error:`` lines and
    exit code 1, and the store it opened is closed after."""
    from runtime.errors import ItemError, LoopgateError, SpecError  # late: start-up speed

    try:
        fn(ctx, *args, **kw)
    except SpecError as exc:
        errors = [p for p in exc.problems if p.severity == "error"] or exc.problems
        for p in exc.problems:
            if p not in errors:  # a warning next to the errors: "warning: ..."
                echo(str(p), err=True)
        fail([str(p) for p in errors])
    except ItemError as exc:
        fail([str(p) for p in exc.problems])
    except LoopgateError as exc:
        fail(str(exc))
    finally:
        ctx.close()


def shared_options(json_flag: bool = True) -> list[Callable[[Any], Any]]:
    """The --db, --wait (and --json) options every command takes, as click decorators."""
    opts = [
        click.option(
            "--db",
            type=click.Path(dir_okay=False),
            default=None,
            help="The database file (default: $LOOPGATE_DB or ./loopgate.duckdb).",
        ),
        click.option(
            "--wait",
            type=float,
            default=0.0,
            show_default=True,
            help="Seconds to wait while another process holds the database.",
        ),
    ]
    if json_flag:
        opts.append(
            click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
        )
    return opts


_RESULT_KEYS = [
    "run_id",
    "status",
    "waiting_on",
    "review_id",
    "outputs",
    "workflow_id",
    "workflow_version",
    "team",
    "result",
    "error",
    "step_count",
    "votes",
]


def print_result(ctx: Ctx, res: Any, prefix: str = "") -> None:
    """Print where a run stands after a command moved it (one JSON line with --json).

    Args:
        ctx: the command's context.
        res: a ``RunResult``.
        prefix: put before the line (indentation).
    """
    if ctx.json:
        data = res.model_dump(mode="json")
        json_line({k: data.get(k) for k in _RESULT_KEYS if k in data and (k != "votes" or data[k])})
        return
    if res.status == "waiting":
        team = f", team {res.team}" if res.team else ""
        echo(f"{prefix}{res.run_id} waiting at {res.waiting_on} (review {res.review_id}{team})")
        if getattr(res, "votes", None):
            echo(f"{prefix}  {res.votes}")
    elif res.status == "failed":
        echo(f"{prefix}{res.run_id} failed: {res.error}")
    else:
        tail = f" ({res.result})" if res.result else ""
        echo(f"{prefix}{res.run_id} {res.status}{tail}")


def send_outbox(ctx: Ctx) -> None:
    """Send the messages the command queued; a mail problem is a warning, never an error."""
    from runtime.outbox import send_queued  # late: start-up speed (smtplib)

    send_queued(ctx.store, warn=lambda line: echo(line, err=True))
