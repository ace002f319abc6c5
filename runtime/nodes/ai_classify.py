"""`ai_classify`: label a text with a trained classifier, with a calibrated confidence."""

from __future__ import annotations

from pydantic import Field, field_validator

from runtime.errors import Problem
from runtime.nodes import register
from runtime.nodes._ai import (
    NodeFailure,
    OpenAIOptions,
    Provider,
    openai_client,
    outbound_problems,
    registry_of,
    render_input,
    rounded,
    scores_rounded,
)
from runtime.nodes.base import Continue, Fail, NodeType, RunContext, template_field
from runtime.settings import OutboundPolicy

SHIPPED_MODEL = "support-intents"  # runtime.models.registry.SHIPPED_MODEL, without importing it


class AiClassifyParams(OpenAIOptions):
    """Parameters of a classifier node: the text, the model, the expected labels."""

    text: str = template_field(
        description="The text to classify (template), e.g. {{ item.message }}."
    )
    model: str | None = Field(
        None,
        description="builtin: a model in the store (default support-intents, the shipped "
        "one; see `loopgate model list`); openai: the remote model (default "
        "$LOOPGATE_OPENAI_MODEL).",
    )
    labels: list[str] | None = Field(
        None,
        description="The labels this workflow expects. builtin: the run fails on the error "
        "branch if the model cannot produce one of them; openai: the answers allowed "
        "(required).",
    )
    provider: Provider = Field(
        "builtin",
        description="builtin: the offline classifier trained in Loopgate; openai: an "
        "OpenAI-compatible chat model.",
    )

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str] | None) -> list[str] | None:
        if labels is None:
            return None
        clean = [label.strip() for label in labels]
        if any(not label for label in clean):
            raise ValueError("labels must not be empty")
        if len(set(clean)) != len(clean):
            raise ValueError("labels must be distinct")
        return clean


@register
class AiClassify(NodeType):
    """Labels a text with a confidence: the builtin classifier or an OpenAI-compatible model."""

    type_name = "ai_classify"
    family = "ai"
    title = "Classify"
    description = (
        "Labels a text with a classifier (offline by default, retrained from reviewers' "
        "corrections) and a calibrated confidence."
    )
    icon = "🤖"
    Params = AiClassifyParams
    example_params = {"text": "{{ item.text }}"}

    def branches(self, params: AiClassifyParams) -> list[str]:
        """``next``, or ``error`` when the text or the model fails."""
        return ["next", "error"]

    def check(self, params: AiClassifyParams, node_ids: set[str]) -> list[str]:
        """The openai provider needs labels; a label list needs two distinct labels."""
        problems = []
        if params.provider == "openai" and not params.labels:
            problems.append("provider openai needs labels: the answers the model may give")
        if params.labels is not None and len(params.labels) < 2:
            problems.append("labels needs at least 2 labels to choose from")
        return problems

    def check_outbound(self, params: AiClassifyParams, policy: OutboundPolicy) -> list[Problem]:
        """``api_key_env`` and ``base_url`` must be in the server's allow-lists."""
        return outbound_problems(params, params.provider, policy)

    def run(self, ctx: RunContext, params: AiClassifyParams) -> Continue | Fail:
        """Classify the rendered text: ``{label, confidence, scores, model, model_version, provider,
        text}``.
        """
        from runtime.models.errors import ModelError

        try:
            text = render_input(ctx, params.text, "text")
            if params.provider == "openai":
                return Continue("next", self._openai(ctx, params, text))
            return Continue("next", self._builtin(ctx, params, text))
        except NodeFailure as exc:
            return Fail(str(exc))
        except ModelError as exc:
            return Fail(f"node {ctx.node_id}: {exc}")

    def _builtin(self, ctx: RunContext, params: AiClassifyParams, text: str) -> dict:
        from runtime.models.errors import ModelError

        name = params.model or SHIPPED_MODEL
        try:
            model, version = registry_of(ctx).classifier(name)
        except ModelError as exc:
            raise NodeFailure(f"node {ctx.node_id}: {exc}") from None
        if params.labels:
            bad = [label for label in params.labels if label not in model.labels]
            if bad:
                raise NodeFailure(
                    f"node {ctx.node_id}: model {name} v{version} cannot produce label(s) "
                    f"{', '.join(bad)}; it knows {', '.join(model.labels)}. Retrain it with "
                    f"examples of them (loopgate model train {name} --data FILE.csv) or fix "
                    "the node's labels"
                )
        prediction = model.predict([text])[0]
        return {
            "label": prediction.label,
            "confidence": rounded(prediction.confidence),
            "scores": scores_rounded(prediction.scores),
            "model": name,
            "model_version": version,
            "provider": "builtin",
            "text": text,
        }

    def _openai(self, ctx: RunContext, params: AiClassifyParams, text: str) -> dict:
        from runtime.models.errors import ModelError
        from runtime.models.openai_compat import classify

        client = openai_client(ctx, params, params.model)
        try:
            answer = classify(client, text, list(params.labels or []))
        except ModelError as exc:
            raise NodeFailure(
                f"node {ctx.node_id}: openai model {client.config.model}: {exc}"
            ) from None
        return {
            "label": answer["label"],
            "confidence": rounded(answer["confidence"]),
            "scores": scores_rounded(answer["scores"]),
            "model": answer["model"],
            "model_version": None,
            "provider": "openai",
            "text": text,
        }
