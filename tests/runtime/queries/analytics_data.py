"""A small fixed analytics data set made through the engine with a controlled clock.

Timeline (T0 = 2026-03-02 09:00 UTC; every run starts at T0, started by ``ops``):

* ``gate``: ``ai`` (a ``set`` node: label and confidence from the item) then confidence
  gate ``g`` (threshold 0.8, no audit sample, team t1). Confidences 0.95, 0.9, 0.85 pass
  with no person; 0.75, 0.6, 0.4, 0.3 go to t1. mia: 09:10 approves 0.75, 09:20 edits
  0.6's label, 09:40 rejects 0.3 (spam), 09:55 rejects 0.4 (wrong).
* ``appr``: approval ``check`` (team t2, deadline 1 h, default reject, escalate_to t1),
  items 1..4. max: 09:30 approves 1, 09:45 escalates 4 (a new t1 review, pending to the
  end), 09:58 rejects 2 (too_high). The 10:05 sweep rejects 3 by default (too_high).
* ``tmo``: approval (team t2, deadline 1 h, timeout branch): timed out at 10:05.
* ``esc``: approval (team t2, deadline 2 h, escalate to t1): escalated at 11:05, pending.
* ``auto``: no checkpoint; 2 runs finish at T0.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.spec import parse_spec
from runtime.store import Store

T0 = datetime(2026, 3, 2, 9, 0)


def at(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def approval_spec(wf_id: str, **params: Any) -> Any:
    """trigger -> approval ``check`` (params) -> ends for approved, rejected, timeout."""
    branches = ["approved", "rejected"]
    if params.get("on_timeout", "timeout") == "timeout" and params.get("deadline"):
        branches.append("timeout")
    return parse_spec(
        {
            "id": wf_id,
            "name": wf_id,
            "input": {"n": {"type": "number", "required": True}},
            "nodes": [
                {"id": "start", "type": "trigger"},
                {
                    "id": "check",
                    "type": "approval",
                    "params": {"reason_codes": ["too_high", "dup"], **params},
                },
                *[{"id": b, "type": "end", "params": {"result": b}} for b in branches],
            ],
            "edges": [
                {"from": "start", "to": "check"},
                *[{"from": "check", "to": b, "branch": b} for b in branches],
            ],
        }
    )


def gate_spec(threshold: float = 0.8, sample_rate: float = 0.0) -> Any:
    """trigger -> set ``ai`` {label, confidence} from the item -> confidence gate ``g``."""
    return parse_spec(
        {
            "id": "gate",
            "name": "gate",
            "input": {"label": {"type": "string"}, "conf": {"type": "number"}},
            "nodes": [
                {"id": "start", "type": "trigger"},
                {
                    "id": "ai",
                    "type": "set",
                    "params": {
                        "values": {"label": "{{ item.label }}", "confidence": "{{ item.conf }}"}
                    },
                },
                {
                    "id": "g",
                    "type": "confidence_gate",
                    "params": {
                        "of": "ai",
                        "threshold": threshold,
                        "sample_rate": sample_rate,
                        "editable": ["ai.label"],
                        "reason_codes": ["wrong", "spam"],
                        "team": "t1",
                    },
                },
                {"id": "ok", "type": "end", "params": {"result": "ok"}},
                {"id": "no", "type": "end", "params": {"result": "no"}},
            ],
            "edges": [
                {"from": "start", "to": "ai"},
                {"from": "ai", "to": "g"},
                {"from": "g", "to": "ok", "branch": "pass"},
                {"from": "g", "to": "no", "branch": "rejected"},
            ],
        }
    )


def auto_spec() -> Any:
    """trigger -> end: no person ever."""
    return parse_spec(
        {
            "id": "auto",
            "name": "auto",
            "nodes": [
                {"id": "start", "type": "trigger"},
                {"id": "done", "type": "end", "params": {"result": "done"}},
            ],
            "edges": [{"from": "start", "to": "done"}],
        }
    )


def make_users(store: Store) -> None:
    """mia (reviewer t1), max (reviewer t2), aud (auditor), dev (designer), ops (operator),
    ada (admin)."""
    add_user(store, "mia", roles=["reviewer"], teams=["t1"])
    add_user(store, "max", roles=["reviewer"], teams=["t2"])
    add_user(store, "aud", roles=["auditor"], teams=[])
    add_user(store, "dev", roles=["designer"], teams=[])
    add_user(store, "ops", roles=["operator"], teams=[])
    add_user(store, "ada", roles=["admin"], teams=[])


def clock(engine: Engine) -> Callable[[datetime], None]:
    """Point the engine's clock at T0; returns a setter for later times."""
    now = [T0]
    engine.clock = lambda: now[0]

    def set_time(when: datetime) -> None:
        now[0] = when

    return set_time


def build(engine: Engine) -> dict[str, str]:
    """Write the data set of the module docstring; returns review ids by name."""
    make_users(engine.store)
    engine.forget_users()
    set_time = clock(engine)
    gate = engine.save_workflow(gate_spec())
    appr = engine.save_workflow(
        approval_spec("appr", team="t2", deadline="1h", on_timeout="reject", escalate_to="t1")
    )
    tmo = engine.save_workflow(approval_spec("tmo", team="t2", deadline="1h"))
    esc = engine.save_workflow(
        approval_spec("esc", team="t2", deadline="2h", on_timeout="escalate", escalate_to="t1")
    )
    auto = engine.save_workflow(auto_spec())
    confs = [0.95, 0.9, 0.85, 0.75, 0.6, 0.4, 0.3]
    g = engine.start_many(gate, [{"label": "a", "conf": c} for c in confs], by="ops")
    a = engine.start_many(appr, [{"n": i} for i in range(1, 5)], by="ops")
    t = engine.start(tmo, {"n": 1}, by="ops")
    e = engine.start(esc, {"n": 1}, by="ops")
    engine.start_many(auto, [{"n": 1}, {"n": 2}], by="ops")
    ids = {f"g{c}": r.review_id for c, r in zip(confs, g, strict=True) if r.review_id}
    ids |= {f"a{i}": r.review_id for i, r in enumerate(a, start=1)}
    ids |= {"tmo": t.review_id, "esc": e.review_id}
    steps: list[tuple[float, str, str, dict[str, Any]]] = [
        (10, "g0.75", "mia", {"action": "approve"}),
        (20, "g0.6", "mia", {"action": "edit", "data": {"ai.label": "b"}}),
        (30, "a1", "max", {"action": "approve"}),
        (40, "g0.3", "mia", {"action": "reject", "reason": "spam"}),
        (45, "a4", "max", {"action": "escalate"}),
        (55, "g0.4", "mia", {"action": "reject", "reason": "wrong"}),
        (58, "a2", "max", {"action": "reject", "reason": "too_high"}),
    ]
    for minute, name, who, decision in steps:
        set_time(at(minute))
        engine.decide(ids[name], decision, by=who)
    set_time(at(65))
    engine.sweep()
    set_time(at(125))
    engine.sweep()
    engine.flush()
    return ids
