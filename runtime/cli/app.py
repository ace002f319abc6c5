"""The `loopgate` command group, assembled from the command modules, and running one command line.

Imports only :mod:`runtime.cli.base` and the command modules; nothing here imports back.
"""

from __future__ import annotations

import os

import click

from runtime.cli.audit import audit_group, export_cmd
from runtime.cli.base import CliExit, echo
from runtime.cli.models import model_group
from runtime.cli.outbox import outbox_group
from runtime.cli.reviews import decide_cmd, reviews_cmd, sweep_cmd
from runtime.cli.runs import retry_cmd, run_cmd, runs_group
from runtime.cli.users import users_group
from runtime.cli.workflows import validate_cmd, workflows_group
from runtime.errors import LoopgateError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    from importlib.metadata import entry_points

    for ep in entry_points(group="loopgate.commands"):
        try:
            command_obj = ep.load()
        except ImportError:
            continue  # its extra is not installed (e.g. the app without [app])
        cli.add_command(command_obj, ep.name)
