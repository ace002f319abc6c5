"""Roles and the signed session cookie: made with the server's secret, refused when forged."""

from __future__ import annotations

import time

import pytest

from builder.shell import resources, session
from builder.shell.session import has_role


def test_has_role() -> None:
    designer = {"roles": ["designer", "operator"]}
    assert has_role(designer, "designer")
    assert has_role(designer, "reviewer", "operator")
    assert not has_role(designer, "reviewer")
    assert not has_role(designer)
    assert has_role({"roles": ["admin"]}, "reviewer")
    assert has_role({"roles": ["admin"]})


@pytest.fixture
def cookie(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """The browser's session cookie, as the tests set it; the server's secret set."""
    jar: dict[str, str | None] = {"value": None}
    monkeypatch.setattr(resources, "_secret", "s3cret")
    monkeypatch.setattr(session, "_browser_cookie", lambda: jar["value"])
    return jar


def test_a_signed_cookie_names_its_user(cookie: dict[str, str | None]) -> None:
    token = session._token("dev")
    assert token is not None and token.startswith("dev.")
    cookie["value"] = token
    assert session._from_cookie() == "dev"


def test_forged_expired_or_malformed_cookies_are_refused(
    cookie: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, expiry, sig = session._token("dev").split(".")
    for value in (
        f"ada.{expiry}.{sig}",  # another user under dev's signature
        f"dev.{int(expiry) + 1}.{sig}",  # a longer life
        f"dev.{expiry}.{'0' * len(sig)}",
        "dev.soon." + (session._sign("dev.soon") or ""),
        "no-dots",
        "",
        None,
    ):
        cookie["value"] = value
        assert session._from_cookie() is None, value
    past = f"dev.{int(time.time()) - 1}"
    cookie["value"] = f"{past}.{session._sign(past)}"
    assert session._from_cookie() is None
    # another server (another secret) does not accept this one's cookies
    cookie["value"] = session._token("dev")
    monkeypatch.setattr(resources, "_secret", "other")
    assert session._from_cookie() is None


def test_without_a_server_secret_there_is_no_cookie(
    cookie: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = session._token("dev")
    monkeypatch.setattr(resources, "_secret", None)
    assert session._token("dev") is None
    cookie["value"] = token
    assert session._from_cookie() is None
