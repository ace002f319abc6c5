"""What every node type is made of: outcomes, review and decision models, durations, and the
defaults of the NodeType contract."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runtime.nodes import Decision, NodeParams, NodeType, TimeoutPolicy
from runtime.nodes.base import parse_duration


def test_review_request_and_decision_forbid_unknown_keys():
    with pytest.raises(ValueError):
        Decision(action="approve", bogus=1)
    with pytest.raises(ValueError):
        Decision(action="maybe")
    with pytest.raises(ValueError):
        Decision(action="accept", rating=6)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("4h", 14400),
        ("2d", 172800),
        ("1w", 604800),
        ("1.5 hours", 5400),
        ("10s", 10),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "5", "-1h", "1y", "h4"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_timeout_policy():
    policy = TimeoutPolicy("4h", "approve")
    assert policy.escalate_to is None
    assert policy.duration == timedelta(hours=4)
    assert policy.approves_by_default
    assert not TimeoutPolicy("4h", "reject").approves_by_default
    assert not TimeoutPolicy("1d", "escalate", "finance").approves_by_default
    with pytest.raises(AttributeError):
        policy.on_timeout = "timeout"  # type: ignore[misc]


class _Step(NodeType):
    type_name = "step_for_test"
    family = "flow"
    title = "Step"
    description = "A node that declares nothing beyond what it must."


class _Stop(NodeType):
    type_name = "stop_for_test"
    family = "checkpoint"
    title = "Stop"
    description = "A checkpoint that relies on the base class's defaults."
    human = True
    guards = True

    def branches(self, params: NodeParams) -> list[str]:
        return ["yes", "no", "timeout", "error"]


def test_the_contracts_defaults():
    step, params = _Step(), NodeParams()
    assert step.icon == "🔀" and step.example_params == {}
    assert step.decision_actions == () and not step.rates
    assert step.person_branches(params) == []
    assert step.timeout_policy(params) is None and not step.guards_with(params)
    assert step.escalation_team(params) is None
    assert step.training_targets(params) == []
    assert step.training_verdict(params, "approve") is None


def test_a_human_checkpoint_defaults_to_every_branch_but_timeout_and_error():
    stop, params = _Stop(), NodeParams()
    assert stop.icon == "✋"
    assert stop.person_branches(params) == ["yes", "no"]
    assert stop.guards_with(params)  # no deadline, so nothing approves by default
