"""Security item 6: sign-in.

The attacks: unlimited password guessing, a session cookie scripts can read (set from
JavaScript), a cookie that still signs in after sign-out, and no upper bound on its life.
Now failures are throttled per user and per address (runtime.auth, time injected), the
server sets the cookie HttpOnly, sign-out revokes it server-side, and it expires.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime.auth import (
    SessionTokens,
    SignInThrottle,
    SignInThrottled,
    add_user,
    session_lifetime,
    sign_in,
)
from runtime.errors import AccessError
from runtime.store import Store
from tests.serverutil import running_server


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------ throttling (runtime.auth)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "signin.duckdb")
    add_user(s, "dev", roles=["designer"], teams=[], password="right-password")
    add_user(s, "rae", roles=["reviewer"], teams=[], password="right-password")
    yield s
    s.close()


def _try(store: Store, throttle: SignInThrottle, name: str, password: str, address: str) -> str:
    try:
        sign_in(store, name, password, address=address, throttle=throttle)
    except SignInThrottled as exc:
        return f"throttled: {exc}"
    except AccessError as exc:
        return str(exc)
    return "ok"


def test_five_failures_lock_the_user_for_a_growing_delay_saying_when(store: Store) -> None:
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for i in range(5):
        assert _try(store, throttle, "dev", "guess", f"10.0.0.{i}") == (
            "unknown user or wrong password"
        )
    # locked: even the right password is not checked
    refused = _try(store, throttle, "dev", "right-password", "10.0.0.9")
    assert refused == (
        "throttled: too many failed sign-ins for user dev; try again in 60 seconds "
        "(after 08:01:00 UTC)"
    )
    # the delay doubles while the failures go on
    clock.now += 61
    for i in range(5):
        _try(store, throttle, "dev", "guess", f"10.0.1.{i}")
    with pytest.raises(SignInThrottled) as err:
        sign_in(store, "dev", "right-password", address="10.0.0.9", throttle=throttle)
    assert err.value.retry_after == 120
    assert "try again in 2 minutes" in str(err.value)
    clock.now += 121
    assert _try(store, throttle, "dev", "right-password", "10.0.0.9") == "ok"


def test_failures_are_counted_per_address_across_user_names(store: Store) -> None:
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for name in ("a", "b", "c", "dev", "rae"):
        _try(store, throttle, name, "guess", "10.9.9.9")
    assert "for address 10.9.9.9" in _try(store, throttle, "rae", "right-password", "10.9.9.9")
    assert _try(store, throttle, "rae", "right-password", "10.1.1.1") == "ok"


def test_failures_older_than_the_window_are_forgotten(store: Store) -> None:
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for _ in range(4):
        _try(store, throttle, "dev", "guess", "10.0.0.1")
    clock.now += 15 * 60 + 1
    _try(store, throttle, "dev", "guess", "10.0.0.1")
    assert _try(store, throttle, "dev", "right-password", "10.0.0.1") == "ok"


def test_the_throttle_remembers_a_bounded_number_of_keys() -> None:
    throttle = SignInThrottle(max_keys=100, clock=Clock())
    for i in range(1000):
        throttle.failed(f"user{i}", f"10.0.{i // 256}.{i % 256}")
    assert len(throttle) == 100


# ------------------------------------------------------------ session tokens


def test_tokens_expire_are_revoked_at_sign_out_and_tickets_work_once() -> None:
    clock = Clock()
    tokens = SessionTokens("s3cret", lifetime=3600, clock=clock)
    token = tokens.issue("dev")
    assert tokens.verify(token) == "dev"
    clock.now += 3601
    assert tokens.verify(token) is None  # an upper bound on its life
    token = tokens.issue("dev")
    tokens.revoke("dev")
    assert tokens.verify(token) is None  # revoked server-side
    assert tokens.verify(tokens.issue("dev")) == "dev"  # signing in again works
    ticket = tokens.ticket("rae")
    first = tokens.redeem(ticket)
    assert first is not None and tokens.verify(first) == "rae"
    assert tokens.redeem(ticket) is None  # once
    late = tokens.ticket("rae")
    clock.now += 61
    assert tokens.redeem(late) is None
    assert SessionTokens("other", clock=clock).verify(tokens.issue("dev")) is None


def test_the_session_lifetime_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPGATE_SESSION_HOURS", raising=False)
    assert session_lifetime() == 12 * 3600
    monkeypatch.setenv("LOOPGATE_SESSION_HOURS", "2")
    assert session_lifetime() == 2 * 3600
    monkeypatch.setenv("LOOPGATE_SESSION_HOURS", "100000")
    assert session_lifetime() == 7 * 24 * 3600


# ------------------------------------------------------------ through the server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("signin") / "loopgate.duckdb") as url:
        yield url


def test_the_server_sets_an_httponly_cookie_and_revokes_it_at_sign_out(server: str) -> None:
    signed = httpx.post(f"{server}/auth/session", json={"name": "rae", "password": "loopgate-demo"})
    assert signed.status_code == 200, signed.text
    assert signed.json() == {"user": "rae"}
    set_cookie = signed.headers["set-cookie"]
    assert set_cookie.startswith("lg_session=")
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in set_cookie.split(";")}
    assert "httponly" in flags
    assert flags["samesite"].lower() == "samesite=strict"
    assert flags["path"] == "Path=/"
    assert flags["max-age"] == f"Max-Age={12 * 3600}"
    cookie = signed.cookies["lg_session"]

    jar = {"lg_session": cookie}
    assert httpx.get(f"{server}/auth/session", cookies=jar).json() == {"user": "rae"}
    out = httpx.post(f"{server}/auth/signout", cookies=jar)
    assert out.status_code == 200 and out.json() == {"signed_out": "rae"}
    assert "Max-Age=0" in out.headers["set-cookie"]
    # the old cookie, replayed, no longer signs in
    again = httpx.get(f"{server}/auth/session", cookies=jar)
    assert again.status_code == 401 and again.json()["error"] == "not signed in"

    # a forged cookie, a used or unknown ticket, and a non-JSON post are refused
    forged = httpx.get(f"{server}/auth/session", cookies={"lg_session": "ada.0.9999999999.00"})
    assert forged.status_code == 401
    assert httpx.post(f"{server}/auth/session", json={"ticket": "nope"}).status_code == 401
    form = httpx.post(f"{server}/auth/session", data={"name": "rae", "password": "x"})
    assert form.status_code == 415


def test_the_server_throttles_repeated_failures(server: str) -> None:
    for _ in range(5):
        bad = httpx.post(f"{server}/auth/session", json={"name": "aud", "password": "guess"})
        assert bad.status_code == 401 and "wrong password" in bad.json()["error"]
    refused = httpx.post(
        f"{server}/auth/session", json={"name": "aud", "password": "loopgate-demo"}
    )
    assert refused.status_code == 429
    assert "too many failed sign-ins" in refused.json()["error"]
    assert "try again in" in refused.json()["error"]
    assert int(refused.headers["retry-after"]) > 0
    assert "set-cookie" not in refused.headers
