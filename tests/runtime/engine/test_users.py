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
    """The store's user reads: a dict of users and a data version a write bumps."""

    def __init__(self) -> None:
        self.reads = 0
        self.users = {name: dict(user) for name, user in USERS.items()}
        self.version = 0

    def get_user(self, name: str) -> dict[str, Any] | None:
        self.reads += 1
        user = self.users.get(name)
        return dict(user) if user is not None else None

    def data_version(self) -> int:
        return self.version

    def write(self, name: str, **fields: Any) -> None:
        """What the store does on a user write: change the row, bump the version."""
        self.users.setdefault(name, {"name": name, "roles": [], "teams": [], "disabled": False})
        self.users[name].update(fields)
        self.version += 1


def _claim(team: str | None, started_by: str | None = "ops", assignee: str | None = None) -> Claim:
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
        assignee=assignee,
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
        assert access.authorize(user, roles=roles, what="decide reviews", team=team) == USERS[user]
    else:
        with pytest.raises(AccessError, match=error.replace("(", r"\(").replace(")", r"\)")):
            access.authorize(user, roles=roles, what="decide reviews", team=team)


@pytest.mark.parametrize(
    ("user", "claim", "allow", "error"),
    [
        ("ada", _claim("risk"), False, None),
        ("rae", _claim("managers"), False, None),
        ("rae", _claim(None), False, None),
        ("rio", _claim("managers"), False, "it belongs to team managers, rio is in risk"),
        ("rio", _claim("managers", assignee="rio"), False, None),  # assigned to them
        ("aud", _claim(None), False, "user aud may not decide reviews (needs role reviewer)"),
        ("old", _claim(None), False, "user old is disabled"),
        ("nobody", _claim(None), False, "unknown user 'nobody'"),
        # the starter does not decide their own run's review (separation of duties) ...
        ("dev", _claim(None, started_by="dev"), False, "dev started run run_1 and may not"),
        ("ada", _claim("risk", started_by="ada"), False, "the checkpoint does not allow self-"),
        ("rae", _claim("managers", started_by="rae"), False, "rae started run run_1"),
        # ... unless the checkpoint allows it, and then only with the role to decide
        ("rae", _claim("managers", started_by="rae"), True, None),
        ("dev", _claim(None, started_by="dev"), True, "user dev may not decide reviews"),
        ("dev", _claim("managers", started_by="ada"), False, "user dev may not decide reviews"),
    ],
)
def test_who_may_decide_a_review(user, claim, allow, error) -> None:
    access = UserAccess(Users())
    if error is None:
        access.check_may_decide(user, claim, allow_self_approval=allow)
    else:
        with pytest.raises(AccessError, match=error.replace("(", r"\(").replace(")", r"\)")):
            access.check_may_decide(user, claim, allow_self_approval=allow)


def test_users_are_cached_until_the_store_writes_or_they_are_forgotten() -> None:
    store = Users()
    access = UserAccess(store)
    access.user("rae")
    access.user("rae")
    assert store.reads == 1
    store.version += 1  # any write: the next look-up reads again
    access.user("rae")
    access.user("rae")
    assert store.reads == 2
    access.forget()
    access.user("rae")
    assert store.reads == 3


def test_a_name_not_found_is_read_again_so_a_user_added_later_is_seen() -> None:
    store = Users()
    access = UserAccess(store)
    with pytest.raises(AccessError, match="unknown user 'newbie'"):
        access.authorize_decider("newbie")
    assert access.user("newbie") is None
    assert store.reads == 2  # a miss is never cached
    store.users["newbie"] = {
        "name": "newbie",
        "roles": ["reviewer"],
        "teams": [],
        "disabled": False,
    }  # even without a version bump
    assert access.authorize_decider("newbie")["name"] == "newbie"


def test_a_user_disabled_or_demoted_after_being_cached_is_refused_at_once() -> None:
    store = Users()
    access = UserAccess(store)
    access.check_may_decide("rae", _claim("managers"), allow_self_approval=False)
    store.write("rae", disabled=True)
    with pytest.raises(AccessError, match="user rae is disabled"):
        access.check_may_decide("rae", _claim("managers"), allow_self_approval=False)
    store.write("rae", disabled=False, roles=["auditor"])
    with pytest.raises(AccessError, match="needs role reviewer"):
        access.authorize_decider("rae")
