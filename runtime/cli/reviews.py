"""`loopgate reviews`, `decide` and `sweep`: the review queue, decisions and deadlines.

The queries, the node registry (the decision actions) and the engine are imported inside
the commands: start-up speed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from runtime.cli.base import (
    Ctx,
    LazyChoice,
    command,
    echo,
    fail,
    json_line,
    limit_option,
    print_result,
    send_outbox,
)


def _decision_actions() -> list[str]:
    """Every action a review node type takes (the node registry, loaded on first use)."""
    from runtime.nodes import decision_actions

    return list(decision_actions())


@command(None, "reviews", create_db=False, cls=click.Group, invoke_without_command=True)
@click.option("--team", help="Only this team's reviews.")
@click.option("--workflow", "workflow_id", help="Only this workflow's reviews.")
@click.option("--assignee", help="Only reviews assigned to this user.")
@limit_option(100)
def reviews_cmd(
    ctx: Ctx, team: str | None, workflow_id: str | None, assignee: str | None, limit: int
) -> None:
    """List pending reviews, most urgent and oldest first; `claim` and `release` one."""
    if click.get_current_context().invoked_subcommand is not None:
        return  # `reviews claim ...` / `reviews release ...`: the subcommand does the work
    from runtime.queries import reviews as review_queries

    rows = review_queries.pending_reviews(
        ctx.store,
        None,  # the local trusted caller: every team's reviews
        team=team,
        workflow_id=workflow_id,
        assignee=assignee,
        limit=limit,
    )
    for r in rows:
        if ctx.json:
            r = {k: v for k, v in r.items() if k != "context"}
            json_line(r)
        else:
            due = f" due {r['deadline']:%Y-%m-%d %H:%M}" if r["deadline"] else ""
            held = f"  claimed by {r['assignee']}" if r["assignee"] else ""
            echo(
                f"{r['id']}  {r['workflow_id']}/{r['node_id']}  {r['kind']}  "
                f"team={r['team'] or '-'}  {r['priority']}{due}  run {r['run_id']}{held}"
            )
            text = r["note"] or r["instructions"]
            if text:
                echo(f"    {text}")
    if not rows and not ctx.json:
        echo("no pending reviews")


@command(reviews_cmd, "claim", create_db=False)
@click.argument("review_id")
@click.option("--by", required=True, help="The user claiming it (it becomes theirs).")
def claim_cmd(ctx: Ctx, review_id: str, by: str) -> None:
    """Claim a pending review ("assign to me"); refused while someone else holds it."""
    _print_holder(ctx, ctx.engine.assign(review_id, by, by=by))


@command(reviews_cmd, "release", create_db=False)
@click.argument("review_id")
@click.option("--by", required=True, help="The user releasing it (its holder or an admin).")
def release_cmd(ctx: Ctx, review_id: str, by: str) -> None:
    """Release a claimed review back to its team's queue."""
    _print_holder(ctx, ctx.engine.assign(review_id, None, by=by))


def _print_holder(ctx: Ctx, review: dict[str, Any]) -> None:
    if ctx.json:
        json_line({"review_id": review["id"], "assignee": review["assignee"]})
    elif review["assignee"]:
        echo(f"review {review['id']} is claimed by {review['assignee']}")
    else:
        echo(f"review {review['id']} is unclaimed (back on team {review['team'] or '-'}'s queue)")


@command(None, "decide")
@click.argument("review_id")
@click.option(
    "--action",
    required=True,
    type=LazyChoice(_decision_actions),
)
@click.option("--data", "data_json", help="JSON object: edited fields or a submitted form.")
@click.option("--reason", help="Reason code (reject).")
@click.option("--note", help="Free text; the correction for revise; the note for escalate.")
@click.option("--rating", type=click.IntRange(1, 5), help="1-5 (feedback).")
@click.option("--team", help="Target team (escalate).")
@click.option(
    "--option",
    "options",
    multiple=True,
    help="The option a choose decision picks (repeat it where several may be picked).",
)
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
    options: tuple[str, ...],
    by: str,
) -> None:
    """Decide a pending review and run the workflow on to its next stop."""
    from runtime.nodes.base import Decision  # late: start-up speed

    data: dict[str, Any] = {}
    if data_json:
        try:
            data = json.loads(data_json)
        except json.JSONDecodeError as exc:
            fail(f"--data is not valid JSON ({exc.msg} at column {exc.colno})")
        if not isinstance(data, dict):
            fail('--data must be a JSON object like {"amount": 120}')
    option: str | list[str] | None = None
    if options:
        option = options[0] if len(options) == 1 else list(options)
    decision = Decision(
        action=action, data=data, reason=reason, note=note, rating=rating, team=team, option=option
    )
    print_result(ctx, ctx.engine.decide(review_id, decision, by=by))
    send_outbox(ctx)


@command(None, "sweep")
@click.option("--now", "now_text", help="ISO time to sweep as of (default: now, UTC).")
def sweep_cmd(ctx: Ctx, now_text: str | None) -> None:
    """Apply deadlines: timeout branches, default decisions, escalations."""
    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--now {now_text!r} is not an ISO time like 2026-11-25T09:00:00")
        if now.tzinfo is not None:
            now = now.astimezone(UTC).replace(tzinfo=None)
    report = ctx.engine.sweep(now)
    send_outbox(ctx)
    if ctx.json:
        json_line(report.model_dump(mode="json", exclude={"runs"}))
        for res in report.runs:
            print_result(ctx, res)
        return
    echo(
        f"timed out {len(report.timed_out)}, decided by default {len(report.decided)}, "
        f"escalated {len(report.escalated)}"
    )
    for res in report.runs:
        print_result(ctx, res, prefix="  ")
    for msg in report.failed:
        echo(f"error: {msg}", err=True)
