"""`ai_generate`: write a text from a template (offline) or a prompt (an OpenAI-compatible LLM)."""

from __future__ import annotations

from pydantic import Field

from runtime.errors import Problem
from runtime.nodes import register
from runtime.nodes._ai import (
    NodeFailure,
    OpenAIOptions,
    Provider,
    openai_client,
    outbound_problems,
)
from runtime.nodes.base import Continue, Fail, NodeType, RunContext, template_field
from runtime.settings import OutboundPolicy

#: The builtin provider's "model": the sandboxed template renderer.
TEMPLATE_MODEL = "template"
TEMPLATE_VERSION = 1


class AiGenerateParams(OpenAIOptions):
    """Parameters of a generator node: the template or prompt, and the provider's options."""

    template: str = template_field(
        description="builtin: the text to write, as a template, e.g. Dear {{ item.name }}, ...; "
        "openai: the prompt (a template too)."
    )
    provider: Provider = Field(
        "builtin",
        description="builtin: render the template offline; openai: send it as a prompt to an "
        "OpenAI-compatible chat model.",
    )
    model: str | None = Field(
        None,
        description="openai: the remote model (default $LOOPGATE_OPENAI_MODEL). The builtin "
        "provider renders the template itself.",
    )
    system: str | None = template_field(
        None, description="openai: the system message (template), e.g. the tone to write in."
    )
    temperature: float | None = Field(
        None, ge=0, le=2, description="openai: sampling temperature (default: the server's)."
    )
    max_tokens: int | None = Field(
        None, ge=1, le=100_000, description="openai: the longest answer, in tokens."
    )


@register
class AiGenerate(NodeType):
    """Writes a text: a sandboxed template offline, or a prompt to an OpenAI-compatible LLM."""

    type_name = "ai_generate"
    family = "ai"
    title = "Generate text"
    description = (
        "Writes a text: renders a template offline, or asks an OpenAI-compatible model with "
        "the template as the prompt."
    )
    icon = "🤖"
    Params = AiGenerateParams
    example_params = {"template": "Hello {{ item.name }}"}

    def branches(self, params: AiGenerateParams) -> list[str]:
        """``next``, or ``error`` when the template or the model fails."""
        return ["next", "error"]

    def check_outbound(self, params: AiGenerateParams, policy: OutboundPolicy) -> list[Problem]:
        """``api_key_env`` and ``base_url`` must be in the server's allow-lists."""
        return outbound_problems(params, params.provider, policy)

    def run(self, ctx: RunContext, params: AiGenerateParams) -> Continue | Fail:
        """Render the template (builtin) or send it as a prompt (openai): ``{text, model, ...}``."""
        from runtime.models.errors import ModelError
        from runtime.models.generator import render_text

        try:
            text = render_text(params.template, ctx.data)
        except ModelError as exc:
            return Fail(f"node {ctx.node_id}: {exc}")
        if params.provider == "builtin":
            return Continue(
                "next",
                {
                    "text": text,
                    "model": TEMPLATE_MODEL,
                    "model_version": TEMPLATE_VERSION,
                    "provider": "builtin",
                },
            )
        try:
            system = render_text(params.system, ctx.data) if params.system else None
            client = openai_client(ctx, params, params.model)
        except ModelError as exc:
            return Fail(f"node {ctx.node_id}: the system template failed: {exc}")
        except NodeFailure as exc:
            return Fail(str(exc))
        from runtime.models.openai_compat import generate

        try:
            answer = generate(
                client,
                text,
                system=system,
                temperature=params.temperature,
                max_tokens=params.max_tokens,
            )
        except ModelError as exc:
            return Fail(f"node {ctx.node_id}: openai model {client.config.model}: {exc}")
        return Continue(
            "next",
            {
                "text": answer.text,
                "model": answer.model,
                "model_version": None,
                "provider": "openai",
                "prompt": text,
            },
        )
