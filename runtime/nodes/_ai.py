"""What the AI nodes share: provider options, rendering their input, reaching the models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from runtime.errors import Problem
from runtime.expressions import ExpressionError, render
from runtime.nodes.base import NodeParams, RunContext

if TYPE_CHECKING:
    from runtime.models.openai_compat import OpenAICompatClient
    from runtime.models.registry import ModelRegistry
    from runtime.settings import OutboundPolicy

Provider = Literal["builtin", "openai"]


class NodeFailure(Exception):
    """Ends an AI node's run with ``Fail(message)``."""


class OpenAIOptions(NodeParams):
    """Options of the OpenAI-compatible provider (ignored by the builtin one)."""

    base_url: str | None = Field(
        None,
        description="OpenAI-compatible API base URL, e.g. https://api.openai.com/v1 "
        "(default: $LOOPGATE_OPENAI_BASE_URL); it must be one the administrator allows "
        "($LOOPGATE_MODEL_BASE_URLS). Used by the openai provider only.",
    )
    api_key_env: str = Field(
        "LOOPGATE_OPENAI_API_KEY",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="The environment variable holding the API key (keys never go in "
        "workflow files); it must be one the administrator allows ($LOOPGATE_MODEL_KEY_ENVS). "
        "Used by the openai provider only.",
    )
    timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds to wait for the openai provider per attempt."
    )
    max_retries: int = Field(
        2,
        ge=0,
        le=10,
        description="Retries (with backoff) after a timeout, 429 or 5xx from the openai provider.",
    )


def outbound_problems(
    params: OpenAIOptions, provider: str, policy: OutboundPolicy
) -> list[Problem]:
    """The key variable and base URL checked against the server's allow-lists.

    The key variable is checked for the openai provider, or wherever a workflow sets it;
    the base URL wherever it is set.
    """
    problems = []
    if provider == "openai" or "api_key_env" in params.model_fields_set:
        message = policy.model_key_problem(params.api_key_env)
        if message:
            problems.append(Problem(message=message, field="params.api_key_env"))
    if params.base_url is not None:
        message = policy.model_base_url_problem(params.base_url)
        if message:
            problems.append(Problem(message=message, field="params.base_url"))
    return problems


def render_input(ctx: RunContext, template: str, what: str) -> str:
    """A node's input template rendered to text.

    Raises:
        NodeFailure: the template fails or renders empty.
    """
    try:
        value = render(template, ctx.data)
    except ExpressionError as exc:
        raise NodeFailure(f"node {ctx.node_id}: the {what} template failed: {exc}") from None
    text = "" if value is None else str(value)
    if not text.strip():
        raise NodeFailure(
            f"node {ctx.node_id}: the {what} is empty (the template {template!r} rendered no text)"
        )
    return text


def registry_of(ctx: RunContext) -> ModelRegistry:
    """The model registry the engine passed in ``ctx.services``.

    Raises:
        NodeFailure: the engine has no services (create it with
            ``Engine(store, services=default_services(store))``).
    """
    models = getattr(ctx.services, "models", None)
    if models is None:
        raise NodeFailure(
            f"node {ctx.node_id}: no model store is available to this run; create the engine "
            "with services=runtime.services.default_services(store)"
        )
    return models


def openai_client(ctx: RunContext, params: OpenAIOptions, model: str | None) -> OpenAICompatClient:
    """A client configured from the node's params and the environment, within the
    server's allow-lists (checked here again: a workflow may have skipped validation).

    Raises:
        NodeFailure: the configuration is incomplete, or names a key variable or base URL
            the server does not allow.
    """
    from runtime.models.errors import ModelError
    from runtime.models.openai_compat import OpenAICompatClient, resolve_config

    try:
        config = resolve_config(
            base_url=params.base_url,
            model=model,
            api_key_env=params.api_key_env,
            timeout=params.timeout,
            max_retries=params.max_retries,
            policy=ctx.outbound_policy(),
        )
    except ModelError as exc:
        raise NodeFailure(f"node {ctx.node_id}: {exc}") from None
    return OpenAICompatClient(config)


def rounded(value: float) -> float:
    """A probability rounded to 4 places, as outputs keep it."""
    return round(float(value), 4)


def scores_rounded(scores: dict[str, Any]) -> dict[str, float]:
    """Every label's probability rounded to 4 places."""
    return {label: rounded(p) for label, p in scores.items()}
