"""runtime.access: the one rule for who may see and decide what, for every role."""

from __future__ import annotations

import pytest

from runtime.access import (
    authorize,
    check_may_decide,
    may_see_review,
    require_reader,
    review_teams,
    sees_all_runs,
)
from runtime.errors import AccessError


def user(name: str, *roles: str, teams: tuple[str, ...] = (), disabled: bool = False) -> dict:
    return {"name": name, "roles": list(roles), "teams": list(teams), "disabled": disabled}


ADMIN = user("ada", "admin")
AUDITOR = user("aud", "auditor")
REVIEWER = user("rae", "reviewer", teams=("managers", "finance"))
LONER = user("lou", "reviewer")  # a reviewer in no team
DESIGNER = user("dev", "designer", "operator")
OPERATOR = user("ops", "operator")


# ---------------------------------------------------------------- authorize


def test_authorize_names_an_unknown_user_and_says_how_to_add_them() -> None:
    with pytest.raises(AccessError) as err:
        authorize(None, "zed", roles=("reviewer",), what="decide")
    assert str(err.value) == (
        "unknown user 'zed'; add them with `loopgate users add zed --role reviewer --team TEAM`"
    )


def test_authorize_refuses_a_disabled_user_even_an_admin() -> None:
    with pytest.raises(AccessError, match=r"^user ada is disabled$"):
        authorize({**ADMIN, "disabled": True}, "ada", roles=("admin",), what="x")


def test_an_admin_may_do_anything_for_any_team() -> None:
    assert authorize(ADMIN, "ada", roles=("designer",), what="train models", team="risk") is ADMIN


@pytest.mark.parametrize("who", [AUDITOR, REVIEWER, OPERATOR])
def test_authorize_names_the_roles_needed(who: dict) -> None:
    with pytest.raises(AccessError) as err:
        authorize(who, who["name"], roles=("admin", "designer"), what="train models")
    assert (
        str(err.value) == f"user {who['name']} may not train models (needs role admin or designer)"
    )


def test_authorize_passes_a_user_with_one_of_the_roles() -> None:
    assert authorize(DESIGNER, "dev", roles=("admin", "designer"), what="train models") is DESIGNER
    assert authorize(REVIEWER, "rae", roles=("reviewer",), what="decide", team="finance")


def test_authorize_checks_the_team() -> None:
    with pytest.raises(AccessError) as err:
        authorize(REVIEWER, "rae", roles=("reviewer",), what="decide", team="risk")
    assert (
        str(err.value) == "user rae may not decide for team risk (their teams: managers, finance)"
    )
    with pytest.raises(AccessError, match=r"\(their teams: none\)$"):
        authorize(LONER, "lou", roles=("reviewer",), what="decide", team="risk")


# ---------------------------------------------------------------- check_may_decide


def test_an_admin_may_decide_any_review() -> None:
    check_may_decide(ADMIN, review_id="rev_1", team="risk", started_by=None)


def test_a_reviewer_decides_the_reviews_of_their_teams_and_those_with_no_team() -> None:
    check_may_decide(REVIEWER, review_id="rev_1", team="managers", started_by=None)
    check_may_decide(REVIEWER, review_id="rev_1", team=None, started_by=None)
    with pytest.raises(AccessError) as err:
        check_may_decide(REVIEWER, review_id="rev_1", team="risk", started_by="rae")
    assert str(err.value) == (
        "user rae may not decide review rev_1: it belongs to team risk, and rae is in "
        "managers, finance"
    )
    with pytest.raises(AccessError, match=r"and lou is in no team$"):
        check_may_decide(LONER, review_id="rev_1", team="risk", started_by=None)


@pytest.mark.parametrize("who", [AUDITOR, DESIGNER, OPERATOR])
def test_a_non_reviewer_decides_only_reviews_of_runs_they_started(who: dict) -> None:
    name = who["name"]
    check_may_decide(who, review_id="rev_1", team="risk", started_by=name)
    with pytest.raises(AccessError) as err:
        check_may_decide(who, review_id="rev_1", team=None, started_by="someone-else")
    assert str(err.value) == f"user {name} may not decide review rev_1 (not a reviewer)"


# ---------------------------------------------------------------- what a user sees


@pytest.mark.parametrize(
    ("who", "all_runs", "teams"),
    [
        (ADMIN, True, None),
        (AUDITOR, True, None),
        (REVIEWER, False, ["managers", "finance"]),
        (LONER, False, []),
        (DESIGNER, False, []),
        (OPERATOR, False, []),
    ],
)
def test_admins_and_auditors_see_all_others_their_teams(
    who: dict, all_runs: bool, teams: list[str] | None
) -> None:
    assert sees_all_runs(who) is all_runs
    assert review_teams(who) == teams


def test_review_teams_is_a_copy() -> None:
    teams = review_teams(REVIEWER)
    assert teams is not None
    teams.append("risk")
    assert REVIEWER["teams"] == ["managers", "finance"]


@pytest.mark.parametrize("who", [ADMIN, AUDITOR])
def test_admins_and_auditors_see_every_review(who: dict) -> None:
    assert may_see_review(who, team="risk")


def test_others_see_reviews_of_their_teams_with_no_team_assigned_to_or_started_by_them() -> None:
    assert may_see_review(REVIEWER, team="finance")
    assert may_see_review(DESIGNER, team=None)
    assert not may_see_review(REVIEWER, team="risk")
    assert may_see_review(REVIEWER, team="risk", assignee="rae")
    assert may_see_review(DESIGNER, team="risk", started_by="dev")
    assert not may_see_review(OPERATOR, team="risk", assignee="rae", started_by="dev")


def test_require_reader_lets_the_local_caller_admins_auditors_and_the_roles_named() -> None:
    require_reader(None, roles=(), what="list users")
    require_reader(ADMIN, roles=(), what="list users")
    require_reader(AUDITOR, roles=(), what="list users")
    require_reader(OPERATOR, roles=("operator",), what="read the outbox")
    with pytest.raises(AccessError, match=r"^user rae may not list users \(needs role auditor\)$"):
        require_reader(REVIEWER, roles=(), what="list users")
    with pytest.raises(AccessError, match="disabled"):
        require_reader({**AUDITOR, "disabled": True}, roles=(), what="list users")


@pytest.mark.parametrize("name", ["mia", "admin", "nobody", "gone"])
@pytest.mark.parametrize(("roles", "team"), [(("reviewer",), None), (("reviewer",), "risk")])
def test_authorize_says_what_the_engine_says(
    engine, name: str, roles: tuple[str, ...], team: str | None
) -> None:
    from runtime.auth import add_user

    add_user(engine.store, "gone", roles=["reviewer"], teams=[])
    engine.store.update_user("gone", disabled=True)
    engine.forget_users()

    def outcome(check) -> str:
        try:
            return check()["name"]
        except AccessError as exc:
            return str(exc)

    record = engine.store.get_user(name)
    assert outcome(
        lambda: authorize(record, name, roles=roles, what="decide", team=team)
    ) == outcome(lambda: engine.authorize(name, roles=roles, what="decide", team=team))
