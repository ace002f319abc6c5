"""What the node type tests share: run a node on its own, build a workflow, check a contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.compiler import check
from runtime.nodes import (
    Decision,
    NodeParams,
    NodeType,
    PendingReview,
    RunContext,
    Wait,
    get_node_type,
)
from runtime.settings import SmtpSettings
from runtime.spec import loads_yaml, parse_spec
from runtime.store import Store

NOW = datetime(2026, 1, 5, 9, 0, 0)

# ---------------------------------------------------------------- one node on its own


def make_ctx(
    item: dict | None = None,
    steps: dict | None = None,
    *,
    review: dict | None = None,
    node_id: str = "n",
    visits: int = 1,
    run_id: str = "run_test",
    services: Any = None,
) -> RunContext:
    """A run's data as a node sees it, at :data:`NOW`."""
    return RunContext(
        run_id=run_id,
        workflow_id="wf",
        node_id=node_id,
        item=item or {},
        steps=steps or {},
        review=review,
        now=NOW,
        visits=visits,
        services=services,
    )


def node(type_name: str, **params: Any) -> tuple[NodeType, Any]:
    """The registered type and these params, validated by its model."""
    ntype = get_node_type(type_name)
    assert ntype is not None, type_name
    return ntype, ntype.Params.model_validate(params)


def run_node(type_name: str, ctx: RunContext, **params: Any) -> Any:
    """The outcome of running a node of ``type_name`` with these params."""
    ntype, p = node(type_name, **params)
    return ntype.run(ctx, p)


def pending(outcome: Wait) -> PendingReview:
    """The pending review a checkpoint's ``Wait`` would become."""
    req = outcome.request
    return PendingReview(
        id="rev_1",
        kind=req.kind,
        team=req.team,
        reason_codes=list(req.reason_codes),
        form=[f.model_dump() for f in req.form],
        actions=list(req.actions),
        options=list(req.options),
    )


def run_and_wait(type_name: str, ctx: RunContext, **params: Any) -> tuple[NodeType, Any, Wait]:
    """Run a checkpoint that must wait; its type, params and ``Wait``."""
    ntype, p = node(type_name, **params)
    outcome = ntype.run(ctx, p)
    assert isinstance(outcome, Wait), outcome
    return ntype, p, outcome


def decide(
    ntype: NodeType, p: Any, ctx: RunContext, outcome: Wait, by: str = "mia", **decision: Any
):
    """Resume a waiting checkpoint with a decision."""
    return ntype.resume(ctx, p, pending(outcome), Decision(**decision), by)


def problems_of(type_name: str, **params: Any) -> list[str]:
    """Every problem the compiler finds with node ``ai`` of this type between a trigger and
    an end (its ``next`` and ``error`` branches both lead to the end)."""
    spec = parse_spec(
        {
            "id": "ai-check",
            "name": "AI check",
            "input": {"message": {"type": "string"}},
            "nodes": [
                {"id": "start", "type": "trigger"},
                {"id": "ai", "type": type_name, "params": params},
                {"id": "done", "type": "end"},
            ],
            "edges": [
                {"from": "start", "to": "ai"},
                {"from": "ai", "to": "done", "branch": "next"},
                {"from": "ai", "to": "done", "branch": "error"},
            ],
        }
    )
    _, problems = check(spec)
    return [str(p) for p in problems]


# ---------------------------------------------------------------- the contract


def assert_never_waits(ntype: NodeType, params: NodeParams) -> None:
    """A node that never stops for a person declares no checkpoint semantics."""
    assert not ntype.human and not ntype.guards and not ntype.rates
    assert ntype.decision_actions == ()
    assert ntype.person_branches(params) == []
    assert ntype.timeout_policy(params) is None
    assert ntype.guards_with(params) is False
    assert ntype.escalation_team(params) is None
    assert ntype.training_targets(params) == []
    for action in ("approve", "reject", "accept", "revise", "submit"):
        assert ntype.training_verdict(params, action) is None


# ---------------------------------------------------------------- workflows through an engine


def workflow(body: str, *, wid: str = "actions", inputs: str = "") -> Any:
    """A workflow from YAML nodes and edges (a trigger `start` and ends are the caller's)."""
    head = f"id: {wid}\nname: Actions test\n"
    if inputs:
        head += "input:\n" + inputs
    return loads_yaml(head + body)


ITEM = {"name": "Ana", "email": "ana@example.com", "amount": 120}

NOTIFY = """
nodes:
  - {id: start, type: trigger}
  - id: tell
    type: notify
    params:
      to: "{{ item.email }}"
      subject: "Refund of {{ item.amount }} for {{ item.name }}"
      body: |
        Dear {{ item.name }},
        we refunded {{ item.amount }} EUR.
  - {id: done, type: end, params: {result: told}}
  - {id: no_mail, type: end, params: {result: not_told}}
edges:
  - {from: start, to: tell}
  - {from: tell, to: done, branch: next}
  - {from: tell, to: no_mail, branch: error}
"""


def settings(port: int, **kw: Any) -> SmtpSettings:
    """SMTP settings for a local test server on ``port``."""
    return SmtpSettings(host="127.0.0.1", port=port, sender="loopgate@example.com", timeout=5, **kw)


def outbox(store: Store, **kw: Any) -> list[dict[str, Any]]:
    """The outbox rows."""
    return store.list_outbox(**kw)
