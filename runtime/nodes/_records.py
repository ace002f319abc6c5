"""Shared parameters of the record-store actions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.base import NodeParams, RunContext, template_field


class RecordParams(NodeParams):
    table: str = Field(
        "records",
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="The record table (like a CRM object: contacts, refunds).",
    )
    key: str = template_field(
        description="The record's key (template), e.g. {{ item.customer_id }}."
    )


def effect(ctx: RunContext, params: RecordParams, key: str, value: Any, *, deleted: bool) -> dict:
    """A record-store write, committed with the step that made it (so exactly once)."""
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
