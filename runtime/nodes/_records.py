"""Shared parameters of the record-store actions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.base import NodeParams, RunContext, template_field


class RecordParams(NodeParams):
    """Parameters every record action shares: the table and the record's key."""

    table: str = Field(
        "records",
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="The record table (like a CRM object: contacts, refunds).",
    )
    key: str = template_field(
        description="The record's key (template), e.g. {{ item.customer_id }}."
    )


def effect(ctx: RunContext, params: RecordParams, key: str, value: Any, *, deleted: bool) -> dict:
    """A record-store write, committed with the step that made it (so exactly once).

    Args:
        ctx: the run, for the ids, the visit and the time.
        params: the node's params, for the table.
        key: the rendered record key.
        value: the record's new value (its old value for a delete).
        deleted: True to mark the record deleted.

    Returns:
        A row for the store's record table, with an idempotency key per run, node and visit.
    """
    return {
        "table_name": params.table,
        "key": key,
        "value": value,
        "deleted": deleted,
        "run_id": ctx.run_id,
        "node_id": ctx.node_id,
        "idempotency_key": f"{ctx.run_id}:{ctx.node_id}:{ctx.visits}",
        "updated_at": ctx.now,
    }
