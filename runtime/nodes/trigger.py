"""`trigger`: where every run starts; the item enters here."""

from __future__ import annotations

from runtime.nodes import register
from runtime.nodes.base import Continue, NodeParams, NodeType, RunContext


@register
class Trigger(NodeType):
    """The one node every run starts at; it passes the item on unchanged."""

    type_name = "trigger"
    family = "flow"
    title = "Trigger"
    description = "Where a run starts: an item from the CLI, the API, a batch file or a test run."
    icon = "▶️"

    def run(self, ctx: RunContext, params: NodeParams) -> Continue:
        """Start the run: take ``next`` with no output."""
        return Continue("next", {})
