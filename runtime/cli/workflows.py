"""`loopgate validate` and `loopgate workflows`: check workflow files, store and export versions.

The compiler and the spec parser are imported inside the commands: start-up speed.
"""

from __future__ import annotations

from typing import Any

import click

from runtime.cli.base import CliExit, Ctx, command, echo, json_line


@command(None, "validate")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--strict", is_flag=True, help="Fail on warnings too (e.g. an unguarded sensitive action)."
)
def validate_cmd(ctx: Ctx, files: tuple[str, ...], strict: bool) -> None:
    """Check workflow files; print every problem as FILE: node <id>: message (on stderr;
    a warning's message starts with "warning:"). Exit 1 on errors (with --strict, on
    warnings too); a file with warnings only is valid: "FILE: ok (N warnings)"."""
    from runtime.compiler import check
    from runtime.errors import SpecError
    from runtime.spec import load_yaml

    failed = False
    for file in files:
        try:
            spec = load_yaml(file)
        except SpecError as exc:
            problems = exc.problems
        else:
            _, problems = check(spec)
            problems += _target_error_warnings(ctx, spec)
        errors = [p for p in problems if p.severity == "error" or strict]
        failed |= bool(errors)
        for p in problems:
            if ctx.json:
                json_line({"file": file, **p.model_dump()})
            else:
                echo(f"{file}: {p}", err=True)  # errors and warnings: stderr
        if not errors and not ctx.json:
            warned = len(problems)
            echo(f"{file}: ok" + (f" ({warned} warning{'s' * (warned != 1)})" if warned else ""))
    if failed:
        raise CliExit(1)


def _target_error_warnings(ctx: Ctx, spec: Any) -> list[Any]:
    """Warnings for target_error gates no threshold can meet (read from the store only
    when the workflow has such a gate)."""
    from runtime.errors import LoopgateError, Problem

    if not any((n.params or {}).get("target_error") for n in spec.nodes):
        return []
    from runtime.models.gate_threshold import target_error_warnings

    try:
        registry = getattr(ctx.engine.services, "models", None)
        found = target_error_warnings(spec, registry)
    except LoopgateError:
        return []  # no store to read the model from: the gate decides at run time
    return [Problem(message=m, node=n, severity="warning") for n, m in found]


@click.group("workflows")
def workflows_group() -> None:
    """Stored workflows and their versions."""


@command(workflows_group, "list", create_db=False)
def workflows_list_cmd(ctx: Ctx) -> None:
    """Every stored workflow with its newest version."""
    from runtime.queries import catalog

    for w in catalog.list_workflows(ctx.store, None):  # None: the local trusted caller
        if ctx.json:
            json_line(w)
        else:
            echo(
                f"{w['id']}  v{w['version']} ({w['versions']} versions)  {w['status']}  {w['name']}"
            )


@command(workflows_group, "save")
@click.argument("files", nargs=-1, required=True)
@click.option("--by", help="The user saving.")
@click.option("--message", "-m", help="What changed.")
def workflows_save_cmd(
    ctx: Ctx, files: tuple[str, ...], by: str | None, message: str | None
) -> None:
    """Save workflow files as new versions (unchanged files keep their version)."""
    from runtime.spec import load_yaml

    for file in files:
        wf = ctx.engine.save_workflow(load_yaml(file), by=by, message=message)
        echo(f"{wf.id} v{wf.version}")


@command(workflows_group, "export", create_db=False)
@click.argument("workflow_id")
@click.option("--version", type=int)
def workflows_export_cmd(ctx: Ctx, workflow_id: str, version: int | None) -> None:
    """Print a stored workflow as YAML."""
    from runtime.queries import catalog
    from runtime.spec import parse_spec

    row = catalog.get_workflow(ctx.store, None, workflow_id, version)
    echo(parse_spec(row["spec"]).to_yaml(), nl=False)


@command(workflows_group, "diff", create_db=False)
@click.argument("workflow_id")
@click.argument("before", type=int)
@click.argument("after", type=int)
def workflows_diff_cmd(ctx: Ctx, workflow_id: str, before: int, after: int) -> None:
    """What changed between two stored versions: nodes, edges, parameters, item fields."""
    from runtime.queries import catalog

    diff = catalog.workflow_diff(ctx.store, None, workflow_id, before, after)
    if ctx.json:
        json_line(diff.model_dump(mode="json"))
        return
    echo(f"{workflow_id} v{before} -> v{after}: {diff.summary()}")
    for line in diff.lines():
        echo(f"  {line}")


@command(workflows_group, "restore")
@click.argument("workflow_id")
@click.argument("version", type=int)
@click.option("--by", help="The user restoring it.")
def workflows_restore_cmd(ctx: Ctx, workflow_id: str, version: int, by: str | None) -> None:
    """Save an old version again as the newest one (the versions in between are kept)."""
    from runtime.queries import catalog
    from runtime.spec import WorkflowSpec

    row = catalog.get_workflow(ctx.store, None, workflow_id, version)
    newest = catalog.workflow_versions(ctx.store, None, workflow_id)[0]["version"]
    spec = WorkflowSpec.model_validate(row["spec"])
    saved = ctx.engine.save_workflow(spec, by=by, message=f"restored from v{version}")
    if saved.version == newest:
        echo(f"{workflow_id} v{newest} already has the content of v{version}; nothing saved")
    else:
        echo(f"{workflow_id} v{saved.version}: restored from v{version}")
