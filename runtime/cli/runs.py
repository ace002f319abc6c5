"""`loopgate run`, `runs`, `runs show` and `retry`: start runs, list and inspect them.

The engine, item parsing and the progress bar are imported inside the commands: start-up
speed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from runtime.cli.base import (
    Ctx,
    command,
    echo,
    fail,
    is_forwarded,
    json_default,
    json_line,
    print_result,
    send_outbox,
)
from runtime.errors import LoopgateError
from runtime.queries import runs as run_queries
from runtime.settings import default_db_path


def _workflow_arg(ctx: Ctx, ref: str):
    """A workflow from a YAML file (saved as a version if changed) or a stored id."""
    from runtime.spec import load_yaml

    if ref.endswith((".yaml", ".yml")) or Path(ref).exists():
        spec = load_yaml(ref)
        return ctx.engine.save_workflow(spec, message=f"from {Path(ref).name}")
    return ctx.engine.workflow(ref)


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
        fail("give exactly one of --item JSON or --items FILE")
    ctx.engine.batch_size = batch_size
    wf = _workflow_arg(ctx, workflow)
    for w in wf.warnings:
        echo(f"warning: {workflow}: {w}", err=True)
    if item_json:
        print_result(ctx, ctx.engine.start(wf, parse_item(item_json), by=by))
        send_outbox(ctx)
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

    quiet = len(items) <= 50 or is_forwarded()
    bar = tqdm(
        total=len(items), unit="item", file=sys.stderr, disable=True if quiet else None, leave=False
    )
    bad: list[str] = []

    def on_result(index: int, res: Any) -> None:
        if isinstance(res, BatchItemError):
            bad.append(f"{items_file}: item {index + 1}: {res.error.split(': ', 1)[-1]}")
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
        rows = run_queries.list_runs(
            ctx.store, None, status=status, workflow_id=workflow_id, limit=limit
        )  # None: the local trusted caller sees every run
        for r in rows:
            if as_json:
                json_line(r)
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
        fail(str(exc))
    finally:
        ctx.close()


@command(runs_group, "show")
@click.argument("run_id")
def runs_show_cmd(ctx: Ctx, run_id: str) -> None:
    """One run: its status, item and every step with its branch and output."""
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


@command(None, "retry")
@click.argument("run_id")
@click.option("--by", help="The user retrying.")
def retry_cmd(ctx: Ctx, run_id: str, by: str | None) -> None:
    """Run a failed run again from the node that failed."""
    print_result(ctx, ctx.engine.retry(run_id, by=by))
    send_outbox(ctx)
