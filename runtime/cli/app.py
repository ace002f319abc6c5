"""The `loopgate` command group, assembled from the command modules, and running one command line.

Imports only :mod:`runtime.cli.base` and the command modules; nothing here imports back.
The command modules import only click and ``base`` at load time (each command imports
what it needs when it runs), and commands other packages add (``serve``, ``ui``) are
imported only when one of them runs: ``loopgate --help`` and a read command pay for what
they use, not for the engine, the app server or the models.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from typing import Any

import click

from runtime.cli.audit import audit_group, export_cmd
from runtime.cli.base import CliExit, echo
from runtime.cli.models import model_group
from runtime.cli.outbox import outbox_group
from runtime.cli.reviews import decide_cmd, reviews_cmd, sweep_cmd
from runtime.cli.runs import retry_cmd, run_cmd, runs_group
from runtime.cli.users import users_group
from runtime.cli.workflows import validate_cmd, workflows_group

PLUGIN_GROUP = "loopgate.commands"


class LoopgateGroup(click.Group):
    """The ``loopgate`` group: its own commands, and those other packages add as entry
    points of :data:`PLUGIN_GROUP`, imported only when one of them is run (or its help
    shown); ``--help`` lists them with the first line of their docstring, read from the
    source without importing it."""

    _plugins: dict[str, Any] | None = None

    def plugins(self) -> dict[str, Any]:
        """The entry points of commands other packages add, by name (read once)."""
        if self._plugins is None:
            from importlib.metadata import entry_points

            found = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}
            self._plugins = {n: ep for n, ep in found.items() if n not in self.commands}
        return self._plugins

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, added ones included, sorted."""
        return sorted({*self.commands, *self.plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command; an added one is imported now.

        Raises:
            click.UsageError: an added command whose package cannot be imported here.
        """
        command = self.commands.get(cmd_name)
        if command is not None:
            return command
        ep = self.plugins().get(cmd_name)
        if ep is None:
            return None
        try:
            command = ep.load()
        except ImportError as exc:
            missing = exc.name or str(exc)
            raise click.UsageError(
                f"`loopgate {cmd_name}` needs {missing}, which is not installed; install "
                "the app with: pip install 'loopgate[app]'"
            ) from None
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, without importing added commands."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                rows.append((name, plugin_short_help(self.plugins()[name].value, limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def plugin_short_help(target: str, limit: int = 45) -> str:
    """The first sentence of the docstring of an entry point's function (``module:name``),
    read from its source file without importing the module ("" when it cannot be read)."""
    module, _, attr = target.partition(":")
    try:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        if not origin or not origin.endswith(".py"):
            return ""
        with open(origin, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), origin)
    except (ImportError, OSError, SyntaxError, ValueError):
        return ""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == attr:
            doc = ast.get_docstring(node) or ""
            return click.utils.make_default_short_help(doc, limit)
    return ""


@click.group(cls=LoopgateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="loopgate")
def cli() -> None:
    """Loopgate: AI workflows with a human in the loop."""


for _command in (
    validate_cmd,
    run_cmd,
    reviews_cmd,
    decide_cmd,
    runs_group,
    retry_cmd,
    sweep_cmd,
    audit_group,
    export_cmd,
    workflows_group,
    users_group,
    model_group,
    outbox_group,
):
    cli.add_command(_command)


def run_args(argv: list[str]) -> int:
    """Run one command line; never raises, never prints a traceback.

    Args:
        argv: the arguments after ``loopgate``.

    Returns:
        The exit code: 0 success, 1 a user error (explained on stderr), 2 an internal error,
        130 interrupted.
    """
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
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the promise: never a traceback
        from runtime.errors import LoopgateError  # here: `--help` needs no pydantic

        if isinstance(exc, LoopgateError):
            echo(f"error: {exc}", err=True)
            return 1
        if os.environ.get("LOOPGATE_DEBUG"):
            raise
        echo(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(set LOOPGATE_DEBUG=1 to see the traceback, and please report it)",
            err=True,
        )
        return 2
    return 0
