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
    signer = session.tokens()
    assert signer is not None
    token = signer.issue("dev")
    assert token.startswith("dev.")
    cookie["value"] = token
    assert session._from_cookie() == "dev"


def test_forged_expired_revoked_or_malformed_cookies_are_refused(
    cookie: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = session.tokens()
    assert signer is not None
    _, generation, expiry, sig = signer.issue("dev").split(".")
    for value in (
        f"ada.{generation}.{expiry}.{sig}",  # another user under dev's signature
        f"dev.{generation}.{int(expiry) + 1}.{sig}",  # a longer life
        f"dev.{generation}.{expiry}.{'0' * len(sig)}",
        f"dev.{generation}.soon." + signer._sign(f"dev.{generation}.soon"),
        "no-dots",
        "",
        None,
    ):
        cookie["value"] = value
        assert session._from_cookie() is None, value
    past = f"dev.{generation}.{int(time.time()) - 1}"
    cookie["value"] = f"{past}.{signer._sign(past)}"
    assert session._from_cookie() is None
    cookie["value"] = signer.issue("dev")
    signer.revoke("dev")  # signed out: every earlier cookie of dev stops working
    assert session._from_cookie() is None
    # another server (another secret) does not accept this one's cookies
    cookie["value"] = signer.issue("dev")
    monkeypatch.setattr(resources, "_secret", "other")
    assert session._from_cookie() is None


def test_without_a_server_secret_there_is_no_cookie(
    cookie: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = session.tokens()
    assert signer is not None
    cookie["value"] = signer.issue("dev")
    monkeypatch.setattr(resources, "_secret", None)
    assert session.tokens() is None
    assert session._from_cookie() is None
