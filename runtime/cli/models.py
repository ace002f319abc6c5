"""`loopgate model`: train classifier versions from files and reviewers' feedback; list them.

The model registry and its training code are imported inside the commands: start-up speed.
"""

from __future__ import annotations

from typing import Any

import click

from runtime.cli.base import CliExit, Ctx, command, echo, json_line


@click.group("model")
def model_group() -> None:
    """Train and list the builtin classifiers (stored in the database, one row per version)."""


def _registry(ctx: Ctx) -> Any:
    models = getattr(ctx.engine.services, "models", None)
    if models is None:
        from runtime.models.registry import ModelRegistry

        models = ModelRegistry(ctx.store)
    return models


def _model_error(exc: Exception) -> None:
    echo(f"error: {exc}", err=True)
    raise CliExit(1)


def _source(source: str) -> str:
    if source.startswith("file:"):
        return source[len("file:") :]
    if source == "shipped":
        return "the shipped data set"
    return "the previous version's training rows"


def _figures(metrics: dict[str, Any] | None) -> str:
    if not metrics or metrics.get("accuracy") is None:
        return "-"
    return f"accuracy {metrics['accuracy']:.3f}, ECE {metrics['ece']:.3f} (n={metrics['n_test']})"


@command(model_group, "train")
@click.argument("name")
@click.option(
    "--data",
    type=click.Path(dir_okay=False),
    help="A labelled .csv or .jsonl file (default: the rows the newest version was "
    "trained on; the shipped data set for support-intents).",
)
@click.option("--text-column", default="text", show_default=True, help="The file's text column.")
@click.option("--label-column", default="label", show_default=True, help="The file's label column.")
@click.option("--no-feedback", is_flag=True, help="Leave out the reviewers' feedback.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the held-out split.")
@click.option(
    "--kind",
    type=click.Choice(["tfidf", "embeddings"]),
    help="tfidf (default for a new model) or embeddings (the optional extra: "
    "pip install 'loopgate[embeddings]'); default: the newest version's kind.",
)
@click.option("--by", help="The user training it (needs the admin or designer role).")
def model_train_cmd(
    ctx: Ctx,
    name: str,
    data: str | None,
    text_column: str,
    label_column: str,
    no_feedback: bool,
    seed: int,
    kind: str | None,
    by: str | None,
) -> None:
    """Train a new version of model NAME on a file's rows plus the reviewers' feedback
    (label corrections and approvals), and show held-out accuracy and calibration error
    before and after."""
    from runtime.models.errors import ModelError

    if by is not None:
        ctx.engine.authorize(by, roles=("admin", "designer"), what="train models")
    try:
        report = _registry(ctx).train(
            name,
            data=data,
            text_column=text_column,
            label_column=label_column,
            by=by,
            use_feedback=not no_feedback,
            seed=seed,
            kind=kind,
        )
    except ModelError as exc:
        _model_error(exc)
        return
    if ctx.json:
        echo(report.model_dump_json())
        return
    echo(
        f"{report.name} v{report.version} trained on {report.n_examples} examples "
        f"({report.n_file} from {_source(report.source)}, {report.n_feedback} from reviewer "
        "feedback"
        + (f", {report.n_skipped} feedback rows without a text skipped" if report.n_skipped else "")
        + f") in {report.seconds:.1f} s"
    )
    echo(f"labels: {', '.join(report.labels)}")
    if report.left_out:
        echo(
            f"left out: feedback label(s) {', '.join(report.left_out)} given only once (a typo? "
            "they are learnt once a second example arrives)"
        )
    after = report.after
    if report.before is not None:
        before = report.before
        echo(
            f"held-out ({after.n_test} examples): accuracy {before.accuracy:.3f} -> "
            f"{after.accuracy:.3f}, ECE {before.ece:.3f} -> {after.ece:.3f} "
            f"(v{before.version} -> v{report.version})"
        )
    else:
        echo(
            f"held-out ({after.n_test} examples): accuracy {after.accuracy:.3f}, "
            f"ECE {after.ece:.3f}"
        )


@command(model_group, "list", create_db=False)
@click.argument("name", required=False)
def model_list_cmd(ctx: Ctx, name: str | None) -> None:
    """List stored models and their versions, newest first, with held-out figures."""
    from runtime.queries import catalog

    rows = catalog.list_models(ctx.store, None, name)  # None: the local trusted caller
    for row in rows:
        metrics = row["metrics"] or {}
        if ctx.json:
            json_line(row)
            continue
        by = f" by {row['created_by']}" if row["created_by"] else ""
        echo(
            f"{row['name']} v{row['version']}  {row['provider']}  "
            f"{row['created_at']:%Y-%m-%d %H:%M}{by}  source={row['source']}  "
            f"{metrics.get('n_examples', '?')} examples  {_figures(metrics)}"
            + (f"  kind={metrics['kind']}" if metrics.get("kind") else "")
        )
    if not rows and not ctx.json:
        from runtime.models.registry import SHIPPED_MODEL

        echo(
            f"no models yet (the shipped {SHIPPED_MODEL} is trained on first use, or with "
            f"`loopgate model train {SHIPPED_MODEL}`)"
        )
