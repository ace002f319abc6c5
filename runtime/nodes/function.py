"""`function`: call a registered Python function with rendered arguments."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.expressions import ExpressionError, render_values
from runtime.functions import function_names, get_function
from runtime.nodes import register
from runtime.nodes.base import Continue, Fail, NodeParams, NodeType, RunContext, template_field


class FunctionParams(NodeParams):
    """Parameters of a function node: the registered function's name and its arguments."""

    name: str = Field(description="The registered function's name (see runtime.functions).")
    args: dict[str, Any] = template_field(
        default_factory=dict, description="Keyword arguments: name -> template or constant."
    )


@register
class Function(NodeType):
    """Calls a registered Python function (the developers' escape hatch)."""

    type_name = "function"
    family = "action"
    title = "Python function"
    description = "Calls a registered Python function; its returned dict is the output."
    icon = "⚡"
    Params = FunctionParams
    example_params = {"name": "my_function"}

    def branches(self, params: FunctionParams) -> list[str]:
        """``next``, or ``error`` when the function raises."""
        return ["next", "error"]

    def check(self, params: FunctionParams, node_ids: set[str]) -> list[str]:
        """The function must be registered."""
        if get_function(params.name) is None:
            known = ", ".join(function_names()) or "none registered"
            return [f"no function named {params.name!r} is registered (known: {known})"]
        return []

    def run(self, ctx: RunContext, params: FunctionParams) -> Continue | Fail:
        """Call the function with the rendered args; a dict result is the output."""
        fn = get_function(params.name)
        if fn is None:
            return Fail(f"no function named {params.name!r} is registered")
        try:
            args = render_values(params.args, ctx.data)
        except ExpressionError as exc:
            return Fail(str(exc))
        try:
            result = fn(**args)
        except Exception as exc:  # the function is user code: its error takes the error branch
            return Fail(f"function {params.name} raised {type(exc).__name__}: {exc}")
        return Continue("next", result if isinstance(result, dict) else {"result": result})
