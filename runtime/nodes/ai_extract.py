"""`ai_extract`: pull fields (amounts, e-mails, invoice numbers, dates, ...) out of a text."""

from __future__ import annotations

from pydantic import Field

from runtime.models import SUPPORTED_FIELDS, ModelError, extract_fields
from runtime.nodes import register
from runtime.nodes._ai import NodeFailure, render_input, rounded
from runtime.nodes.base import Continue, Fail, NodeParams, NodeType, RunContext, template_field

#: Bump when the rules change what they extract, so outputs say which rules made them.
RULES_VERSION = 1


class AiExtractParams(NodeParams):
    """Parameters of an extractor node: the text and the fields to find."""

    text: str = template_field(description="The text to read (template), e.g. {{ item.body }}.")
    fields: list[str] = Field(
        min_length=1,
        description="The fields to extract, from: " + ", ".join(SUPPORTED_FIELDS) + ".",
    )
    dayfirst: bool = Field(
        True,
        description="Read ambiguous dates like 03/04/2026 as day/month (3 April); "
        "either way their confidence is lowered.",
    )


@register
class AiExtract(NodeType):
    """Extracts fields from a text with offline rules, each with a confidence."""

    type_name = "ai_extract"
    family = "ai"
    title = "Extract fields"
    description = (
        "Extracts fields (amount, e-mail, invoice number, date, ...) from a text, each with "
        "a confidence; offline rules."
    )
    icon = "🤖"
    Params = AiExtractParams
    example_params = {"text": "{{ item.text }}", "fields": ["amount"]}

    def branches(self, params: AiExtractParams) -> list[str]:
        """``next``, or ``error`` when the text fails to render."""
        return ["next", "error"]

    def check(self, params: AiExtractParams, node_ids: set[str]) -> list[str]:
        """Every field must be a supported one, and listed once."""
        problems = []
        unknown = [f for f in params.fields if f not in SUPPORTED_FIELDS]
        if unknown:
            problems.append(
                f"unknown field(s) {', '.join(unknown)} in fields; supported fields are "
                f"{', '.join(SUPPORTED_FIELDS)}"
            )
        if len(set(params.fields)) != len(params.fields):
            problems.append("fields lists a field twice")
        return problems

    def run(self, ctx: RunContext, params: AiExtractParams) -> Continue | Fail:
        """Extract the fields: ``{fields: {name: {value, confidence}}, confidence, ...}``."""
        try:
            text = render_input(ctx, params.text, "text")
            found = extract_fields(text, params.fields, dayfirst=params.dayfirst)
        except NodeFailure as exc:
            return Fail(str(exc))
        except ModelError as exc:
            return Fail(f"node {ctx.node_id}: {exc}")
        fields = {
            name: {"value": f.value, "confidence": rounded(f.confidence)}
            for name, f in found.items()
        }
        return Continue(
            "next",
            {
                "fields": fields,
                "confidence": min(f["confidence"] for f in fields.values()),
                "missing": [name for name, f in fields.items() if f["value"] is None],
                "model": "rules",
                "model_version": RULES_VERSION,
                "provider": "builtin",
                "text": text,
            },
        )
