"""The small workflow most canvas tests draw: a condition, an approval and a sensitive delete."""

from __future__ import annotations

import pytest

from runtime.spec import WorkflowSpec, parse_spec


@pytest.fixture
def small() -> WorkflowSpec:
    return parse_spec(
        {
            "id": "small",
            "name": "Small",
            "nodes": [
                {"id": "start", "type": "trigger"},
                {"id": "big", "type": "condition", "params": {"when": "item.amount > 5"}},
                {"id": "ok", "type": "approval", "params": {"team": "managers"}},
                {
                    "id": "wipe",
                    "type": "record_delete",
                    "params": {"key": "{{ item.id }}"},
                    "sensitive": True,
                },
                {"id": "done", "type": "end"},
            ],
            "edges": [
                {"from": "start", "to": "big"},
                {"from": "big", "to": "ok", "branch": "true"},
                {"from": "big", "to": "done", "branch": "false"},
                {"from": "ok", "to": "wipe", "branch": "approved"},
                {"from": "ok", "to": "done", "branch": "rejected"},
                {"from": "wipe", "to": "done", "branch": "next"},
                {"from": "wipe", "to": "done", "branch": "error"},
            ],
        }
    )
