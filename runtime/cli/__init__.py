"""The `loopgate` command line: every operation on workflows, runs, reviews and the audit trail.

Modules: :mod:`~runtime.cli.base` (context, output, the ``command`` decorator), one module
per command group (``workflows``, ``runs``, ``reviews``, ``audit``, ``users``, ``models``,
``outbox``), :mod:`~runtime.cli.app` (the ``loopgate`` group and :func:`run_args`) and
:mod:`~runtime.cli.forward` (sending a command to the server that holds the database).
Imports go one way: ``__init__`` -> ``forward`` -> ``app`` -> command modules -> ``base``.
"""

from __future__ import annotations

import sys

from runtime.cli.app import cli, run_args
from runtime.cli.forward import forward_if_served


def main(argv: list[str] | None = None) -> None:
    """Entry point: forwards to a running server that holds the database, else runs here.

    Args:
        argv: the command line after ``loopgate`` (default: ``sys.argv[1:]``).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    code = forward_if_served(args)
    if code is None:
        code = run_args(args)
    sys.exit(code)


__all__ = ["cli", "main", "run_args"]
