"""Users, roles, teams, hashed passwords, API tokens, sign-in throttling and session tokens."""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
        store.update_user(name, by=name, password_hash=_hasher.hash(password))
    return user


def issue_token(store: Store, name: str, *, by: str | None = None) -> str:
    """A new API bearer token for a user (only its hash is stored; the old one stops working);
    ``by`` is who issued it, for the audit trail."""
    token = "lg_" + secrets.token_urlsafe(32)
    store.update_user(name, by=by, token_hash=token_hash(token))
    return token


def token_hash(token: str) -> str:
    """What the store keeps of an API token: its SHA-256, hex."""
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


def revoke_token(store: Store, name: str, *, by: str | None = None) -> bool:
    """Revoke a user's API token (audited; no token is revealed).

    Returns:
        Whether the user held one.

    Raises:
        NotFoundError: there is no such user.
    """
    held = _existing(store, name)["token_hash"] is not None
    if held:
        store.update_user(name, by=by, token_hash=None)
    return held


def token_holders(store: Store) -> list[str]:
    """The names of the users who hold an API token (the tokens are never shown)."""
    return [u["name"] for u in store.list_users() if u.get("has_token")]


def set_disabled(store: Store, name: str, disabled: bool, *, by: str | None = None) -> bool:
    """Disable a user (no sign-in, no API token) or enable them again, audited.

    Returns:
        Whether anything changed.

    Raises:
        NotFoundError: there is no such user.
    """
    if bool(_existing(store, name)["disabled"]) == disabled:
        return False
    store.update_user(name, by=by, disabled=disabled)
    return True


def set_password(store: Store, name: str, password: str, *, by: str | None = None) -> None:
    """Change a user's sign-in password (audited without the hash).

    Raises:
        NotFoundError: there is no such user.
        AccessError: the password is too short.
    """
    _existing(store, name)
    store.update_user(name, by=by, password_hash=hash_password(password))


# ---------------------------------------------------------------- sign-in throttling

SESSION_HOURS_ENV = "LOOPGATE_SESSION_HOURS"
DEFAULT_SESSION_HOURS = 12.0


def session_lifetime() -> float:
    """Seconds a sign-in lasts at most ($LOOPGATE_SESSION_HOURS, default 12 h; at most 7 d)."""
    text = os.environ.get(SESSION_HOURS_ENV, "").strip()
    try:
        hours = float(text) if text else DEFAULT_SESSION_HOURS
    except ValueError:
        hours = DEFAULT_SESSION_HOURS
    if not math.isfinite(hours) or hours <= 0:
        hours = DEFAULT_SESSION_HOURS
    return min(hours, 7 * 24) * 3600


class SignInThrottled(AccessError):
    """Too many failed sign-ins for a user name or from an address; says when to retry.

    Attributes:
        retry_after: seconds until the next attempt is considered.
    """

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(slots=True)
class _Failures:
    times: deque[float] = field(default_factory=deque)  # failures within the window
    locked_until: float = 0.0
    lockouts: int = 0  # lockouts in a row: each doubles the delay
    last: float = 0.0


class SignInThrottle:
    """Counts failed sign-ins per user name and per client address, in memory.

    After ``max_failures`` failures within ``window`` seconds for one key, the key is
    refused for ``base_delay`` seconds, doubling with each lockout in a row up to
    ``max_delay``; a quiet ``window`` after the last failure forgets the key. During a
    lockout the password is not even checked, so guessing stops.

    Why in memory and not in the store: one server process serves sign-in (the embedded
    DuckDB file is held by one process), failures are short-lived, and writing each failed
    attempt to the database would let an anonymous caller grow the file and the audit
    trail at will. A restart forgets the counters, which needs local access anyway. The
    structure is bounded: at most ``max_keys`` keys, the least recently seen dropped first.

    Args:
        max_failures: failures within ``window`` that lock a key.
        window: seconds the failures are counted over.
        base_delay: seconds of the first lockout.
        max_delay: the longest lockout.
        max_keys: at most this many user names and addresses are remembered.
        clock: seconds now (injected by tests).
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window: float = 15 * 60,
        base_delay: float = 60,
        max_delay: float = 3600,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.time,
    ):
        self.max_failures = max_failures
        self.window = window
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_keys = max_keys
        self.clock = clock
        self._keys: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def keys(name: str, address: str | None) -> list[str]:
        """The keys an attempt counts against: the user name, and the address if known."""
        return [f"user:{name}"] + ([f"addr:{address}"] if address else [])

    def _entry(self, key: str, now: float, create: bool) -> _Failures | None:
        entry = self._keys.get(key)
        if entry is not None and entry.locked_until <= now and now - entry.last > self.window:
            del self._keys[key]  # quiet for a window: forgotten
            entry = None
        if entry is None and create:
            entry = self._keys[key] = _Failures()
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
        if entry is not None:
            self._keys.move_to_end(key)
        return entry

    def check(self, name: str, address: str | None) -> None:
        """Refuse an attempt while the user name or the address is locked.

        Raises:
            SignInThrottled: naming how long to wait and until when (UTC).
        """
        now = self.clock()
        with self._lock:
            waits = []
            for key in self.keys(name, address):
                entry = self._entry(key, now, create=False)
                if entry is not None and entry.locked_until > now:
                    waits.append((entry.locked_until - now, key))
        if not waits:
            return
        wait, key = max(waits)
        until = datetime.fromtimestamp(now + wait, UTC).strftime("%H:%M:%S UTC")
        who = f"user {name}" if key.startswith("user:") else f"address {address}"
        raise SignInThrottled(
            f"too many failed sign-ins for {who}; try again in {_duration(wait)} (after {until})",
            retry_after=wait,
        )

    def failed(self, name: str, address: str | None) -> None:
        """Count a failed attempt against the user name and the address."""
        now = self.clock()
        with self._lock:
            for key in self.keys(name, address):
                entry = self._entry(key, now, create=True)
                assert entry is not None
                while entry.times and now - entry.times[0] > self.window:
                    entry.times.popleft()
                entry.times.append(now)
                entry.last = now
                if len(entry.times) >= self.max_failures:
                    entry.lockouts += 1
                    delay = min(self.base_delay * 2 ** (entry.lockouts - 1), self.max_delay)
                    entry.locked_until = now + delay
                    entry.times.clear()

    def succeeded(self, name: str) -> None:
        """Forget the user name's failures (the address keeps its count)."""
        with self._lock:
            self._keys.pop(f"user:{name}", None)

    def __len__(self) -> int:
        return len(self._keys)


def _duration(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def sign_in(
    store: Store, name: str, password: str, *, address: str | None, throttle: SignInThrottle
) -> dict[str, Any]:
    """Check a password as :func:`authenticate` does, throttled per user and per address.

    Raises:
        SignInThrottled: too many recent failures for the name or the address (the
            password is not checked).
        AccessError: unknown user or wrong password (counted as a failure).
    """
    throttle.check(name, address)
    try:
        user = authenticate(store, name, password)
    except AccessError:
        throttle.failed(name, address)
        raise
    throttle.succeeded(name)
    return user


# ---------------------------------------------------------------- session tokens


class SessionTokens:
    """Signed session tokens for the browser's cookie, revocable and with a bounded life.

    A token is ``name.generation.expiry.signature`` (HMAC-SHA256 with the server's
    secret). Signing out bumps the user's generation, so every token issued before stops
    working at once (server-side revocation); a token never outlives ``lifetime``. Sign-in
    in the app hands the browser a one-time ticket (a minute, single use) that the
    browser trades for the HttpOnly cookie at the server's ``/auth/session`` route.

    Args:
        secret: the server's secret (a new server, a new secret: old tokens stop working).
        lifetime: seconds a token lasts (see :func:`session_lifetime`).
        clock: seconds now (injected by tests).
    """

    TICKET_SECONDS = 60.0
    MAX_TICKETS = 1000

    def __init__(
        self, secret: str, *, lifetime: float | None = None, clock: Callable[[], float] = time.time
    ):
        self.secret = secret
        self._secret = secret.encode()
        self.lifetime = session_lifetime() if lifetime is None else lifetime
        self.clock = clock
        self._generations: dict[str, int] = {}
        self._tickets: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self, name: str) -> str:
        """A new token for ``name``, valid for :attr:`lifetime` or until revoked."""
        with self._lock:
            generation = self._generations.get(name, 0)
        payload = f"{name}.{generation}.{int(self.clock() + self.lifetime)}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str | None) -> str | None:
        """The user name a token signs in, or None: forged, expired or revoked."""
        if not token or token.count(".") < 3:
            return None
        payload, _, sig = token.rpartition(".")
        rest, _, expiry = payload.rpartition(".")
        name, _, generation = rest.rpartition(".")
        if not hmac.compare_digest(self._sign(payload), sig):
            return None
        if not expiry.isdigit() or not generation.isdigit() or not name:
            return None
        if int(expiry) <= self.clock() or int(expiry) > self.clock() + self.lifetime:
            return None
        with self._lock:
            if int(generation) != self._generations.get(name, 0):
                return None
        return name

    def revoke(self, name: str) -> None:
        """Sign ``name`` out everywhere: every token issued so far stops working."""
        with self._lock:
            self._generations[name] = self._generations.get(name, 0) + 1

    def ticket(self, name: str) -> str:
        """A one-time ticket (single use, a minute) the browser trades for the cookie."""
        value = secrets.token_urlsafe(24)
        now = self.clock()
        with self._lock:
            for old, (_, expires) in list(self._tickets.items()):
                if expires <= now:
                    del self._tickets[old]
            self._tickets[value] = (name, now + self.TICKET_SECONDS)
            while len(self._tickets) > self.MAX_TICKETS:
                self._tickets.popitem(last=False)
        return value

    def redeem(self, ticket: str) -> str | None:
        """A session token for a ticket's user, once; None for a used, unknown or old one."""
        with self._lock:
            entry = self._tickets.pop(ticket, None)
        if entry is None or entry[1] <= self.clock():
            return None
        return self.issue(entry[0])
