"""`loopgate audit` and `export`: check the tamper-evident audit trail, list it, export data.

All three only read the database: they never create one (see ``create_db``).
"""

from __future__ import annotations

from datetime import datetime

import click

from runtime.cli.base import Ctx, command, echo, fail, json_line, limit_option

_TIME_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail."""


@command(audit_group, "verify", create_db=False)
def audit_verify_cmd(ctx: Ctx) -> None:
    """Check the audit trail; exit 1 naming the first problem (and how many others).

    Recomputes the hash chain, checks its seal (signed with the key file next to the
    database, or $LOOPGATE_AUDIT_KEY_FILE), and cross-checks every settled review and
    finished run against its event in the trail (see docs/audit.md).
    """
    ok, checked, message = ctx.store.verify_audit_chain()
    if ctx.json:
        json_line({"ok": ok, "rows": checked, "message": message})
    if not ok:
        fail(message)
    if not ctx.json:
        echo(message)


@command(audit_group, "list", create_db=False)
@click.option("--run", "run_id")
@click.option("--kind")
@click.option("--actor")
@click.option("--search", "text")
@limit_option(50)
def audit_list_cmd(
    ctx: Ctx, run_id: str | None, kind: str | None, actor: str | None, text: str | None, limit: int
) -> None:
    """Newest audit events first."""
    from runtime.queries import audit as audit_queries

    events = audit_queries.audit_events(
        ctx.store, None, run_id=run_id, kind=kind, actor=actor, text=text, limit=limit
    )  # None: the local trusted caller
    for ev in events:
        if ctx.json:
            json_line(ev)
        else:
            echo(
                f"{ev['seq']:>6}  {ev['occurred_at']:%Y-%m-%d %H:%M:%S}  {ev['kind']:<18} "
                f"{ev['run_id'] or '-'}  {ev['node_id'] or '-'}  {ev['actor'] or '-'}"
            )


@command(None, "export", json_flag=False, create_db=False)
@click.argument("what", type=click.Choice(["audit", "decisions", "feedback", "runs", "reviews"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--workflow", "workflow_id", help="decisions, feedback: only this workflow's rows.")
@click.option(
    "--since",
    type=click.DateTime(_TIME_FORMATS),
    help="decisions: only decisions at or after this time (UTC).",
)
@click.option(
    "--until",
    type=click.DateTime(_TIME_FORMATS),
    help="decisions: only decisions before this time (UTC).",
)
def export_cmd(
    ctx: Ctx,
    what: str,
    fmt: str,
    out: str,
    workflow_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> None:
    """Export the audit trail, runs, reviews, the decisions dataset (one row per decision:
    input, AI output, human output, decision, reason, reviewer, model, time; see
    docs/dataset.md) or the feedback rows, as CSV, Parquet or JSON Lines."""
    if what in ("decisions", "feedback"):
        from runtime.queries import dataset  # late: start-up speed
        from runtime.queries.dataset import DatasetFilter

        filters = DatasetFilter(workflow_id=workflow_id, since=since, until=until)
        try:  # None: the local trusted caller
            n = dataset.export_dataset(ctx.store, None, what, fmt, out, filters)  # type: ignore[arg-type]
        except ValueError as exc:
            fail(str(exc))
    else:
        if workflow_id or since or until:
            fail(f"--workflow, --since and --until apply to decisions and feedback, not {what}")
        n = ctx.store.export(what, fmt, out)  # type: ignore[arg-type]
    echo(f"wrote {n} rows to {out}")
