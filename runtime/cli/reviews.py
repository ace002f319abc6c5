"""`loopgate reviews`, `decide` and `sweep`: the review queue, decisions and deadlines.

The queries, the node registry (the decision actions) and the engine are imported inside
the commands: start-up speed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from runtime.cli.base import (
    Ctx,
    LazyChoice,
    command,
    echo,
    fail,
    is_forwarded,
    json_line,
    limit_option,
    print_result,
    read_stdin,
    send_outbox,
)

if TYPE_CHECKING:
    from runtime.nodes.base import Decision

#: The fields of a line of ``decide --file``: the review, the decider, and the decision's
#: fields as the API's decision body names them (the flags of `decide`).
DECISION_FIELDS = ("review", "action", "by", "data", "reason", "note", "rating", "team", "option")


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
@click.argument("review_id", required=False)
@click.option(
    "--file",
    "file_path",
    help="Decide many reviews: a JSON Lines file, one decision per line with the fields "
    "review, action, by, data, reason, note, rating, team, option ('-' reads stdin).",
)
@click.option("--action", type=LazyChoice(_decision_actions))
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
@click.option("--by", help="The user deciding (with --file: for lines without a by).")
def decide_cmd(
    ctx: Ctx,
    review_id: str | None,
    file_path: str | None,
    action: str | None,
    data_json: str | None,
    reason: str | None,
    note: str | None,
    rating: int | None,
    team: str | None,
    options: tuple[str, ...],
    by: str | None,
) -> None:
    """Decide a pending review and run the workflow on to its next stop (or many: --file)."""
    from runtime.nodes.base import Decision  # late: start-up speed

    if file_path is not None:
        flags = {
            "REVIEW_ID": review_id,
            "--action": action,
            "--data": data_json,
            "--reason": reason,
            "--note": note,
            "--rating": rating,
            "--team": team,
            "--option": options or None,
        }
        given = [name for name, value in flags.items() if value is not None]
        if given:
            fail(
                f"--file takes each decision from its lines; {', '.join(given)} cannot go "
                "with it (only --by, for lines without a by)"
            )
        _decide_file(ctx, file_path, by)
        return
    for missing, hint in (
        (review_id is None, "Missing argument 'REVIEW_ID' (or give --file)"),
        (action is None, "Missing option '--action'"),
        (by is None, "Missing option '--by' (the user deciding)"),
    ):
        if missing:
            raise click.UsageError(hint)
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


@dataclass(frozen=True)
class FileDecision:
    """One good line of a decisions file."""

    line: int
    review: str
    by: str
    decision: Decision


def _decide_file(ctx: Ctx, path: str, default_by: str | None) -> None:
    """Decide the reviews a JSON Lines file (or stdin, ``-``) lists, through ``decide_many``.

    Lines with the same decider and decision go through one ``decide_many`` call
    (group-committed); a review listed again is decided after the lines before it. Every
    line that cannot be read or decided is reported with its line; the others are decided.
    Ends with a summary, and exit 1 if any line failed.
    """
    name, lines = _read_decisions(path)
    good, problems = _parse_decisions(name, lines, default_by)
    if not good and not problems:
        fail(
            f"{name}: the file is empty; put one decision per line, like "
            '{"review": "rev_...", "action": "approve", "by": "mia"}'
        )
    failed: dict[int, str] = {}
    for line, message in problems:
        failed[line] = message
    decided = _apply_decisions(ctx, good, failed)
    send_outbox(ctx)
    messages = [f"{name}: line {line}: {failed[line]}" for line in sorted(failed)]
    total = len(good) + len(problems)
    summary = f"{name}: {decided} of {total} decision(s) applied"
    if messages:
        echo(f"{summary}; {len(messages)} failed", err=True)
        fail(messages)
    if not ctx.json:
        echo(summary, err=True)


def _read_decisions(path: str) -> tuple[str, list[str]]:
    """The file's name for messages and its lines (``-``: standard input)."""
    from pathlib import Path

    from runtime.items import decode_utf8

    if path == "-":
        if is_forwarded():
            fail(
                "decide --file - cannot read stdin through the server that holds the "
                "database; give the path of a file"
            )
        return "stdin", read_stdin().split("\n")
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        fail(f"decisions file not found: {p}")
    except IsADirectoryError:
        fail(f"{p} is a folder; give a decisions file (.jsonl)")
    except OSError as exc:
        fail(f"cannot read {p}: {exc.strerror or exc}")
    return path, decode_utf8(raw, path).split("\n")


def _parse_decisions(
    name: str, lines: list[str], default_by: str | None
) -> tuple[list[FileDecision], list[tuple[int, str]]]:
    """The good lines as decisions, and a problem for each bad line (its number, why)."""
    import difflib

    from pydantic import ValidationError

    from runtime.items import text_problems
    from runtime.nodes.base import Decision

    actions = _decision_actions()
    good: list[FileDecision] = []
    problems: list[tuple[int, str]] = []
    for number, text in enumerate(lines, start=1):
        text = text.removesuffix("\r")
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append((number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(row, dict):
            problems.append(
                (
                    number,
                    'a decision must be a JSON object like {"review": "rev_...", '
                    '"action": "approve", "by": "mia"}',
                )
            )
            continue
        unknown = [k for k in row if k not in DECISION_FIELDS]
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), DECISION_FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                (
                    number,
                    f"unknown field {unknown[0]!r}{hint}; the fields are "
                    f"{', '.join(DECISION_FIELDS)}",
                )
            )
            continue
        if text_problems(row):
            problems.append((number, str(text_problems(row)[0])))
            continue
        review, by, action = row.get("review"), row.get("by", default_by), row.get("action")
        if not isinstance(review, str) or not review:
            problems.append((number, 'field review is missing (the review id, "rev_...")'))
            continue
        if not isinstance(by, str) or not by:
            problems.append((number, "field by is missing (the user deciding; or give --by)"))
            continue
        if action not in actions:
            what = "is missing" if action is None else f"{action!r} is not one of"
            problems.append((number, f"field action {what}: {', '.join(actions)}"))
            continue
        fields = {k: v for k, v in row.items() if k not in ("review", "by")}
        try:
            decision = Decision.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            problems.append((number, f"field {where}: {err['msg']}"))
            continue
        good.append(FileDecision(number, review, by, decision))
    return good, problems


def _apply_decisions(ctx: Ctx, good: list[FileDecision], failed: dict[int, str]) -> int:
    """Decide the good lines, group by group, with a progress bar; record each failure in
    ``failed`` by line. Returns how many were applied."""
    from tqdm import tqdm

    from runtime.engine import BatchItemError
    from runtime.errors import LoopgateError

    quiet = len(good) <= 50 or is_forwarded()
    bar = tqdm(
        total=len(good),
        unit="decision",
        file=sys.stderr,
        disable=True if quiet else None,
        leave=False,
    )
    decided = 0
    groups: dict[tuple[str, str], list[FileDecision]] = {}
    queued: set[str] = set()

    def run_groups() -> None:
        nonlocal decided
        for (by, _), group in groups.items():
            base = bar.n

            def progress(done: int, total: int, base: int = base) -> None:
                bar.n = base + done
                bar.refresh()

            try:
                results = ctx.engine.decide_many(
                    [d.review for d in group], group[0].decision, by=by, progress=progress
                )
            except LoopgateError as exc:  # the decider: unknown, disabled, no reviewer
                for d in group:
                    failed[d.line] = str(exc)
                bar.n = base + len(group)
                bar.refresh()
                continue
            for d, res in zip(group, results, strict=True):
                if isinstance(res, BatchItemError):
                    failed[d.line] = res.error
                else:
                    decided += 1
                    print_result(ctx, res)
        groups.clear()
        queued.clear()

    for d in good:
        if d.review in queued:  # listed again: after the lines before it are decided
            run_groups()
        key = (d.by, d.decision.model_dump_json())
        groups.setdefault(key, []).append(d)
        queued.add(d.review)
    run_groups()
    bar.close()
    return decided


@command(None, "sweep")
@click.option("--now", "now_text", help="ISO time to sweep as of (default: now, UTC).")
def sweep_cmd(ctx: Ctx, now_text: str | None) -> None:
    """Apply deadlines and escalation chains: reminders, reassignments, escalations,
    timeout branches and default decisions."""
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
        f"escalated {len(report.escalated)}, reminded {len(report.reminded)}, "
        f"reassigned {len(report.reassigned)}"
    )
    for res in report.runs:
        print_result(ctx, res, prefix="  ")
    for msg in report.failed:
        echo(f"error: {msg}", err=True)
