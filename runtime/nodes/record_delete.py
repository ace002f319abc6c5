"""`record_delete`: delete a record from the built-in record store (kept, marked deleted)."""

from __future__ import annotations

from runtime.expressions import ExpressionError, render
from runtime.nodes import register
from runtime.nodes._records import RecordParams, effect
from runtime.nodes.base import Continue, Fail, NodeType, RunContext


@register
class RecordDelete(NodeType):
    """Marks a record deleted; the delete commits with the step (exactly once)."""

    type_name = "record_delete"
    family = "action"
    title = "Delete record"
    description = (
        "Deletes a record from the built-in record store; the old value stays in the audit trail."
    )
    icon = "⚡"
    Params = RecordParams
    example_params = {"key": "{{ item.id }}"}

    def branches(self, params: RecordParams) -> list[str]:
        """``next``, or ``error`` when the key fails to render."""
        return ["next", "error"]

    def run(self, ctx: RunContext, params: RecordParams) -> Continue | Fail:
        """Mark the record deleted, keeping its old value in the output."""
        try:
            key = str(render(params.key, ctx.data))
        except ExpressionError as exc:
            return Fail(str(exc))
        services = ctx.services
        previous = services.get_record(params.table, key) if services is not None else None
        old = (previous or {}).get("value")
        ctx.effects.append(effect(ctx, params, key, old, deleted=True))
        return Continue(
            "next",
            {"table": params.table, "key": key, "existed": previous is not None, "previous": old},
        )
