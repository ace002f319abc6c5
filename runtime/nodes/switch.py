"""`switch`: route by a value to one branch per case, or `default`."""

from __future__ import annotations

from pydantic import Field, field_validator

from runtime.expressions import ExpressionError, render
from runtime.nodes import register
from runtime.nodes.base import Continue, Fail, NodeParams, NodeType, RunContext, template_field


class SwitchParams(NodeParams):
    """Parameters of a switch: the value and the cases that get their own branch."""

    value: str = template_field(
        description="Template giving the value, e.g. {{ steps.intent.label }}."
    )
    cases: list[str] = Field(
        min_length=1, description="The values that get their own branch; anything else: default."
    )

    @field_validator("cases")
    @classmethod
    def _unique(cls, cases: list[str]) -> list[str]:
        cases = [str(c) for c in cases]
        if len(set(cases)) != len(cases):
            raise ValueError("cases must be unique")
        if "default" in cases:
            raise ValueError("'default' is the fallback branch; it cannot be a case")
        return cases


@register
class Switch(NodeType):
    """Routes by a rendered value: one branch per case, anything else to ``default``."""

    type_name = "switch"
    family = "flow"
    title = "Switch"
    description = "Routes by a value: one branch per case, plus default."
    icon = "🔀"
    example_params = {"value": "{{ item.category }}", "cases": ["case_1"]}
    Params = SwitchParams

    def branches(self, params: SwitchParams) -> list[str]:
        """One branch per case, then ``default``."""
        return [*params.cases, "default"]

    def failure_branch(self, params: SwitchParams) -> str | None:
        """None: a case called ``error`` is a value to route, and a value that does not
        render fails the run."""
        return None

    def run(self, ctx: RunContext, params: SwitchParams) -> Continue | Fail:
        """Render the value and take the case it equals as text, else ``default``."""
        try:
            value = render(params.value, ctx.data)
        except ExpressionError as exc:
            return Fail(str(exc))
        text = "" if value is None else str(value)
        return Continue(text if text in params.cases else "default", {"value": value})
