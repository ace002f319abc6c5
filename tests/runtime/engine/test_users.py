"""User access: who may act by role and team, and who may decide a given review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from runtime.domain import Claim, RunRecord
from runtime.engine.users import UserAccess
from runtime.errors import AccessError

USERS = {
    "ada": {"name": "ada", "roles": ["admin"], "teams": [], "disabled": False},
    "dev": {"name": "dev", "roles": ["designer", "operator"], "teams": [], "disabled": False},
    "rae": {"name": "rae", "roles": ["reviewer"], "teams": ["managers"], "disabled": False},
    "rio": {"name": "rio", "roles": ["reviewer"], "teams": ["risk"], "disabled": False},
    "aud": {"name": "aud", "roles": ["auditor"], "teams": [], "disabled": False},
    "old": {"name": "old", "roles": ["admin"], "teams": [], "disabled": True},
}


class Users:
    def __init__(self) -> None:
        self.reads = 0

    def get_user(self, name: str) -> dict[str, Any] | None:
        self.reads += 1
        return USERS.get(name)


def _claim(team: str | None, started_by: str | None = None) -> Claim:
    at = datetime(2026, 1, 1)
    run = RunRecord(
        id="run_1",
        workflow_id="wf",
        workflow_version=1,
        status="waiting",
        current_node="check",
        item={},
        steps={},
        review=None,
        visits={},
        step_count=1,
        created_at=at,
        updated_at=at,
        started_by=started_by,
    )
    return Claim(
        id="rev_1",
        run_id="run_1",
        workflow_id="wf",
        workflow_version=1,
        node_id="check",
        kind="approval",
        team=team,
        reason_codes=[],
        form=[],
        actions=["approve"],
        visits=1,
        created_at=at,
        priority="normal",
        deadline=None,
        run=run,
    )


DECIDE = ("admin", "reviewer", "designer")


@pytest.mark.parametrize(
    ("user", "roles", "team", "error"),
    [
        ("ada", ("designer",), None, None),
        ("dev", ("designer",), None, None),
        ("rae", DECIDE, "managers", None),
        ("rae", DECIDE, "risk", "may not decide reviews for team risk (their teams: managers)"),
        ("aud", DECIDE, None, "may not decide reviews (needs role admin or reviewer or designer)"),
        ("old", DECIDE, None, "user old is disabled"),
        ("nobody", DECIDE, None, "unknown user 'nobody'; add them with `loopgate users add"),
    ],
)
def test_authorize_by_role_and_team(user, roles, team, error) -> None:
    access = UserAccess(Users())
    if error is None:
        assert access.authorize(user, roles=roles, what="decide reviews", team=team) is USERS[user]
    else:
        with pytest.raises(AccessError, match=error.replace("(", r"\(").replace(")", r"\)")):
            access.authorize(user, roles=roles, what="decide reviews", team=team)


@pytest.mark.parametrize(
    ("user", "claim", "error"),
    [
        ("ada", _claim("risk"), None),
        ("rae", _claim("managers"), None),
        ("rae", _claim(None), None),
        ("rio", _claim("managers"), "it belongs to team managers, and rio is in risk"),
        ("dev", _claim("managers", started_by="dev"), None),  # following their own run
        ("dev", _claim("managers", started_by="ada"), "may not decide review rev_1 (not a rev"),
    ],
)
def test_who_may_decide_a_review(user, claim, error) -> None:
    access = UserAccess(Users())
    if error is None:
        access.check_may_decide(user, claim)
    else:
        with pytest.raises(AccessError, match=error.replace("(", r"\(")):
            access.check_may_decide(user, claim)


def test_users_are_cached_until_forgotten() -> None:
    store = Users()
    access = UserAccess(store)
    access.user("rae")
    access.user("rae")
    access.user("nobody")
    access.user("nobody")
    assert store.reads == 2
    access.forget()
    access.user("rae")
    assert store.reads == 3
