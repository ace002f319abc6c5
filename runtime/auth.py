"""Users, roles, teams, hashed passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from runtime.errors import AccessError, NotFoundError
from runtime.store import Store

Role = Literal["admin", "designer", "reviewer", "operator", "auditor"]
ROLES: tuple[str, ...] = ("admin", "designer", "reviewer", "operator", "auditor")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    if len(password) < 8:
        raise AccessError("a password needs at least 8 characters")
    return _hasher.hash(password)


def add_user(
    store: Store,
    name: str,
    *,
    roles: list[str],
    teams: list[str],
    password: str | None = None,
    display_name: str | None = None,
    by: str | None = None,
) -> None:
    """Create a user.

    Raises:
        AccessError: a bad name, an unknown role, or a short password.
        StoreError: the user exists.
    """
    if not _NAME.match(name):
        raise AccessError(f"user name {name!r} must be lower case letters, digits, '.', '_' or '-'")
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise AccessError(
            f"unknown role(s) {', '.join(bad) or '(none)'}; roles: {', '.join(ROLES)}"
        )
    if name == "system":
        raise AccessError("'system' is reserved for the deadline sweeper")
    store.create_user(
        name,
        password_hash=hash_password(password) if password else None,
        roles=roles,
        teams=teams,
        display_name=display_name,
        by=by,
    )


def authenticate(store: Store, name: str, password: str) -> dict[str, Any]:
    """The user, if the password is right.

    Raises:
        AccessError: unknown user, no password set, wrong password or disabled (one message
            for all, so the answer does not reveal which names exist).
    """
    user = store.get_user(name)
    failure = AccessError("unknown user or wrong password")
    if user is None or not user["password_hash"] or user["disabled"]:
        _hasher.hash("timing-equaliser")
        raise failure
    try:
        _hasher.verify(user["password_hash"], password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    if _hasher.check_needs_rehash(user["password_hash"]):
        store.update_user(name, password_hash=_hasher.hash(password))
    return user


def issue_token(store: Store, name: str) -> str:
    """A new API bearer token for a user (only its hash is stored; the old one stops working)."""
    token = "lg_" + secrets.token_urlsafe(32)
    store.update_user(name, token_hash=token_hash(token))
    return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(store: Store, token: str) -> dict[str, Any]:
    """The user a bearer token belongs to.

    Raises:
        AccessError: the token is unknown.
    """
    user = store.user_by_token_hash(token_hash(token))
    if user is None:
        raise AccessError("invalid API token")
    return user


def _existing(store: Store, name: str) -> dict[str, Any]:
    user = store.get_user(name)
    if user is None:
        raise NotFoundError(f"user {name} does not exist; see `loopgate users list`")
    return user


def revoke_token(store: Store, name: str) -> bool:
    """Revoke a user's API token (audited; no token is revealed).

    Returns:
        Whether the user held one.

    Raises:
        NotFoundError: there is no such user.
    """
    held = _existing(store, name)["token_hash"] is not None
    if held:
        store.update_user(name, token_hash=None)
    return held


def token_holders(store: Store) -> list[str]:
    """The names of the users who hold an API token (the tokens are never shown)."""
    return [u["name"] for u in store.list_users() if u.get("has_token")]


def set_disabled(store: Store, name: str, disabled: bool) -> bool:
    """Disable a user (no sign-in, no API token) or enable them again, audited.

    Returns:
        Whether anything changed.

    Raises:
        NotFoundError: there is no such user.
    """
    if bool(_existing(store, name)["disabled"]) == disabled:
        return False
    store.update_user(name, disabled=disabled)
    return True


def set_password(store: Store, name: str, password: str) -> None:
    """Change a user's sign-in password (audited without the hash).

    Raises:
        NotFoundError: there is no such user.
        AccessError: the password is too short.
    """
    _existing(store, name)
    store.update_user(name, password_hash=hash_password(password))
