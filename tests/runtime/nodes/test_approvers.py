"""The approvers policy of a checkpoint: validation, words, and the pure tally per mode."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from runtime.nodes._approvers import ApproverPolicy, Vote, may_vote_in, tally
from runtime.nodes.approval import ApprovalParams, approver_problems

T = datetime(2026, 1, 1)


def _votes(*pairs: tuple[str, str], step: int = 0) -> list[Vote]:
    return [Vote(who, action, T, step) for who, action in pairs]


def test_first_is_the_default_and_counts_no_votes() -> None:
    policy = ApprovalParams().approvers
    assert policy.mode == "first" and not policy.multi
    assert policy.describe() == "the first answer decides"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"mode": "quorum", "of": ["a", "b"]}, "needs count"),
        ({"mode": "quorum", "count": 3, "of": ["a", "b"]}, "more than the 2 people"),
        ({"mode": "quorum", "count": 1}, "either of or team"),
        ({"mode": "quorum", "count": 1, "of": ["a"], "team": "t"}, "either of or team"),
        ({"mode": "all", "of": ["a", "a"]}, "listed twice"),
        ({"mode": "all", "of": ["a"], "count": 1}, "leave count out"),
        ({"mode": "sequence"}, "needs steps"),
        ({"mode": "sequence", "team": "t", "steps": [{"team": "t"}]}, "into the steps"),
        ({"mode": "quorum", "count": 1, "of": ["a"], "steps": [{"team": "t"}]}, "only"),
        ({"mode": "sequence", "steps": [{"of": []}]}, "step 1"),
        ({"mode": "most"}, "mode"),
    ],
)
def test_a_policy_that_cannot_work_is_refused_naming_why(raw: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message if message != "only" else "sequence"):
        ApproverPolicy.model_validate(raw)


def test_quorum_two_of_three_closes_on_the_second_approval() -> None:
    policy = ApproverPolicy(mode="quorum", count=2, of=["a", "b", "c"])
    assert policy.describe() == "2 of a, b, c; one rejection ends it"
    one = tally(policy, _votes(("a", "approve")), {})
    assert one.outcome is None and one.done == 1 and one.total == 2
    assert one.remaining == "1 more approval from a, b, c"
    assert tally(policy, _votes(("a", "approve"), ("c", "approve")), {}).outcome == "approve"


def test_reject_ends_true_one_rejection_closes_as_rejected() -> None:
    policy = ApproverPolicy(mode="quorum", count=2, of=["a", "b", "c"], reject_ends=True)
    assert tally(policy, _votes(("a", "approve"), ("b", "reject")), {}).outcome == "reject"


def test_reject_ends_false_rejects_only_when_the_quorum_is_out_of_reach() -> None:
    policy = ApproverPolicy(mode="quorum", count=2, of=["a", "b", "c"], reject_ends=False)
    assert tally(policy, _votes(("a", "reject")), {}).outcome is None
    assert tally(policy, _votes(("a", "reject"), ("b", "approve")), {}).outcome is None
    assert tally(policy, _votes(("a", "reject"), ("b", "reject")), {}).outcome == "reject"
    assert (
        tally(policy, _votes(("a", "reject"), ("b", "approve"), ("c", "approve")), {}).outcome
        == "approve"
    )


def test_all_needs_everyone_and_a_team_counts_its_members() -> None:
    policy = ApproverPolicy(mode="all", team="finance", reject_ends=False)
    members = {"finance": ["fin", "fay"]}
    assert tally(policy, _votes(("fin", "approve")), members).remaining == (
        "1 more approval from team finance"
    )
    assert tally(policy, _votes(("fin", "approve"), ("fay", "approve")), members).outcome == (
        "approve"
    )
    # Not everyone can approve any more: closes as rejected even without reject_ends.
    assert tally(policy, _votes(("fin", "reject")), members).outcome == "reject"


def test_sequence_counts_each_step_in_turn() -> None:
    policy = ApproverPolicy(
        mode="sequence",
        steps=[{"team": "managers", "name": "the manager"}, {"team": "finance", "count": 2}],
    )
    assert policy.describe() == (
        "in turn: 1 of the manager, then 2 of team finance; one rejection ends it"
    )
    assert policy.first_team() == "managers"
    start = tally(policy, [], {})
    assert (start.step, start.total) == (0, 3)
    assert start.remaining == "1 more approval from the manager, then team finance"
    after_manager = tally(policy, _votes(("mia", "approve")), {})
    assert after_manager.step == 1 and after_manager.done == 1
    votes = _votes(("mia", "approve")) + _votes(("fin", "approve"), ("fay", "approve"), step=1)
    assert tally(policy, votes, {}).outcome == "approve"
    assert may_vote_in(policy.steps[1], "fin", ["finance"])
    assert not may_vote_in(policy.steps[1], "mia", ["managers"])


def test_the_checker_names_what_does_not_fit_with_several_approvers() -> None:
    params = ApprovalParams(
        team="managers",
        editable=["amount"],
        approvers={"mode": "quorum", "count": 2, "team": "finance"},
    )
    problems = " | ".join(approver_problems(params))
    assert "editable fields cannot be used" in problems
    assert "team managers differs from the approvers' team finance" in problems
    assert approver_problems(ApprovalParams(team="managers")) == []
