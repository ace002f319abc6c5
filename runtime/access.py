"""Who may see and decide what: the one access rule, as pure functions over a user record.

A user record is the dict ``Store.get_user(name)`` returns: at least ``name``, ``roles``
(a list), ``teams`` (a list) and ``disabled``. Nothing here reads the store; callers look
the user up and pass the record in, so the engine, the query layer, the CLI, the API and
the pages all apply the same rule.

Roles: ``admin`` may do and see everything; ``auditor`` may see everything and decide
nothing; ``reviewer`` sees and decides the reviews of their teams, those assigned to them and
those with no team; ``designer`` and ``operator`` see what they started and decide nothing.

Separation of duties: whoever started a run does not decide its review, whatever their
role (admins included), unless the checkpoint sets ``allow_self_approval``.
"""

from __future__ import annotations

from typing import Any

from runtime.errors import AccessError, ReviewClaimedError

User = dict[str, Any]
"""A user record as ``Store.get_user`` returns it (``name``, ``roles``, ``teams``, ...)."""

SEES_ALL = frozenset({"admin", "auditor"})
"""Roles that may read every run and review."""

DECIDE_ROLES = ("reviewer",)
"""Roles that may decide reviews (admins may too)."""

SYSTEM = "system"
"""The actor of deadlines; reserved, no person decides as it."""


def authorize(
    user: User | None, name: str, *, roles: tuple[str, ...], what: str, team: str | None = None
) -> User:
    """Check a user may act; role and team checks live here, not in the UI.

    Admins may do anything. Anyone else needs one of ``roles`` and, when ``team`` is
    given, to be in that team.

    Args:
        user: the user record, or None if there is no user of that name.
        name: the name the caller gave (used in the messages, also when ``user`` is None).
        roles: the roles that may do it (any one suffices).
        what: what the user wants to do, for the message ("train models").
        team: the team the action belongs to, if any.

    Returns:
        The user record, for the caller to use.

    Raises:
        AccessError: unknown or disabled user, wrong role or team.
    """
    if user is None:
        raise AccessError(
            f"unknown user {name!r}; add them with `loopgate users add {name} --role reviewer "
            "--team TEAM`"
        )
    if user["disabled"]:
        raise AccessError(f"user {name} is disabled")
    user_roles = set(user["roles"])
    if "admin" in user_roles:
        return user
    if not user_roles.intersection(roles):
        raise AccessError(f"user {name} may not {what} (needs role {' or '.join(roles)})")
    if team and team not in user["teams"]:
        teams = ", ".join(user["teams"]) or "none"
        raise AccessError(f"user {name} may not {what} for team {team} (their teams: {teams})")
    return user


def authorize_decider(user: User | None, name: str) -> User:
    """Check a user may decide reviews at all: a reviewer or an admin, not disabled.

    Args:
        user: the user record, or None if there is no user of that name.
        name: the name the caller gave.

    Returns:
        The user record.

    Raises:
        AccessError: ``system``, an unknown or disabled user, or neither reviewer nor admin.
    """
    if name == SYSTEM:
        raise AccessError("'system' is reserved for deadlines; decide as a user")
    return authorize(user, name, roles=DECIDE_ROLES, what="decide reviews")


def check_may_decide(
    user: User | None,
    name: str,
    *,
    review_id: str,
    node_id: str,
    run_id: str,
    team: str | None,
    assignee: str | None,
    started_by: str | None,
    allow_self_approval: bool = False,
) -> User:
    """Check a user may decide one review (separation of duties).

    The person who started the review's run may not decide it, whatever their role,
    unless the checkpoint allows self-approval. Beyond that, deciding needs the reviewer
    or admin role; a reviewer decides the reviews of their teams, those assigned to them
    and those with no team; an admin any review.

    Args:
        user: the deciding user's record, or None if there is no such user.
        name: the name the caller gave.
        review_id: the review, for the message.
        node_id: the checkpoint the review waits at, for the message.
        run_id: the review's run, for the message.
        team: the review's team, if any.
        assignee: the user the review is assigned to, if any.
        started_by: who started the review's run, if known.
        allow_self_approval: the checkpoint's ``allow_self_approval`` parameter.

    Returns:
        The user record.

    Raises:
        AccessError: the user may not decide this review (names who, which review and why).
    """
    if started_by is not None and started_by == name and not allow_self_approval:
        raise AccessError(
            f"{name} started run {run_id} and may not decide its review {review_id} at node "
            f"{node_id}; the checkpoint does not allow self-approval (allow_self_approval)"
        )
    user = authorize_decider(user, name)
    if "admin" in user["roles"]:
        return user
    if team and team not in user["teams"] and assignee != name:
        raise AccessError(
            f"user {name} may not decide review {review_id}: it belongs to team {team}, "
            f"{name} is in {', '.join(user['teams']) or 'no team'} and it is not assigned "
            f"to {name}"
        )
    return user


def check_may_assign(
    user: User, name: str, *, review_id: str, holder: str | None, assignee: str | None
) -> None:
    """Check a claim, release or reassignment of a review ("assign to me").

    The caller has already checked that ``name`` may decide the review
    (:func:`check_may_decide`). A reviewer claims a review nobody holds (or one they hold)
    and releases one they hold; an admin may also take a review someone else holds, assign
    it to another user (who must be allowed to decide it) and release anyone's.

    Args:
        user: the acting user's record.
        name: the acting user's name.
        review_id: the review, for the messages.
        holder: who holds the review now (its assignee), if anyone.
        assignee: who should hold it after (None: release it).

    Raises:
        ReviewClaimedError: a claim on a review someone else holds (names the holder).
        AccessError: a release by someone who does not hold it, or an assignment to
            another user, by anyone but an admin.
    """
    if "admin" in user["roles"]:
        return
    if assignee is None:
        if holder not in (None, name):
            raise AccessError(
                f"review {review_id} is claimed by {holder}; only {holder} or an admin may "
                "release it (nothing was changed)"
            )
        return
    if assignee != name:
        raise AccessError(
            f"user {name} may not assign review {review_id} to {assignee}: only an admin "
            f"assigns reviews to others; claim it for yourself instead"
        )
    if holder not in (None, name):
        raise ReviewClaimedError(review_id, holder)


def check_may_delegate(
    actor: User, actor_name: str, user: User | None, name: str, delegate: User | None, to: str
) -> None:
    """Check ``actor_name`` may hand ``name``'s reviews to ``to`` for a while.

    A reviewer sets their own delegation, an admin anyone's. The delegate must be able to
    decide what ``name`` decides: an active reviewer or admin, other than ``name``, in every
    team of ``name`` (an admin is in all).

    Raises:
        AccessError: names who may not do what, and what to do instead.
    """
    if "admin" not in actor["roles"] and actor_name != name:
        raise AccessError(
            f"user {actor_name} may not set {name}'s delegation: only {name} or an admin may"
        )
    if user is None:
        raise AccessError(f"unknown user {name!r}; list users with `loopgate users list`")
    if to == name:
        raise AccessError(f"{name} cannot delegate to themselves; name another reviewer")
    if to == SYSTEM:
        raise AccessError("'system' is reserved for deadlines; delegate to a reviewer")
    authorize(delegate, to, roles=DECIDE_ROLES, what="take delegated reviews")
    assert delegate is not None  # authorize refuses an unknown delegate
    if "admin" in delegate["roles"]:
        return
    missing = [t for t in user["teams"] if t not in delegate["teams"]]
    if missing:
        raise AccessError(
            f"{to} cannot decide {name}'s reviews: not in team(s) {', '.join(missing)}; "
            f"pick a delegate in {name}'s teams or add {to} to them"
        )


def sees_all_runs(user: User) -> bool:
    """Whether a user may read every run and review (admins and auditors).

    Args:
        user: the user record.

    Returns:
        True for an admin or an auditor.
    """
    return bool(SEES_ALL.intersection(user["roles"]))


def review_teams(user: User) -> list[str] | None:
    """The teams whose reviews a user may see.

    Every user also sees the reviews with no team. Admins and auditors see all reviews.

    Args:
        user: the user record.

    Returns:
        None for "every team" (admin, auditor), else the user's teams (maybe empty).
    """
    return None if sees_all_runs(user) else list(user["teams"])


def may_see_review(
    user: User, *, team: str | None, assignee: str | None = None, started_by: str | None = None
) -> bool:
    """Whether a user may see one review.

    A user sees a review if they see everything (admin, auditor), if it has no team or
    one of their teams, if it is assigned to them, or if they started its run (seeing is
    not deciding: see :func:`check_may_decide`).

    Args:
        user: the user record.
        team: the review's team, if any.
        assignee: the user the review is assigned to, if any.
        started_by: who started the review's run, if known.

    Returns:
        True if the user may see the review.
    """
    if sees_all_runs(user) or not team or team in user["teams"]:
        return True
    return user["name"] in (assignee, started_by)


def require_reader(user: User | None, *, roles: tuple[str, ...], what: str) -> None:
    """Check a signed-in user may read something only some roles may read.

    Auditors read everything, so they always pass, as do admins. ``None`` is the local
    trusted caller (the CLI on its own database file) and always passes too.

    Args:
        user: the user record, or None for the local trusted caller.
        roles: the roles that may read it, besides admin and auditor.
        what: what is being read, for the message ("list users").

    Raises:
        AccessError: the user is disabled or has none of the roles.
    """
    if user is None:
        return
    authorize(user, user["name"], roles=(*roles, "auditor"), what=what)
