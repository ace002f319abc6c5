"""`record_write`: create or update a record in the built-in record store."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.expressions import ExpressionError, render, render_values
from runtime.nodes import register
from runtime.nodes._records import RecordParams, effect
from runtime.nodes.base import Continue, Fail, NodeType, RunContext, template_field


class RecordWriteParams(RecordParams):
    """Parameters of a record write: the table, the key and the values."""

    values: dict[str, Any] = template_field(
        default_factory=dict, description="Field -> template or constant to store."
    )
    merge: bool = Field(
        True, description="Keep fields of an existing record that values leave out."
    )


@register
class RecordWrite(NodeType):
    """Creates or updates a record; the write commits with the step (exactly once)."""

    type_name = "record_write"
    family = "action"
    title = "Write record"
    description = "Creates or updates a record in the built-in record store (a CRM stand-in)."
    icon = "⚡"
    Params = RecordWriteParams
    example_params = {"key": "{{ item.id }}"}

    def branches(self, params: RecordWriteParams) -> list[str]:
        """``next``, or ``error`` when the key or values fail to render."""
        return ["next", "error"]

    def run(self, ctx: RunContext, params: RecordWriteParams) -> Continue | Fail:
        """Write the record (merged with an existing one when ``merge``)."""
        try:
            key = str(render(params.key, ctx.data))
            values = render_values(params.values, ctx.data)
        except ExpressionError as exc:
            return Fail(str(exc))
        if not key:
            return Fail("the key rendered empty")
        previous = None
        if ctx.services is not None and params.merge:
            previous = ctx.services.get_record(params.table, key)
        old = (previous or {}).get("value") or {}
        value = {**old, **values} if params.merge else values
        ctx.effects.append(effect(ctx, params, key, value, deleted=False))
        return Continue(
            "next",
            {
                "table": params.table,
                "key": key,
                "values": value,
                **({"previous": old} if previous else {}),
            },
        )
