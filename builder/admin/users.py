"""Admin: users listed; disabled or enabled, passwords set, API tokens revoked or issued.

The actions (:func:`set_disabled`, :func:`change_password`, :func:`revoke_token`,
:func:`issue_token`) are plain Python over the store: each checks in runtime terms that the
acting user is an enabled admin before it writes, and writes through the same
``runtime.auth`` functions as ``loopgate users`` (audited by the store). The widgets below
them own the session-state keys starting ``adm_``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.shell import resources
from runtime import auth
from runtime.access import User, authorize
from runtime.errors import AccessError, LoopgateError
from runtime.queries import catalog
from runtime.store import Store

_MSG = "adm_msg"  # (kind, text): the last action's outcome, shown until the next action
_ISSUED = "adm_issued"  # (name, token): a token just issued, shown until the next action
_PICK = "adm_user"
_PW, _PW2 = "adm_pw", "adm_pw2"


def _admin(store: Store, actor: str) -> User:
    """The acting user's record, if they are an enabled admin (re-read from the store)."""
    return authorize(store.get_user(actor), actor, roles=("admin",), what="manage users")


def set_disabled(store: Store, actor: str, name: str, disabled: bool) -> str:
    """Disable or enable a user.

    Raises:
        AccessError: the actor is no admin, or an admin disabling themselves.
        NotFoundError: no such user.
    """
    _admin(store, actor)
    if disabled and name == actor:
        raise AccessError("you cannot disable yourself; ask another admin to do it")
    verb = "disabled" if disabled else "enabled"
    changed = auth.set_disabled(store, name, disabled, by=actor)
    return f"User {name} {verb}." if changed else f"User {name} was already {verb}."


def change_password(store: Store, actor: str, name: str, password: str, again: str) -> str:
    """Set a user's sign-in password, typed twice.

    Raises:
        AccessError: the actor is no admin, or the password is too short.
        ValueError: the two passwords differ or none was given.
        NotFoundError: no such user.
    """
    _admin(store, actor)
    if not password:
        raise ValueError(f"password of {name} not changed: type a new password")
    if password != again:
        raise ValueError(
            f"password of {name} not changed: the two passwords differ; type the same one twice"
        )
    try:
        auth.set_password(store, name, password, by=actor)
    except AccessError as exc:
        raise AccessError(f"password of {name} not changed: {exc}") from None
    return f"Password of {name} changed."


def revoke_token(store: Store, actor: str, name: str) -> str:
    """Revoke a user's API token.

    Raises:
        AccessError: the actor is no admin.
        NotFoundError: no such user.
    """
    _admin(store, actor)
    if auth.revoke_token(store, name, by=actor):
        return f"API token of {name} revoked."
    return f"{name} held no API token; nothing to revoke."


def issue_token(store: Store, actor: str, name: str) -> str:
    """A new API token for a user (the old one stops working); only its hash is stored.

    Raises:
        AccessError: the actor is no admin, or the user is disabled.
        NotFoundError: no such user.
    """
    _admin(store, actor)
    target = store.get_user(name)
    if target is not None and target["disabled"]:
        raise AccessError(f"{name} is disabled; enable them before issuing a token")
    return auth.issue_token(store, name, by=actor)


# ---------------------------------------------------------------- widgets


def user_rows(user: User) -> list[dict[str, Any]]:
    """The users as the table shows them (no secrets)."""
    return [
        {
            "name": u["name"],
            "display name": u["display_name"] or "",
            "roles": ", ".join(u["roles"]),
            "teams": ", ".join(u["teams"]),
            "disabled": bool(u["disabled"]),
            "API token": bool(u.get("has_token")),
        }
        for u in catalog.list_users(resources.engine().store, user)
    ]


def _run(action: Any, *args: Any) -> None:
    """Run an action for a button callback; keep its outcome for the next render."""
    st.session_state.pop(_ISSUED, None)
    try:
        st.session_state[_MSG] = ("success", action(resources.engine().store, *args))
    except (LoopgateError, ValueError) as exc:
        st.session_state[_MSG] = ("error", str(exc))


def _issue(actor: str, name: str) -> None:
    _run(issue_token, actor, name)
    kind, token = st.session_state[_MSG]
    if kind == "success":
        st.session_state[_ISSUED] = (name, token)
        st.session_state[_MSG] = ("success", f"New API token issued for {name}.")


def _password(actor: str, name: str) -> None:
    _run(
        change_password, actor, name, st.session_state.get(_PW, ""), st.session_state.get(_PW2, "")
    )
    st.session_state[_PW] = st.session_state[_PW2] = ""


def outcome() -> None:
    """The last action's message and a token just issued, until the next action."""
    kind, text = st.session_state.get(_MSG, (None, None))
    if kind:
        (st.success if kind == "success" else st.error)(text)
    if _ISSUED in st.session_state:
        name, token = st.session_state[_ISSUED]
        st.code(token, language=None)
        st.warning(
            f"Copy the API token of {name} now: it will not be shown again "
            "(only its hash is stored)."
        )


def users_table(user: User) -> list[dict[str, Any]]:
    """The table of users; returns its rows."""
    rows = user_rows(user)
    st.dataframe(rows, hide_index=True, width="stretch")
    return rows


def user_actions(user: User, rows: list[dict[str, Any]]) -> None:
    """Pick a user; disable or enable, set a password, revoke or issue a token."""
    actor = user["name"]
    names = [r["name"] for r in rows]
    name = st.selectbox("User", names, key=_PICK)
    row = next((r for r in rows if r["name"] == name), None)
    if row is None:
        return
    left, right = st.columns(2)
    with left:
        st.markdown("**Access**")
        if row["disabled"]:
            st.button(
                "Enable", key="adm_enable", on_click=_run, args=(set_disabled, actor, name, False)
            )
        elif name == actor:
            st.button("Disable", key="adm_disable", disabled=True)
            st.caption("You cannot disable yourself; another admin can.")
        else:
            st.button(
                "Disable", key="adm_disable", on_click=_run, args=(set_disabled, actor, name, True)
            )
        st.markdown("**API token**")
        st.button(
            "Revoke token",
            key="adm_revoke",
            disabled=not row["API token"],
            on_click=_run,
            args=(revoke_token, actor, name),
        )
        st.button(
            "Issue new token" if row["API token"] else "Issue token",
            key="adm_issue",
            disabled=row["disabled"],
            on_click=_issue,
            args=(actor, name),
            help="The old token stops working; the new one is shown once.",
        )
    with right, st.form("adm_pw_form", clear_on_submit=False):
        st.markdown(f"**New password for {name}**")
        st.text_input("New password", type="password", key=_PW)
        st.text_input("New password again", type="password", key=_PW2)
        st.form_submit_button("Set password", on_click=_password, args=(actor, name))
