"""Who a reviewer may hand their reviews to while away (names only, no account details)."""

from __future__ import annotations

from runtime import access
from runtime.access import User
from runtime.errors import AccessError
from runtime.store.contract import Store


def delegate_candidates(store: Store, user: User) -> list[str]:
    """The names of the users ``user`` may set as their out-of-office delegate: active
    reviewers (or admins) in every team of ``user`` (:func:`access.check_may_delegate`).

    Args:
        store: the store.
        user: the signed-in reviewer.

    Returns:
        Names, sorted.
    """
    names = []
    for other in store.list_users():
        try:
            access.check_may_delegate(user, user["name"], user, user["name"], other, other["name"])
        except AccessError:
            continue
        names.append(other["name"])
    return sorted(names)
