"""`loopgate users`: accounts, roles, teams and API tokens.

Password hashing (``runtime.auth``) is imported inside the commands: start-up speed.
"""

from __future__ import annotations

import click

from runtime.cli.base import Ctx, command, echo, json_line
from runtime.queries import catalog


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
    for u in catalog.list_users(ctx.store, None):  # None: the local trusted caller
        if ctx.json:
            json_line(u)
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
