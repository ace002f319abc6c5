"""runtime.access: the one rule for who may see and decide what, for every role."""

from __future__ import annotations

import pytest

from runtime.access import (
    authorize,
    authorize_decider,
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


def decide(who: dict | None, name: str | None = None, **review) -> str | None:
    """None when ``who`` may decide the review, else the refusal's message."""
    args = {
        "review_id": "rev_1",
        "node_id": "check",
        "run_id": "run_1",
        "team": None,
        "assignee": None,
        "started_by": "ops",
        **review,
    }
    try:
        check_may_decide(who, name or (who or {}).get("name", "?"), **args)
    except AccessError as exc:
        return str(exc)
    return None


DISABLED = user("old", "admin", "reviewer", teams=("risk",), disabled=True)
OTHER_TEAM = user("rio", "reviewer", teams=("risk",))


@pytest.mark.parametrize(
    ("who", "team", "assignee", "refusal"),
    [
        (ADMIN, "risk", None, None),
        (ADMIN, None, None, None),
        (REVIEWER, "managers", None, None),
        (REVIEWER, None, None, None),
        (REVIEWER, "risk", "rae", None),  # assigned to them
        (LONER, None, None, None),
        (
            OTHER_TEAM,
            "managers",
            None,
            "user rio may not decide review rev_1: it belongs to team managers, rio is in risk "
            "and it is not assigned to rio",
        ),
        (LONER, "risk", None, "lou is in no team and it is not assigned to lou"),
        (LONER, "risk", "rae", "it is not assigned to lou"),
        (AUDITOR, None, None, "user aud may not decide reviews (needs role reviewer)"),
        (DESIGNER, None, None, "user dev may not decide reviews (needs role reviewer)"),
        (OPERATOR, None, "ops", "user ops may not decide reviews (needs role reviewer)"),
        (DESIGNER, "risk", "dev", "user dev may not decide reviews (needs role reviewer)"),
        (DISABLED, "risk", None, "user old is disabled"),
    ],
)
def test_who_may_decide_a_review_they_did_not_start(
    who: dict, team: str | None, assignee: str | None, refusal: str | None
) -> None:
    outcome = decide(who, team=team, assignee=assignee, started_by="someone-else")
    if refusal is None:
        assert outcome is None
    else:
        assert outcome is not None and refusal in outcome, outcome


def test_an_unknown_user_and_system_decide_nothing() -> None:
    assert decide(None, "zed") == (
        "unknown user 'zed'; add them with `loopgate users add zed --role reviewer --team TEAM`"
    )
    assert decide(None, "system") == "'system' is reserved for deadlines; decide as a user"
    assert decide(ADMIN, "system") == "'system' is reserved for deadlines; decide as a user"


@pytest.mark.parametrize("who", [ADMIN, REVIEWER, LONER, OTHER_TEAM, DESIGNER, OPERATOR, AUDITOR])
def test_whoever_started_the_run_does_not_decide_its_review_whatever_their_role(
    who: dict,
) -> None:
    name = who["name"]
    for team, assignee in ((None, None), ("managers", None), ("risk", name)):
        assert decide(who, team=team, assignee=assignee, started_by=name) == (
            f"{name} started run run_1 and may not decide its review rev_1 at node check; "
            "the checkpoint does not allow self-approval (allow_self_approval)"
        )


def test_a_checkpoint_that_allows_self_approval_lets_the_starter_decide_if_they_may() -> None:
    allow = {"allow_self_approval": True}
    assert decide(ADMIN, team="risk", started_by="ada", **allow) is None
    assert decide(REVIEWER, team="managers", started_by="rae", **allow) is None
    # the role and team rules still hold
    assert "needs role reviewer" in decide(DESIGNER, started_by="dev", **allow)
    assert "belongs to team managers" in decide(
        OTHER_TEAM, team="managers", started_by="rio", **allow
    )


def test_authorize_decider_needs_the_reviewer_or_admin_role() -> None:
    assert authorize_decider(ADMIN, "ada") is ADMIN
    assert authorize_decider(LONER, "lou") is LONER
    for who in (AUDITOR, DESIGNER, OPERATOR):
        with pytest.raises(AccessError, match=r"needs role reviewer\)$"):
            authorize_decider(who, who["name"])


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
