"""`end`: the run succeeds here, with an optional result label."""

from __future__ import annotations

from pydantic import Field

from runtime.nodes import register
from runtime.nodes.base import Continue, NodeParams, NodeType, RunContext


class EndParams(NodeParams):
    """Parameters of an end node."""

    result: str | None = Field(
        None, description="A label for how the run ended (e.g. refunded, rejected); shown in runs."
    )


@register
class End(NodeType):
    """The run succeeds here; it has no branches."""

    type_name = "end"
    family = "flow"
    title = "End"
    description = "The run finishes successfully here."
    icon = "🏁"
    Params = EndParams

    def branches(self, params: EndParams) -> list[str]:
        """None: the run ends here."""
        return []

    def run(self, ctx: RunContext, params: EndParams) -> Continue:
        """Finish the run, with the result label when one is set."""
        return Continue(None, {"result": params.result} if params.result else {})
