"""`condition`: take `true` or `false` by a safe expression over the run's data."""

from __future__ import annotations

from runtime.expressions import ExpressionError, evaluate
from runtime.nodes import register
from runtime.nodes.base import Continue, Fail, NodeParams, NodeType, RunContext, expression_field


class ConditionParams(NodeParams):
    """Parameters of a condition: the expression."""

    when: str = expression_field(
        description="Expression over item, steps and review, e.g. item.amount > 500."
    )


@register
class Condition(NodeType):
    """Takes ``true`` or ``false`` by evaluating an expression over the run's data."""

    type_name = "condition"
    family = "flow"
    title = "Condition"
    description = "Branches on an expression: true or false."
    icon = "🔀"
    example_params = {"when": "true"}
    Params = ConditionParams

    def branches(self, params: ConditionParams) -> list[str]:
        """``true`` and ``false``."""
        return ["true", "false"]

    def run(self, ctx: RunContext, params: ConditionParams) -> Continue | Fail:
        """Evaluate the expression: ``true`` or ``false``, output ``{result}``."""
        try:
            result = bool(evaluate(params.when, ctx.data))
        except ExpressionError as exc:
            return Fail(str(exc))
        return Continue("true" if result else "false", {"result": result})
