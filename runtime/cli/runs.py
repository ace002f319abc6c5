"""`loopgate run`, `runs`, `runs show`, `runs cancel`, `runs fork` and `retry`: start runs,
list, inspect, cancel, fork and retry them.

The engine, the queries, item parsing and the progress bar are imported inside the
commands: start-up speed.

``run FILE.yaml`` runs what is stored: a run resumes after a review from the workflow
version it names, so its content must be in the database. A file equal to the newest
published version runs that version; a changed file is published as a new version first
(``--save``, the default) and the command says so, or refused (``--no-save``) with what
differs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runtime.cli.base import (
    Ctx,
    command,
    db_path,
    echo,
    fail,
    is_forwarded,
    json_default,
    json_line,
    limit_option,
    print_result,
    run_in,
    send_outbox,
    shared_options,
)

if TYPE_CHECKING:
    from runtime.compiler import Workflow
    from runtime.spec import WorkflowSpec

_START_ROLES = ("admin", "designer", "operator")  # as the engine's start check


def _is_file(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml")) or Path(ref).exists()


def _names(ids: list[str], most: int = 4) -> str:
    shown = ", ".join(ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The fields that differ, one level into dicts (``params.deadline``)."""
    out = []
    for field in sorted({*old, *new}):
        a, b = old.get(field), new.get(field)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{field}.{k}" for k in sorted({*a, *b}) if a.get(k) != b.get(k)]
        else:
            out.append(field)
    return out


def spec_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What changed from one workflow spec (as a dict) to another, in a few words.

    Example:
        >>> spec_difference({"nodes": [{"id": "a", "type": "end"}]},
        ...                 {"nodes": [{"id": "a", "type": "end", "position": [1, 2]}]})
        'node a changed (position)'
    """
    parts: list[str] = []
    old_nodes = {n.get("id"): n for n in old.get("nodes") or []}
    new_nodes = {n.get("id"): n for n in new.get("nodes") or []}
    added = [str(k) for k in new_nodes if k not in old_nodes]
    removed = [str(k) for k in old_nodes if k not in new_nodes]
    if added:
        parts.append(f"node{'s' if len(added) > 1 else ''} {_names(added)} added")
    if removed:
        parts.append(f"node{'s' if len(removed) > 1 else ''} {_names(removed)} removed")
    for key, node in new_nodes.items():
        before = old_nodes.get(key)
        if before is not None and before != node:
            parts.append(f"node {key} changed ({_names(_changed_fields(before, node))})")

    def edges(spec: dict[str, Any]) -> set[str]:
        return {json.dumps(e, sort_keys=True) for e in spec.get("edges") or []}

    gained, lost = len(edges(new) - edges(old)), len(edges(old) - edges(new))
    if gained or lost:
        parts.append(f"edges: {gained} added, {lost} removed")
    rest = _changed_fields(
        {k: v for k, v in old.items() if k not in ("nodes", "edges")},
        {k: v for k, v in new.items() if k not in ("nodes", "edges")},
    )
    if rest:
        parts.append(f"{_names(rest)} changed")
    if len(parts) > 4:
        parts = [*parts[:4], f"{len(parts) - 4} more change(s)"]
    return "; ".join(parts) or "its content changed"


def _stored(ctx: Ctx, workflow_id: str) -> dict[str, Any] | None:
    """The newest published version of a workflow, or None (none, or only drafts)."""
    from runtime.errors import NotFoundError

    try:
        return ctx.store.get_workflow(workflow_id, published=True)
    except NotFoundError:
        return None


def file_workflow(
    ctx: Ctx, ref: str, spec: WorkflowSpec, *, save: bool, by: str | None
) -> Workflow:
    """The stored version a workflow file runs as: the newest published one when the file
    equals it, else (``save``) the file published as a new version, said on the output.

    Raises:
        CliExit: ``save`` is False and the file differs from what is stored (names how).
        AccessError: ``by`` may not start runs, or may not save workflows (named).
    """
    from runtime.errors import AccessError

    stored = _stored(ctx, spec.id)
    if stored is not None and stored["digest"] == spec.digest():
        return ctx.engine.workflow(spec.id, stored["version"])
    if stored is None:
        change = f"workflow {spec.id} has no published version in {ctx.db} yet"
    else:
        change = f"it differs from the stored {spec.id} v{stored['version']}: " + spec_difference(
            stored["spec"], spec.to_dict()
        )
    if not save:
        fail(
            f"{ref}: {change}; pass --save to publish it as a new version and run it "
            "(a run always runs a stored version)"
            + (f", or run the stored one with `loopgate run {spec.id}`" if stored else "")
        )
    if by is not None:
        ctx.engine.authorize(by, roles=_START_ROLES, what="start runs")
        try:
            ctx.engine.authorize(by, roles=("admin", "designer"), what="save workflows")
        except AccessError as exc:
            fail(
                f"{ref}: {change}, and {exc} to publish it; run the stored version with "
                f"`loopgate run {spec.id}`, or have a designer save the file"
                if stored
                else f"{ref}: {change}, and {exc} to publish it; have a designer save the file"
            )
    wf = ctx.engine.save_workflow(spec, by=by, message=f"from {Path(ref).name}")
    was = f"the stored v{stored['version']} differed" if stored else "new in this database"
    line = f"saved {ref} as {wf.id} v{wf.version}, the published version ({was})"
    if ctx.json:  # stdout carries only JSON objects; the results name the version too
        echo(f"note: {line}", err=True)
    else:
        echo(line)
    return wf


@command(None, "run")
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
    "--save/--no-save",
    default=True,
    show_default=True,
    help="A WORKFLOW file that differs from its newest published version: publish it as "
    "a new version and say so (--save), or refuse with what differs (--no-save). A file "
    "equal to that version runs it either way; runs always run a stored version.",
)
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
    save: bool,
    batch_id: str | None,
    again: bool,
    batch_size: int,
) -> None:
    """Start runs of WORKFLOW (a YAML file or a stored workflow id)."""
    from runtime.engine import BatchItemError
    from runtime.items import load_items, parse_item

    if bool(item_json) == bool(items_file):
        fail("give exactly one of --item JSON or --items FILE")
    if not save:
        ctx.create = False  # a new database cannot hold the version it would have to run
    # Everything that can be refused is checked before a version is published.
    item = parse_item(item_json) if item_json else None
    source = load_items(items_file) if items_file else None
    items, digest = (source.items, source.digest) if source else ([], "")
    if _is_file(workflow):
        from runtime.compiler import compile_workflow
        from runtime.spec import load_yaml

        spec = load_yaml(workflow)
        checked = compile_workflow(spec)  # its problems before anything is saved
        if item is not None:
            checked.validate_item(item)
        wf = file_workflow(ctx, workflow, spec, save=save, by=by)
    else:
        wf = ctx.engine.workflow(workflow)
    ctx.engine.batch_size = batch_size
    for w in wf.warnings:
        echo(f"{workflow}: {w}", err=True)  # w reads "warning: node <id>: ..."
    if item is not None:
        print_result(ctx, ctx.engine.start(wf, item, by=by))
        send_outbox(ctx)
        return
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

    quiet = len(items) <= 50 or is_forwarded()
    bar = tqdm(
        total=len(items), unit="item", file=sys.stderr, disable=True if quiet else None, leave=False
    )
    bad: list[str] = []

    def on_result(index: int, res: Any) -> None:
        if isinstance(res, BatchItemError):
            why = res.error.split(": ", 1)[-1]
            bad.append(f"{items_file}: {source.where(index)}: {why}")
        else:
            print_result(ctx, res)

    def progress(done: int, total: int) -> None:
        bar.n = done
        bar.refresh()

    ctx.engine.start_many(
        wf, items, by=by, batch_id=batch_id, progress=progress, on_result=on_result
    )
    bar.close()
    send_outbox(ctx)
    if bad:
        fail(bad)


@click.group("runs", invoke_without_command=True)
@click.option("--status", type=click.Choice(["running", "waiting", "succeeded", "failed"]))
@click.option("--workflow", "workflow_id")
@limit_option(100)
@click.pass_context
def runs_group(cctx: click.Context, **options: Any) -> None:
    """List runs (newest first); `runs show RUN_ID` inspects one."""
    if cctx.invoked_subcommand:
        return
    db, wait, as_json = options.pop("db"), options.pop("wait"), options.pop("as_json")
    run_in(Ctx(db_path(db), wait, as_json, create=False), _list_runs, **options)


for _opt in shared_options():
    runs_group = _opt(runs_group)


def _list_runs(ctx: Ctx, status: str | None, workflow_id: str | None, limit: int) -> None:
    """The body of `loopgate runs`."""
    from runtime.queries import runs as run_queries

    rows = run_queries.list_runs(
        ctx.store, None, status=status, workflow_id=workflow_id, limit=limit
    )  # None: the local trusted caller sees every run
    for r in rows:
        if ctx.json:
            json_line(r)
        else:
            where = f" at {r['current_node']}" if r["current_node"] else ""
            extra = r["error"] or r["result"] or ""
            echo(
                f"{r['id']}  {r['workflow_id']} v{r['workflow_version']}  "
                f"{r['status']}{where}  {r['step_count']} steps  {extra}".rstrip()
            )
    if not rows and not ctx.json:
        echo("no runs")


@command(runs_group, "show", create_db=False)
@click.argument("run_id")
def runs_show_cmd(ctx: Ctx, run_id: str) -> None:
    """One run: its status, item and every step with its branch and output."""
    from runtime.queries import runs as run_queries

    detail = run_queries.run_detail(ctx.store, None, run_id)  # None: the local trusted caller
    run, events, pending = detail.run, detail.events, detail.pending_review
    if ctx.json:
        json_line({**run, "events": events, "pending_review": pending})
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
    origin = ctx.store.fork_origin(run_id)
    if origin:
        echo(
            f"forked from {origin['forked_from']} at {origin['node_id']} by "
            f"{origin['forked_by']} ({origin['forked_at']:%Y-%m-%d %H:%M:%S})"
        )
    forks = ctx.store.forks_of(run_id)
    if forks:
        echo("forks: " + ", ".join(f"{f['run_id']} (at {f['node_id']})" for f in forks))
    echo(f"item {json.dumps(run['item'], default=json_default)}")
    for ev in events:
        data = ev["data"] or {}
        who = f" by {ev['actor']}" if ev["actor"] else ""
        if ev["kind"] in ("step", "audit"):
            branch = f" -> {data.get('branch')}" if data.get("branch") else ""
            out = json.dumps(data.get("output"), default=json_default)
            echo(
                f"  {ev['occurred_at']:%H:%M:%S}  {ev['node_id']} ({data.get('type')})"
                f"{branch}{who}  {out}"
            )
        else:
            echo(
                f"  {ev['occurred_at']:%H:%M:%S}  [{ev['kind']}] {ev['node_id'] or ''}{who}  "
                f"{json.dumps(data, default=json_default)}"
            )


@command(runs_group, "fork", create_db=False)
@click.argument("run_id")
@click.option(
    "--at",
    required=True,
    help="The checkpoint: a node id (the run's latest stop there) or one of its review ids.",
)
@click.option(
    "--decision",
    "decision_json",
    required=True,
    help='The decision there, as JSON: \'{"action": "reject", "reason": "over_policy"}\'.',
)
@click.option(
    "--by",
    required=True,
    help="The user forking: may start runs and may decide that checkpoint.",
)
def runs_fork_cmd(ctx: Ctx, run_id: str, at: str, decision_json: str, by: str) -> None:
    """Start a NEW run from RUN_ID's data at a checkpoint it stopped at, with another
    decision there (RUN_ID itself is not changed; both runs' trails link them)."""
    try:
        decision = json.loads(decision_json)
    except json.JSONDecodeError as exc:
        fail(
            f"--decision is not valid JSON ({exc.msg} at column {exc.colno}); give an object "
            'like \'{"action": "approve"}\''
        )
    res = ctx.engine.fork(run_id, at, decision, by=by)
    if ctx.json:
        json_line(res.model_dump(mode="json"))
    else:
        was = res.original or {}
        before = was.get("action") or was.get("status") or "still pending"
        echo(
            f"forked {res.forked_from} at {res.node_id} (was: {before}) into "
            f"{res.run.run_id} with {res.decision['action']} by {res.forked_by}"
        )
        print_result(ctx, res.run, prefix="  ")
    send_outbox(ctx)


@command(None, "retry", create_db=False)
@click.argument("run_id")
@click.option("--by", help="The user retrying.")
def retry_cmd(ctx: Ctx, run_id: str, by: str | None) -> None:
    """Run a failed run again from the node that failed."""
    print_result(ctx, ctx.engine.retry(run_id, by=by))
    send_outbox(ctx)


@command(runs_group, "cancel")
@click.argument("run_id")
@click.option("--by", required=True, help="The user cancelling (admin, designer or operator).")
@click.option("--reason", help="Why, kept in the audit trail and the run's error.")
def runs_cancel_cmd(ctx: Ctx, run_id: str, by: str, reason: str | None) -> None:
    """Cancel a waiting (or running) run: its pending review is cancelled and the run ends
    as failed, "cancelled by USER: REASON"."""
    print_result(ctx, ctx.engine.cancel(run_id, by=by, reason=reason))
