"""The `loopgate` command line: every operation on workflows, runs, reviews and the audit trail."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from runtime.errors import ItemError, LoopgateError, SpecError
from runtime.settings import default_db_path

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


class CliExit(Exception):
    """Ends a command with an exit code (1: a user error, already explained on stderr)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


# When a server runs a command for a CLI (see runtime.forward), output goes to its buffers
# and commands use the server's engine instead of opening the file.
_streams: ContextVar[tuple[IO[str], IO[str]] | None] = ContextVar("loopgate_streams", default=None)
_engine_override: ContextVar[Any] = ContextVar("loopgate_engine", default=None)


def echo(message: Any = "", err: bool = False, nl: bool = True) -> None:
    """Print to stdout or stderr (or to the buffers of a forwarded command)."""
    streams = _streams.get()
    if streams is None:
        click.echo(message, err=err, nl=nl)
    else:
        (streams[1] if err else streams[0]).write(f"{message}" + ("\n" if nl else ""))


def _json_line(obj: Any) -> None:
    echo(json.dumps(obj, default=_default, ensure_ascii=False))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def _fail(messages: list[str] | str) -> None:
    for msg in [messages] if isinstance(messages, str) else messages:
        echo(f"error: {msg}", err=True)
    raise CliExit(1)


class Ctx:
    """What every command gets: the database path and an opened engine on demand."""

    def __init__(self, db: str, wait: float, as_json: bool):
        self.db = db
        self.wait = wait
        self.json = as_json
        self._engine = None

    @property
    def engine(self):
        override = _engine_override.get()
        if override is not None:
            return override
        if self._engine is None:
            from runtime.engine import Engine
            from runtime.services import default_services
            from runtime.store import Store

            store = Store(self.db, wait=self.wait)
            self._engine = Engine(store, services=default_services(store))
        return self._engine

    @property
    def store(self):
        return self.engine.store

    def close(self) -> None:
        if self._engine is not None:
            self._engine.store.close()


def command(group: click.Group, name: str, *, json_flag: bool = True, **kwargs: Any):
    """A subcommand with the shared --db, --wait and --json options and clean errors."""

    def wrap(fn: Callable[..., None]) -> click.Command:
        @functools.wraps(fn)
        def run(db: str | None, wait: float, as_json: bool = False, **kw: Any) -> None:
            ctx = Ctx(db or str(default_db_path()), wait, as_json)
            try:
                fn(ctx, **kw)
            except SpecError as exc:
                _fail([str(p) for p in exc.problems])
            except ItemError as exc:
                _fail([str(p) for p in exc.problems])
            except LoopgateError as exc:
                _fail(str(exc))
            finally:
                ctx.close()

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
                click.option(
                    "--json", "as_json", is_flag=True, help="Print one JSON object per line."
                )
            )
        for opt in opts:
            run = opt(run)
        return group.command(name, **kwargs)(run)

    return wrap


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="loopgate")
def cli() -> None:
    """Loopgate: AI workflows with a human in the loop."""


# ---------------------------------------------------------------- validate


@command(cli, "validate")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--strict", is_flag=True, help="Fail on warnings too (e.g. an unguarded sensitive action)."
)
def validate_cmd(ctx: Ctx, files: tuple[str, ...], strict: bool) -> None:
    """Check workflow files; print every problem as FILE: node <id>: message."""
    from runtime.compiler import check
    from runtime.spec import load_yaml

    failed = False
    for file in files:
        try:
            spec = load_yaml(file)
        except SpecError as exc:
            problems = exc.problems
        else:
            _, problems = check(spec)
        errors = [p for p in problems if p.severity == "error" or strict]
        failed |= bool(errors)
        for p in problems:
            if ctx.json:
                _json_line({"file": file, **p.model_dump()})
            else:
                echo(f"{file}: {p}", err=p in errors)
        if not problems and not ctx.json:
            echo(f"{file}: ok")
    if failed:
        raise CliExit(1)


# ---------------------------------------------------------------- run


def _workflow_arg(ctx: Ctx, ref: str):
    """A workflow from a YAML file (saved as a version if changed) or a stored id."""
    from runtime.spec import load_yaml

    if ref.endswith((".yaml", ".yml")) or Path(ref).exists():
        spec = load_yaml(ref)
        return ctx.engine.save_workflow(spec, message=f"from {Path(ref).name}")
    return ctx.engine.workflow(ref)


def _print_result(ctx: Ctx, res: Any, prefix: str = "") -> None:
    if ctx.json:
        data = res.model_dump(mode="json")
        keep = [
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
        ]
        _json_line({k: data.get(k) for k in keep if k in data})
        return
    if res.status == "waiting":
        team = f", team {res.team}" if res.team else ""
        echo(f"{prefix}{res.run_id} waiting at {res.waiting_on} (review {res.review_id}{team})")
    elif res.status == "failed":
        echo(f"{prefix}{res.run_id} failed: {res.error}")
    else:
        tail = f" ({res.result})" if res.result else ""
        echo(f"{prefix}{res.run_id} {res.status}{tail}")


def _send_outbox(ctx: Ctx) -> None:
    """Send the messages the command queued; a mail problem is a warning, never an error."""
    from runtime.outbox import send_queued

    send_queued(ctx.store, warn=lambda line: echo(line, err=True))


@command(cli, "run")
@click.argument("workflow")
@click.option("--item", "item_json", help="One item as JSON.")
@click.option(
    "--items",
    "items_file",
    type=click.Path(dir_okay=False),
    help="A .jsonl, .json or .csv file of items.",
)
@click.option("--by", help="The user starting the runs.")
@click.option(
    "--batch-id", help="Idempotency: items already started under this id are not started again."
)
@click.option("--again", is_flag=True, help="Start the items file anew even if it ran before.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Runs group-committed per transaction.",
)
def run_cmd(
    ctx: Ctx,
    workflow: str,
    item_json: str | None,
    items_file: str | None,
    by: str | None,
    batch_id: str | None,
    again: bool,
    batch_size: int,
) -> None:
    """Start runs of WORKFLOW (a YAML file or a stored workflow id)."""
    from runtime.engine import BatchItemError
    from runtime.items import parse_item, read_items

    if bool(item_json) == bool(items_file):
        _fail("give exactly one of --item JSON or --items FILE")
    ctx.engine.batch_size = batch_size
    wf = _workflow_arg(ctx, workflow)
    for w in wf.warnings:
        echo(f"warning: {workflow}: {w}", err=True)
    if item_json:
        _print_result(ctx, ctx.engine.start(wf, parse_item(item_json), by=by))
        _send_outbox(ctx)
        return
    items, digest = read_items(items_file)
    if not batch_id:
        batch_id = f"{wf.id}@{wf.spec.digest()}:{digest}"
        if again:
            batch_id += ":" + os.urandom(4).hex()
    existing = len(ctx.store.batch_runs(batch_id))
    if existing and not ctx.json:
        echo(
            f"note: {existing} item(s) of {items_file} were started before; showing their "
            "runs (use --again to start them anew)",
            err=True,
        )
    from tqdm import tqdm

    quiet = len(items) <= 50 or _streams.get() is not None
    bar = tqdm(
        total=len(items), unit="item", file=sys.stderr, disable=True if quiet else None, leave=False
    )
    bad: list[str] = []

    def on_result(index: int, res: Any) -> None:
        if isinstance(res, BatchItemError):
            bad.append(f"{items_file}: item {index + 1}: {res.error.split(': ', 1)[-1]}")
        else:
            _print_result(ctx, res)

    def progress(done: int, total: int) -> None:
        bar.n = done
        bar.refresh()

    ctx.engine.start_many(
        wf, items, by=by, batch_id=batch_id, progress=progress, on_result=on_result
    )
    bar.close()
    _send_outbox(ctx)
    if bad:
        _fail(bad)


# ---------------------------------------------------------------- reviews and decisions


@command(cli, "reviews")
@click.option("--team", help="Only this team's reviews.")
@click.option("--workflow", "workflow_id", help="Only this workflow's reviews.")
@click.option("--assignee", help="Only reviews assigned to this user.")
@click.option("--limit", type=int, default=100, show_default=True)
def reviews_cmd(
    ctx: Ctx, team: str | None, workflow_id: str | None, assignee: str | None, limit: int
) -> None:
    """List pending reviews, most urgent and oldest first."""
    rows = ctx.store.list_pending_reviews(
        team=team, workflow_id=workflow_id, assignee=assignee, limit=limit
    )
    for r in rows:
        if ctx.json:
            r = {k: v for k, v in r.items() if k != "context"}
            _json_line(r)
        else:
            due = f" due {r['deadline']:%Y-%m-%d %H:%M}" if r["deadline"] else ""
            echo(
                f"{r['id']}  {r['workflow_id']}/{r['node_id']}  {r['kind']}  "
                f"team={r['team'] or '-'}  {r['priority']}{due}  run {r['run_id']}"
            )
            text = r["note"] or r["instructions"]
            if text:
                echo(f"    {text}")
    if not rows and not ctx.json:
        echo("no pending reviews")


@command(cli, "decide")
@click.argument("review_id")
@click.option(
    "--action",
    required=True,
    type=click.Choice(["approve", "reject", "edit", "escalate", "submit", "accept", "revise"]),
)
@click.option("--data", "data_json", help="JSON object: edited fields or a submitted form.")
@click.option("--reason", help="Reason code (reject).")
@click.option("--note", help="Free text; the correction for revise; the note for escalate.")
@click.option("--rating", type=click.IntRange(1, 5), help="1-5 (feedback).")
@click.option("--team", help="Target team (escalate).")
@click.option("--by", required=True, help="The user deciding.")
def decide_cmd(
    ctx: Ctx,
    review_id: str,
    action: str,
    data_json: str | None,
    reason: str | None,
    note: str | None,
    rating: int | None,
    team: str | None,
    by: str,
) -> None:
    """Decide a pending review and run the workflow on to its next stop."""
    from runtime.nodes.base import Decision

    data: dict[str, Any] = {}
    if data_json:
        try:
            data = json.loads(data_json)
        except json.JSONDecodeError as exc:
            _fail(f"--data is not valid JSON ({exc.msg} at column {exc.colno})")
        if not isinstance(data, dict):
            _fail('--data must be a JSON object like {"amount": 120}')
    decision = Decision(
        action=action, data=data, reason=reason, note=note, rating=rating, team=team
    )
    _print_result(ctx, ctx.engine.decide(review_id, decision, by=by))
    _send_outbox(ctx)


# ---------------------------------------------------------------- runs


@click.group("runs", invoke_without_command=True)
@click.option("--status", type=click.Choice(["running", "waiting", "succeeded", "failed"]))
@click.option("--workflow", "workflow_id")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), default=None, help="The database file.")
@click.option("--wait", type=float, default=0.0)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
@click.pass_context
def runs_group(
    cctx: click.Context,
    status: str | None,
    workflow_id: str | None,
    limit: int,
    db: str | None,
    wait: float,
    as_json: bool,
) -> None:
    """List runs (newest first); `runs show RUN_ID` inspects one."""
    if cctx.invoked_subcommand:
        return
    ctx = Ctx(db or str(default_db_path()), wait, as_json)
    try:
        rows = ctx.store.list_runs(status=status, workflow_id=workflow_id, limit=limit)
        for r in rows:
            if as_json:
                _json_line(r)
            else:
                where = f" at {r['current_node']}" if r["current_node"] else ""
                extra = r["error"] or r["result"] or ""
                echo(
                    f"{r['id']}  {r['workflow_id']} v{r['workflow_version']}  "
                    f"{r['status']}{where}  {r['step_count']} steps  {extra}".rstrip()
                )
        if not rows and not as_json:
            echo("no runs")
    except LoopgateError as exc:
        _fail(str(exc))
    finally:
        ctx.close()


cli.add_command(runs_group)


@command(runs_group, "show")
@click.argument("run_id")
def runs_show_cmd(ctx: Ctx, run_id: str) -> None:
    """One run: its status, item and every step with its branch and output."""
    run = ctx.store.get_run(run_id)
    events = ctx.store.run_events(run_id)
    pending = ctx.store.pending_review_for_run(run_id)
    if ctx.json:
        _json_line({**run, "events": events, "pending_review": pending})
        return
    echo(f"run {run['id']}  workflow {run['workflow_id']} v{run['workflow_version']}")
    echo(
        f"status {run['status']}"
        + (f" at {run['current_node']}" if run["current_node"] else "")
        + (f"  error: {run['error']}" if run["error"] else "")
        + (f"  result: {run['result']}" if run["result"] else "")
    )
    if pending:
        echo(f"waiting for review {pending['id']} (team {pending['team'] or '-'})")
    echo(f"item {json.dumps(run['item'], default=_default)}")
    for ev in events:
        data = ev["data"] or {}
        who = f" by {ev['actor']}" if ev["actor"] else ""
        if ev["kind"] in ("step", "audit"):
            branch = f" -> {data.get('branch')}" if data.get("branch") else ""
            out = json.dumps(data.get("output"), default=_default)
            echo(
                f"  {ev['occurred_at']:%H:%M:%S}  {ev['node_id']} ({data.get('type')})"
                f"{branch}{who}  {out}"
            )
        else:
            echo(
                f"  {ev['occurred_at']:%H:%M:%S}  [{ev['kind']}] {ev['node_id'] or ''}{who}  "
                f"{json.dumps(data, default=_default)}"
            )


@command(cli, "retry")
@click.argument("run_id")
@click.option("--by", help="The user retrying.")
def retry_cmd(ctx: Ctx, run_id: str, by: str | None) -> None:
    """Run a failed run again from the node that failed."""
    _print_result(ctx, ctx.engine.retry(run_id, by=by))
    _send_outbox(ctx)


@command(cli, "sweep")
@click.option("--now", "now_text", help="ISO time to sweep as of (default: now, UTC).")
def sweep_cmd(ctx: Ctx, now_text: str | None) -> None:
    """Apply deadlines: timeout branches, default decisions, escalations."""
    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
        except ValueError:
            _fail(f"--now {now_text!r} is not an ISO time like 2026-11-25T09:00:00")
        if now.tzinfo is not None:
            from datetime import UTC

            now = now.astimezone(UTC).replace(tzinfo=None)
    report = ctx.engine.sweep(now)
    _send_outbox(ctx)
    if ctx.json:
        _json_line(report.model_dump(mode="json", exclude={"runs"}))
        for res in report.runs:
            _print_result(ctx, res)
        return
    echo(
        f"timed out {len(report.timed_out)}, decided by default {len(report.decided)}, "
        f"escalated {len(report.escalated)}"
    )
    for res in report.runs:
        _print_result(ctx, res, prefix="  ")
    for msg in report.failed:
        echo(f"error: {msg}", err=True)


# ---------------------------------------------------------------- audit and export


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail."""


cli.add_command(audit_group)


@command(audit_group, "verify")
def audit_verify_cmd(ctx: Ctx) -> None:
    """Recompute the hash chain; exit 1 naming the first bad row."""
    ok, checked, message = ctx.store.verify_audit_chain()
    if ctx.json:
        _json_line({"ok": ok, "rows": checked, "message": message})
    if not ok:
        _fail(message)
    if not ctx.json:
        echo(message)


@command(audit_group, "list")
@click.option("--run", "run_id")
@click.option("--kind")
@click.option("--actor")
@click.option("--search", "text")
@click.option("--limit", type=int, default=50, show_default=True)
def audit_list_cmd(
    ctx: Ctx, run_id: str | None, kind: str | None, actor: str | None, text: str | None, limit: int
) -> None:
    """Newest audit events first."""
    for ev in ctx.store.audit_events(run_id=run_id, kind=kind, actor=actor, text=text, limit=limit):
        if ctx.json:
            _json_line(ev)
        else:
            echo(
                f"{ev['seq']:>6}  {ev['occurred_at']:%Y-%m-%d %H:%M:%S}  {ev['kind']:<18} "
                f"{ev['run_id'] or '-'}  {ev['node_id'] or '-'}  {ev['actor'] or '-'}"
            )


@command(cli, "export", json_flag=False)
@click.argument("what", type=click.Choice(["audit", "decisions", "feedback", "runs", "reviews"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False))
def export_cmd(ctx: Ctx, what: str, fmt: str, out: str) -> None:
    """Export the audit trail, decisions or feedback as CSV, Parquet or JSON Lines."""
    n = ctx.store.export(what, fmt, out)
    echo(f"wrote {n} rows to {out}")


# ---------------------------------------------------------------- workflows and users


@click.group("workflows")
def workflows_group() -> None:
    """Stored workflows and their versions."""


cli.add_command(workflows_group)


@command(workflows_group, "list")
def workflows_list_cmd(ctx: Ctx) -> None:
    """Every stored workflow with its newest version."""
    for w in ctx.store.list_workflows():
        if ctx.json:
            _json_line(w)
        else:
            echo(
                f"{w['id']}  v{w['version']} ({w['versions']} versions)  {w['status']}  {w['name']}"
            )


@command(workflows_group, "save")
@click.argument("files", nargs=-1, required=True)
@click.option("--by", help="The user saving.")
@click.option("--message", "-m", help="What changed.")
def workflows_save_cmd(
    ctx: Ctx, files: tuple[str, ...], by: str | None, message: str | None
) -> None:
    """Save workflow files as new versions (unchanged files keep their version)."""
    from runtime.spec import load_yaml

    for file in files:
        wf = ctx.engine.save_workflow(load_yaml(file), by=by, message=message)
        echo(f"{wf.id} v{wf.version}")


@command(workflows_group, "export")
@click.argument("workflow_id")
@click.option("--version", type=int)
def workflows_export_cmd(ctx: Ctx, workflow_id: str, version: int | None) -> None:
    """Print a stored workflow as YAML."""
    from runtime.spec import parse_spec

    row = ctx.store.get_workflow(workflow_id, version)
    echo(parse_spec(row["spec"]).to_yaml(), nl=False)


@click.group("users")
def users_group() -> None:
    """Accounts, roles and teams."""


cli.add_command(users_group)


@command(users_group, "add", json_flag=False)
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["admin", "designer", "reviewer", "operator", "auditor"]),
)
@click.option("--team", "teams", multiple=True)
@click.option(
    "--password",
    envvar="LOOPGATE_PASSWORD",
    help="Sign-in password (or $LOOPGATE_PASSWORD); none: CLI and token use only.",
)
@click.option("--display-name")
def users_add_cmd(
    ctx: Ctx,
    name: str,
    roles: tuple[str, ...],
    teams: tuple[str, ...],
    password: str | None,
    display_name: str | None,
) -> None:
    """Create a user."""
    from runtime.auth import add_user

    add_user(
        ctx.store,
        name,
        roles=list(roles),
        teams=list(teams),
        password=password,
        display_name=display_name,
    )
    echo(f"user {name} added ({', '.join(roles)}; teams: {', '.join(teams) or 'none'})")


@command(users_group, "list")
def users_list_cmd(ctx: Ctx) -> None:
    """Every user with roles and teams."""
    for u in ctx.store.list_users():
        if ctx.json:
            _json_line(u)
        else:
            echo(
                f"{u['name']}  roles={','.join(u['roles'])}  teams={','.join(u['teams']) or '-'}"
                + ("  (disabled)" if u["disabled"] else "")
            )


@command(users_group, "token", json_flag=False)
@click.argument("name")
def users_token_cmd(ctx: Ctx, name: str) -> None:
    """Issue a new API bearer token for a user (printed once)."""
    from runtime.auth import issue_token

    echo(issue_token(ctx.store, name))


from runtime.model_cli import model_group  # noqa: E402 - it imports `command` from here

cli.add_command(model_group)


def run_args(argv: list[str]) -> int:
    """Run one command line; return its exit code. Never raises, never prints a traceback."""
    _load_plugins()
    try:
        cli.main(args=argv, prog_name="loopgate", standalone_mode=False)
    except CliExit as exc:
        return exc.code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        echo(f"error: {exc.format_message()}", err=True)
        return 1
    except LoopgateError as exc:
        echo(f"error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the promise: never a traceback
        if os.environ.get("LOOPGATE_DEBUG"):
            raise
        echo(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(set LOOPGATE_DEBUG=1 to see the traceback, and please report it)",
            err=True,
        )
        return 2
    return 0


_PLUGINS_LOADED = False


def _load_plugins() -> None:
    """Commands other packages add (the app server adds `serve` and `ui`)."""
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    from runtime.outbox_cli import outbox_group  # it imports `command` from here: load it late

    cli.add_command(outbox_group)
    from importlib.metadata import entry_points

    for ep in entry_points(group="loopgate.commands"):
        try:
            command_obj = ep.load()
        except ImportError:
            continue  # its extra is not installed (e.g. the app without [app])
        cli.add_command(command_obj, ep.name)


def main(argv: list[str] | None = None) -> None:
    """Entry point: forwards to a running server that holds the database, else runs here."""
    args = list(sys.argv[1:] if argv is None else argv)
    from runtime.forward import forward_if_served

    code = forward_if_served(args)
    if code is None:
        code = run_args(args)
    sys.exit(code)


if __name__ == "__main__":
    # `python -m runtime.cli`: run the module proper, not this __main__ copy, so that commands
    # defined in other modules (runtime.outbox_cli) raise the CliExit that run_args catches.
    from runtime.cli import main as _main

    _main()
