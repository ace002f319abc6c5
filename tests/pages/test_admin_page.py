"""The Admin page through Streamlit's AppTest: admins only; actions write and say so."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.admin import users
from builder.shell import resources
from runtime.errors import AccessError

ROOT = Path(__file__).resolve().parents[2]


def admin_page(user: str = "ada") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lg_user"] = user
    at.run()
    at.switch_page("pages/admin.py").run()
    assert not at.exception, at.exception
    return at


def _user(name: str) -> dict:
    return resources.engine().store.get_user(name)


def _table(at: AppTest) -> dict[str, dict]:
    return {r["name"]: r for r in at.dataframe[0].value.to_dict("records")}


def test_ada_disables_rae(seeded: None) -> None:
    at = admin_page()
    assert not _table(at)["rae"]["disabled"]
    at.selectbox(key="adm_user").select("rae").run()
    at.button(key="adm_disable").click().run()
    assert not at.exception
    assert _user("rae")["disabled"]
    assert [s.value for s in at.success] == ["User rae disabled."]
    assert _table(at)["rae"]["disabled"]
    # the message stays across an unrelated rerun, the button turned into Enable
    at.run()
    assert [s.value for s in at.success] == ["User rae disabled."]
    at.button(key="adm_enable").click().run()
    assert not _user("rae")["disabled"]


def test_ada_cannot_disable_herself(seeded: None) -> None:
    at = admin_page()
    at.selectbox(key="adm_user").select("ada").run()
    assert at.button(key="adm_disable").disabled
    assert any("cannot disable yourself" in c.value for c in at.caption)


def test_password_mismatch_shows_the_error_and_changes_nothing(seeded: None) -> None:
    before = _user("rae")["password_hash"]
    at = admin_page()
    at.selectbox(key="adm_user").select("rae").run()
    at.text_input(key="adm_pw").input("new-password-1")
    at.text_input(key="adm_pw2").input("new-password-2")
    at.button(key="FormSubmitter:adm_pw_form-Set password").click().run()
    assert not at.exception
    assert any("the two passwords differ" in e.value for e in at.error)
    assert _user("rae")["password_hash"] == before
    at.text_input(key="adm_pw").input("short")
    at.text_input(key="adm_pw2").input("short")
    at.button(key="FormSubmitter:adm_pw_form-Set password").click().run()
    assert any("at least 8 characters" in e.value for e in at.error)
    assert _user("rae")["password_hash"] == before


def test_issue_shows_the_token_once_and_revoke_removes_it(seeded: None) -> None:
    at = admin_page()
    at.selectbox(key="adm_user").select("rae").run()
    at.button(key="adm_issue").click().run()
    assert _user("rae")["token_hash"] is not None
    assert _table(at)["rae"]["API token"]
    assert at.code[0].value.startswith("lg_")
    assert any("will not be shown again" in w.value for w in at.warning)
    at.button(key="adm_revoke").click().run()
    assert _user("rae")["token_hash"] is None
    assert [s.value for s in at.success] == ["API token of rae revoked."]
    assert not at.code and not _table(at)["rae"]["API token"]


def test_dev_gets_no_admin_page_and_may_not_act(seeded: None) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lg_user"] = "dev"
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/admin.py")
    # opened directly, the page refuses too
    page = AppTest.from_file(str(ROOT / "pages" / "admin.py"), default_timeout=30)
    page.session_state["lg_user"] = "dev"
    page.run()
    assert any("needs the role admin" in e.value for e in page.error)
    assert not page.dataframe
    # and the action itself refuses in runtime terms
    with pytest.raises(AccessError, match="may not manage users"):
        users.set_disabled(resources.engine().store, "dev", "rae", True)
    assert not _user("rae")["disabled"]
