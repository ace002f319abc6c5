"""`set`: compute named fields from templates; later nodes read steps.<id>.<field>."""

from __future__ import annotations

from typing import Any

from runtime.expressions import ExpressionError, render_values
from runtime.nodes import register
from runtime.nodes.base import Continue, Fail, NodeParams, NodeType, RunContext, template_field


class SetParams(NodeParams):
    """Parameters of a set node: the fields to compute."""

    values: dict[str, Any] = template_field(
        default_factory=dict, description="Field name -> template or constant."
    )


@register
class SetValues(NodeType):
    """Computes named fields from templates; its output is the fields."""

    type_name = "set"
    family = "flow"
    title = "Set fields"
    description = "Computes fields from templates, available as steps.<id>.<field>."
    icon = "🔀"
    Params = SetParams

    def run(self, ctx: RunContext, params: SetParams) -> Continue | Fail:
        """Render the values; they are the output."""
        try:
            return Continue("next", render_values(params.values, ctx.data))
        except ExpressionError as exc:
            return Fail(str(exc))
