"""The Admin page's actions: only enabled admins write, through runtime.auth, audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.admin import users
from runtime import open_engine
from runtime.auth import authenticate, user_for_token
from runtime.errors import AccessError, NotFoundError
from runtime.seed import DEMO_PASSWORD, seed_demo
from runtime.store import Store


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    engine = open_engine(str(tmp_path / "admin.duckdb"))
    seed_demo(engine)
    yield engine.store
    engine.store.close()


@pytest.mark.parametrize(
    "action",
    [
        lambda s: users.set_disabled(s, "dev", "rae", True),
        lambda s: users.change_password(s, "dev", "rae", "a-long-password", "a-long-password"),
        lambda s: users.revoke_token(s, "dev", "rae"),
        lambda s: users.issue_token(s, "dev", "rae"),
        lambda s: users.issue_token(s, "nobody", "rae"),
    ],
)
def test_only_admins_may_act(store: Store, action) -> None:
    with pytest.raises(AccessError, match=r"may not manage users|unknown user"):
        action(store)
    rae = store.get_user("rae")
    assert not rae["disabled"] and rae["token_hash"] is None
    authenticate(store, "rae", DEMO_PASSWORD)


def test_a_disabled_admin_may_not_act(store: Store) -> None:
    store.update_user("ada", disabled=True)
    with pytest.raises(AccessError, match="disabled"):
        users.set_disabled(store, "ada", "rae", True)


def test_disable_and_enable_audited(store: Store) -> None:
    assert users.set_disabled(store, "ada", "rae", True) == "User rae disabled."
    assert store.get_user("rae")["disabled"]
    assert "already" in users.set_disabled(store, "ada", "rae", True)
    assert users.set_disabled(store, "ada", "rae", False) == "User rae enabled."
    assert not store.get_user("rae")["disabled"]
    changes = store.audit_events(kind="user.updated")
    assert [e["data"].get("disabled") for e in changes[:2]] == [False, True]
    assert {e["actor"] for e in changes[:2]} == {"ada"}  # who did it, not just what


def test_an_admin_cannot_disable_themselves(store: Store) -> None:
    with pytest.raises(AccessError, match="cannot disable yourself"):
        users.set_disabled(store, "ada", "ada", True)
    assert not store.get_user("ada")["disabled"]


def test_password_mismatch_short_and_right(store: Store) -> None:
    before = store.get_user("rae")["password_hash"]
    with pytest.raises(ValueError, match="differ"):
        users.change_password(store, "ada", "rae", "new-password-1", "new-password-2")
    with pytest.raises(AccessError, match="at least 8 characters"):
        users.change_password(store, "ada", "rae", "short", "short")
    assert store.get_user("rae")["password_hash"] == before
    assert users.change_password(store, "ada", "rae", "new-password-1", "new-password-1")
    authenticate(store, "rae", "new-password-1")
    with pytest.raises(NotFoundError):
        users.change_password(store, "ada", "ghost", "new-password-1", "new-password-1")


def test_issue_and_revoke_token(store: Store) -> None:
    token = users.issue_token(store, "ada", "rae")
    assert user_for_token(store, token)["name"] == "rae"
    assert users.revoke_token(store, "ada", "rae") == "API token of rae revoked."
    with pytest.raises(AccessError):
        user_for_token(store, token)
    assert "nothing to revoke" in users.revoke_token(store, "ada", "rae")
    users.set_disabled(store, "ada", "rae", True)
    with pytest.raises(AccessError, match="enable them"):
        users.issue_token(store, "ada", "rae")
