"""`loopgate users`: accounts, roles, teams and API tokens.

Password hashing (``runtime.auth``) is imported inside the commands: start-up speed.
"""

from __future__ import annotations

from typing import Any

import click

from runtime.cli.base import Ctx, command, echo, fail, is_forwarded, json_line, read_stdin


@click.group("users")
def users_group() -> None:
    """Accounts, roles and teams."""


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
    help="Sign-in password (better: $LOOPGATE_PASSWORD, or `users password` later); "
    "none: CLI and token use only.",
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
        by=ctx.local_actor,
    )
    echo(f"user {name} added ({', '.join(roles)}; teams: {', '.join(teams) or 'none'})")


@command(users_group, "list", create_db=False)
def users_list_cmd(ctx: Ctx) -> None:
    """Every user with roles and teams."""
    from runtime.queries import catalog

    for u in catalog.list_users(ctx.store, None):  # None: the local trusted caller
        if ctx.json:
            json_line(u)
        else:
            echo(
                f"{u['name']}  roles={','.join(u['roles'])}  teams={','.join(u['teams']) or '-'}"
                + ("  (token)" if u.get("has_token") else "")
                + ("  (disabled)" if u["disabled"] else "")
            )


@command(users_group, "token", json_flag=False)
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Revoke the user's token instead (no new one).")
def users_token_cmd(ctx: Ctx, name: str, revoke: bool) -> None:
    """Issue a new API bearer token for a user (printed once; the old one stops working)."""
    from runtime.auth import issue_token, revoke_token

    if not revoke:
        echo(issue_token(ctx.store, name, by=ctx.local_actor))
    elif revoke_token(ctx.store, name, by=ctx.local_actor):
        echo(f"token of {name} revoked")
    else:
        echo(f"{name} held no token; nothing to revoke")


@command(users_group, "tokens", create_db=False)
def users_tokens_cmd(ctx: Ctx) -> None:
    """The users who hold an API token (the tokens themselves are never shown)."""
    from runtime.auth import token_holders

    names = token_holders(ctx.store)
    for name in names:
        if ctx.json:
            json_line({"name": name, "has_token": True})
        else:
            echo(name)
    if not names and not ctx.json:
        echo("no user holds a token")


@command(users_group, "disable", json_flag=False)
@click.argument("name")
def users_disable_cmd(ctx: Ctx, name: str) -> None:
    """Disable a user: no sign-in and no API access until enabled again."""
    from runtime.auth import set_disabled

    changed = set_disabled(ctx.store, name, True, by=ctx.local_actor)
    echo(f"user {name} disabled" if changed else f"user {name} was already disabled")


@command(users_group, "enable", json_flag=False)
@click.argument("name")
def users_enable_cmd(ctx: Ctx, name: str) -> None:
    """Enable a disabled user again."""
    from runtime.auth import set_disabled

    changed = set_disabled(ctx.store, name, False, by=ctx.local_actor)
    echo(f"user {name} enabled" if changed else f"user {name} was already enabled")


@command(users_group, "password", json_flag=False)
@click.argument("name")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from the first line of standard input (for scripts).",
)
def users_password_cmd(ctx: Ctx, name: str, password_stdin: bool) -> None:
    """Set a user's sign-in password, asked for at a prompt (never given on the command line)."""
    from runtime.auth import set_password

    if password_stdin:
        lines = read_stdin().splitlines()
        password = lines[0] if lines else ""
    elif is_forwarded():
        fail("the server cannot prompt for a password; pass --password-stdin")
    else:
        password = click.prompt(
            f"New password for {name}", hide_input=True, confirmation_prompt=True
        )
    if not password:
        fail("no password given; type one at the prompt, or send it on standard input")
    set_password(ctx.store, name, password, by=ctx.local_actor)
    echo(f"password of {name} changed")


def _utc(text: str, option: str) -> Any:
    """An ISO time (naive: UTC) from an option, or a clear refusal."""
    from datetime import UTC, datetime

    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option} {text!r} is not an ISO time like 2026-12-24T09:00 (UTC)")
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


@command(users_group, "delegate", create_db=False)
@click.argument("name")
@click.option("--to", "to", help="The reviewer who gets NAME's reviews meanwhile.")
@click.option("--from", "from_text", help="Start, ISO time in UTC (default: now).")
@click.option("--until", "until_text", help="End, ISO time in UTC (required with --to).")
@click.option("--note", help="Why (shown in the audit trail).")
@click.option("--by", help="Who sets it: NAME (default) or an admin.")
@click.option("--clear", is_flag=True, help="End NAME's delegation instead.")
def users_delegate_cmd(
    ctx: Ctx,
    name: str,
    to: str | None,
    from_text: str | None,
    until_text: str | None,
    note: str | None,
    by: str | None,
    clear: bool,
) -> None:
    """Out of office: reviews assigned to NAME go to another reviewer for a while."""
    by = by or name
    engine = ctx.engine
    if clear:
        if to or from_text or until_text:
            fail("--clear takes no --to, --from or --until")
        done = engine.delegations.clear(name, by=by)
        echo(f"delegation of {name} cleared" if done else f"{name} had no delegation")
        return
    if not to or not until_text:
        fail("give --to REVIEWER and --until TIME (or --clear to end a delegation)")
    starts = _utc(from_text, "--from") if from_text else engine.clock()
    row = engine.delegations.set(name, to, starts, _utc(until_text, "--until"), by=by, note=note)
    if ctx.json:
        json_line(row)
    else:
        echo(
            f"reviews assigned to {name} go to {to} from {row['starts_at']:%Y-%m-%d %H:%M} "
            f"until {row['ends_at']:%Y-%m-%d %H:%M} UTC"
        )


@command(users_group, "delegations", create_db=False)
def users_delegations_cmd(ctx: Ctx) -> None:
    """Every out-of-office delegation."""
    rows = ctx.engine.delegations.list()
    for row in rows:
        if ctx.json:
            json_line(row)
        else:
            echo(
                f"{row['user_name']} -> {row['delegate']}  {row['starts_at']:%Y-%m-%d %H:%M} "
                f"until {row['ends_at']:%Y-%m-%d %H:%M}"
                + (f"  ({row['note']})" if row["note"] else "")
            )
    if not rows and not ctx.json:
        echo("no delegations")
