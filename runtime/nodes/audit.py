"""`audit`: records what happened, when and why in the audit trail, and never stops."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.expressions import ExpressionError, render, render_values
from runtime.nodes import register
from runtime.nodes.base import Continue, Fail, NodeParams, NodeType, RunContext, template_field


class AuditParams(NodeParams):
    """Parameters of an audit node: what to record, its category, extra fields."""

    message: str = template_field(
        "{{ item }}",
        description="What to record (template), e.g. Refund of {{ item.amount }} sent.",
    )
    category: str = Field("audit", description="A tag to filter the audit trail by.")
    fields: dict[str, Any] = template_field(
        default_factory=dict, description="Extra named values to record (templates)."
    )


@register
class Audit(NodeType):
    """A checkpoint that never stops: it writes an ``audit`` event and continues."""

    type_name = "audit"
    family = "checkpoint"
    title = "Audit log"
    description = "Records what, when and why in the tamper-evident audit trail; never stops."
    icon = "✋"
    Params = AuditParams
    event_kind = "audit"

    def run(self, ctx: RunContext, params: AuditParams) -> Continue | Fail:
        """Render the message and fields; the step is written as an ``audit`` event."""
        try:
            message = render(params.message, ctx.data)
            fields = render_values(params.fields, ctx.data)
        except ExpressionError as exc:
            return Fail(str(exc))
        return Continue(
            "next",
            {
                "message": str(message),
                "category": params.category,
                **({"fields": fields} if fields else {}),
            },
        )
