"""`loopgate outbox`: list the messages notify nodes queued, and send the pending ones."""

from __future__ import annotations

import click

from runtime.cli.base import Ctx, command, echo, json_line, limit_option


@click.group("outbox")
def outbox_group() -> None:
    """Messages that notify nodes queued (sent through SMTP, see LOOPGATE_SMTP_*)."""


@command(outbox_group, "list", create_db=False)
@click.option(
    "--status",
    type=click.Choice(["pending", "sent", "failed"]),
    help="Only messages with this status.",
)
@click.option("--run", "run_id", help="Only this run's messages.")
@limit_option(100)
def outbox_list_cmd(ctx: Ctx, status: str | None, run_id: str | None, limit: int) -> None:
    """Queued, sent and failed messages, newest first."""
    from runtime.queries import audit as audit_queries

    rows = audit_queries.outbox_messages(
        ctx.store, None, status=status, run_id=run_id, limit=limit
    )  # None: the local trusted caller
    for r in rows:
        if ctx.json:
            json_line(r)
            continue
        if r["status"] == "sent":
            state = f"sent {r['sent_at']:%Y-%m-%d %H:%M:%S}"
        elif r["status"] == "failed":
            nxt = r.get("next_attempt_at")
            state = (
                f"failed x{r['attempts']}, next try {nxt:%Y-%m-%d %H:%M:%S}"
                if nxt
                else f"failed x{r['attempts']}, given up"
            )
        else:
            state = "pending"
        echo(
            f"{r['id']}  {state}  to {r['recipient']}  {r['subject']!r}  "
            f"run {r['run_id'] or '-'}/{r['node_id'] or '-'}"
        )
        if r["status"] == "failed" and r["last_error"]:
            echo(f"    {r['last_error']}")
    if not rows and not ctx.json:
        echo("no messages")


@command(outbox_group, "send")
@limit_option(100, help="The most messages to send.")
@click.option(
    "--force",
    is_flag=True,
    help="Also retry failed messages now, even those given up or not yet due.",
)
def outbox_send_cmd(ctx: Ctx, limit: int, force: bool) -> None:
    """Send pending messages (and failed ones whose next try is due); exit 1 if any failed."""
    from runtime.errors import LoopgateError
    from runtime.outbox import OutboxDispatcher  # late: start-up speed (smtplib)

    results = OutboxDispatcher(ctx.store).send_pending(limit, force=force)
    for r in results:
        if ctx.json:
            json_line(
                {
                    "id": r.id,
                    "status": r.status,
                    "attempts": r.attempts,
                    "to": r.recipient,
                    "error": r.error,
                    "next_attempt_at": r.next_attempt_at,
                }
            )
        elif r.status == "sent":
            echo(f"{r.id}  sent to {r.recipient}" + (f"  ({r.error})" if r.error else ""))
        else:
            echo(f"{r.id}  failed (try {r.attempts}): {r.error}", err=True)
    failed = [r for r in results if r.status != "sent"]
    if not ctx.json:
        echo(f"sent {len(results) - len(failed)}, failed {len(failed)}")
    if failed:
        raise LoopgateError(
            f"{len(failed)} message(s) not sent; they stay in the outbox "
            "(`loopgate outbox list --status failed`)"
        )
