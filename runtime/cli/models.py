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
    _print_report(report)


def _print_report(report: Any) -> None:
    """The held-out figures, the calibration, the promotion verdict and the thresholds."""
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
    if after.ece_uncalibrated is not None:
        echo(
            f"calibration: held-out ECE {after.ece_uncalibrated:.3f} before, "
            f"{after.ece:.3f} after (temperature on out-of-fold logits, then a monotone map)"
        )
    echo(report.promotion)
    for t in report.thresholds:
        if t["threshold"] is None:
            echo(f"target error {t['target_error']:.0%}: no threshold meets it")
        else:
            echo(
                f"target error {t['target_error']:.0%}: threshold {t['threshold']:.3f} "
                f"({t['automation']:.0%} of {t['n_rows']} out-of-fold rows would pass)"
            )


@command(model_group, "promote")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--by", required=True, help="The user promoting it (admin or designer).")
@click.option("--reason", help="Why, for the audit trail.")
def model_promote_cmd(ctx: Ctx, name: str, version: int, by: str, reason: str | None) -> None:
    """Make VERSION of model NAME the default that runs use, even if it measured worse
    (recorded in the audit trail as model.promoted)."""
    from runtime.models.errors import ModelError

    ctx.engine.authorize(by, roles=("admin", "designer"), what="promote models")
    try:
        why = _registry(ctx).promote(name, version, by=by, reason=reason)
    except ModelError as exc:
        _model_error(exc)
        return
    if ctx.json:
        json_line({"name": name, "version": version, "promoted_by": by, "reason": why})
        return
    echo(f"{name} v{version} is now the default ({why})")


@command(model_group, "retrain-if-due")
@click.option(
    "--after",
    type=click.IntRange(min=1),
    help="New corrections that make a model due (default: the LOOPGATE_RETRAIN_AFTER "
    "setting; unset means off).",
)
def model_retrain_if_due_cmd(ctx: Ctx, after: int | None) -> None:
    """Retrain every model with enough new reviewer corrections (as the audited actor
    "system"); a new version is promoted only if it measures no worse."""
    from runtime.models.errors import ModelError
    from runtime.models.retrain_job import SETTING, due_models, retrain_after, retrain_if_due

    try:
        after = after or retrain_after()
        if not after:
            echo(f"automatic retraining is off: set {SETTING} (e.g. 50) or pass --after N")
            return
        registry = _registry(ctx)
        due = {d.name: d for d in due_models(registry)}
        done = retrain_if_due(registry, after)
    except ModelError as exc:
        _model_error(exc)
        return
    trained = {d.name: report for d, report in done}
    for name, d in due.items():
        report = trained.get(name)
        if ctx.json:
            json_line(
                {
                    **d.model_dump(),
                    "retrained": report is not None and not isinstance(report, str),
                    "report": None
                    if report is None or isinstance(report, str)
                    else report.model_dump(),
                    "error": report if isinstance(report, str) else None,
                }
            )
        elif report is None:
            echo(
                f"{name}: {d.new_corrections} new correction(s) since v{d.version}, "
                f"not due (needs {after})"
            )
        elif isinstance(report, str):
            echo(f"{name}: retraining failed: {report}")
        else:
            echo(f"{name} v{report.version} trained after {d.new_corrections} new corrections")
            _print_report(report)


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
        default = "  (default)" if row.get("is_default") else ""
        echo(
            f"{row['name']} v{row['version']}  {row['provider']}  "
            f"{row['created_at']:%Y-%m-%d %H:%M}{by}  source={row['source']}  "
            f"{metrics.get('n_examples', '?')} examples  {_figures(metrics)}"
            + (f"  kind={metrics['kind']}" if metrics.get("kind") else "")
            + default
        )
    if not rows and not ctx.json:
        from runtime.models.registry import SHIPPED_MODEL

        echo(
            f"no models yet (the shipped {SHIPPED_MODEL} is trained on first use, or with "
            f"`loopgate model train {SHIPPED_MODEL}`)"
        )
