"""Where things live by default; every default can be overridden by the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DB = "loopgate.duckdb"


def _error(message: str) -> Exception:
    """A :class:`~runtime.errors.LoopgateError`, imported when one is raised: the CLI reads
    this module for ``--help`` too, which needs none of pydantic's start-up."""
    from runtime.errors import LoopgateError

    return LoopgateError(message)


def default_db_path() -> Path:
    """The database the app and the CLI use: $LOOPGATE_DB, else ./loopgate.duckdb."""
    return Path(os.environ.get("LOOPGATE_DB") or DEFAULT_DB)


def server_file(db_path: str | Path) -> Path:
    """The file a running server writes next to its database, holding its address."""
    return Path(str(db_path) + ".server.json")


def audit_key_file(db_path: str | Path) -> Path:
    """The key that seals the audit trail: $LOOPGATE_AUDIT_KEY_FILE, else ``<db>.auditkey``.

    It must live outside the database file (someone who can change the database but cannot
    read this file cannot forge a seal); see docs/audit.md.
    """
    named = os.environ.get("LOOPGATE_AUDIT_KEY_FILE", "").strip()
    return Path(named) if named else Path(str(db_path) + ".auditkey")


# ---------------------------------------------------------------- outbox (SMTP)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where the outbox sends email, and how it retries.

    Attributes:
        host: the SMTP server ($LOOPGATE_SMTP_HOST, default 127.0.0.1).
        port: its port ($LOOPGATE_SMTP_PORT, default 25).
        sender: the From address ($LOOPGATE_SMTP_FROM, default loopgate@localhost).
        user: login name, if the server wants one ($LOOPGATE_SMTP_USER).
        password: its password ($LOOPGATE_SMTP_PASSWORD).
        starttls: upgrade the connection with STARTTLS ($LOOPGATE_SMTP_STARTTLS=1).
        timeout: seconds to wait for the server ($LOOPGATE_SMTP_TIMEOUT, default 10).
        max_attempts: tries per message before it is given up ($LOOPGATE_SMTP_MAX_ATTEMPTS, 5).
        backoff_seconds: the wait after the n-th failed try is backoff_seconds * 2**n
            ($LOOPGATE_SMTP_BACKOFF, default 15: 30 s, 1, 2, 4 minutes).
    """

    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "loopgate@localhost"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 10.0
    max_attempts: int = 5
    backoff_seconds: float = 15.0


def _env_number(name: str, default: float, kind: type = float) -> Any:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise _error(f"${name} is {text!r}, not a number") from None
    if value < 0:
        raise _error(f"${name} is {text!r}; it must not be negative")
    return value


def smtp_settings() -> SmtpSettings:
    """The SMTP settings from the environment (see :class:`SmtpSettings`).

    Raises:
        LoopgateError: a numeric variable that is not a number.
    """
    env = os.environ.get
    return SmtpSettings(
        host=env("LOOPGATE_SMTP_HOST", "").strip() or "127.0.0.1",
        port=_env_number("LOOPGATE_SMTP_PORT", 25, int),
        sender=env("LOOPGATE_SMTP_FROM", "").strip() or "loopgate@localhost",
        user=env("LOOPGATE_SMTP_USER") or None,
        password=env("LOOPGATE_SMTP_PASSWORD") or None,
        starttls=env("LOOPGATE_SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes", "on"),
        timeout=_env_number("LOOPGATE_SMTP_TIMEOUT", 10.0) or 10.0,
        max_attempts=max(1, _env_number("LOOPGATE_SMTP_MAX_ATTEMPTS", 5, int)),
        backoff_seconds=_env_number("LOOPGATE_SMTP_BACKOFF", 15.0),
    )


# ---------------------------------------------------------------- outbound allow-lists

ENV_MODEL_KEY_ENVS = "LOOPGATE_MODEL_KEY_ENVS"
ENV_MODEL_BASE_URLS = "LOOPGATE_MODEL_BASE_URLS"
ENV_WEBHOOK_HOSTS = "LOOPGATE_WEBHOOK_HOSTS"
#: The key variable the OpenAI-compatible provider reads by default
#: (``runtime.models.openai_compat.ENV_API_KEY``, not imported: settings stay light).
DEFAULT_MODEL_KEY_ENV = "LOOPGATE_OPENAI_API_KEY"
#: The base URL the OpenAI-compatible provider uses by default (``ENV_BASE_URL`` there).
ENV_DEFAULT_MODEL_BASE_URL = "LOOPGATE_OPENAI_BASE_URL"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class _Origin:
    """A parsed http(s) URL as the sender (httpx) will read it."""

    scheme: str
    host: str
    port: int
    path: str

    def within(self, allowed: _Origin) -> bool:
        """Same scheme, host and port, and the path is ``allowed``'s path or below it."""
        if (self.scheme, self.host, self.port) != (allowed.scheme, allowed.host, allowed.port):
            return False
        return (
            not allowed.path
            or self.path == allowed.path
            or self.path.startswith(allowed.path + "/")
        )


def _parse_url(url: str, *, base: bool = True) -> _Origin | str:
    """The URL's parts, or why it is not a plain http(s) URL (a base URL, with ``base``:
    no user name, query or fragment either).

    httpx parses it, so the check reads the URL exactly as the request will go out.
    """
    import httpx  # lazily: the CLI imports settings at start-up

    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return f"is not a valid URL ({exc})"
    if parsed.scheme not in _DEFAULT_PORTS:
        return f"must start with http:// or https:// (scheme: {parsed.scheme or 'none'})"
    if not parsed.host:
        return "has no host"
    if base and parsed.userinfo:
        return "must not carry a user name or password"
    if base and (parsed.query or parsed.fragment):
        return "must not carry a query or fragment"
    return _Origin(
        scheme=parsed.scheme,
        host=parsed.host.lower().rstrip("."),
        port=parsed.port or _DEFAULT_PORTS[parsed.scheme],
        path=parsed.path.rstrip("/"),
    )


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """What a workflow may reach outside the server: the allow-lists an administrator sets.

    Workflow files may *choose among* these (an AI node's ``api_key_env`` and ``base_url``,
    a webhook's ``url``), never widen them. The compiler checks nodes against the policy
    (``NodeType.check_outbound``) and the nodes check again when they run, so a workflow
    that skipped validation still cannot send a key or a body anywhere else.

    Attributes:
        model_key_envs: the environment variables that may hold model API keys
            (``$LOOPGATE_MODEL_KEY_ENVS``, comma-separated; default
            ``LOOPGATE_OPENAI_API_KEY``, the provider's own).
        model_base_urls: the base URLs (or whole origins: a URL with no path) the
            OpenAI-compatible provider may call (``$LOOPGATE_MODEL_BASE_URLS``,
            comma-separated), plus the configured default ``$LOOPGATE_OPENAI_BASE_URL``.
        webhook_hosts: the hosts (``host`` for any port, ``host:port`` for one) webhooks
            may POST to (``$LOOPGATE_WEBHOOK_HOSTS``, comma-separated); None: any host.
    """

    model_key_envs: tuple[str, ...] = (DEFAULT_MODEL_KEY_ENV,)
    model_base_urls: tuple[str, ...] = ()
    webhook_hosts: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in self.model_key_envs:
            if not _ENV_NAME.match(name):
                raise _error(f"${ENV_MODEL_KEY_ENVS}: {name!r} is not an environment variable name")
        for url in self.model_base_urls:
            parsed = _parse_url(url)
            if isinstance(parsed, str):
                raise _error(f"${ENV_MODEL_BASE_URLS}: {url!r} {parsed}")
        for host in self.webhook_hosts or ():
            problem = _host_entry(host)
            if isinstance(problem, str):
                raise _error(f"${ENV_WEBHOOK_HOSTS}: {host!r} {problem}")

    # -------------------------------------------------------- models

    def model_key_problem(self, name: str) -> str | None:
        """Why ``api_key_env`` ``name`` may not be used, or None when it may."""
        if name in self.model_key_envs:
            return None
        return (
            f"api_key_env {name} is not an allowed model key variable "
            f"(allowed: {', '.join(self.model_key_envs) or 'none'}); ask your administrator "
            f"to add it to {ENV_MODEL_KEY_ENVS}"
        )

    def model_base_url_problem(self, url: str) -> str | None:
        """Why base URL ``url`` may not be called, or None when it may."""
        parsed = _parse_url(url)
        if isinstance(parsed, str):
            return f"base_url {url} {parsed}"
        allowed = [_parse_url(a) for a in self.model_base_urls]
        if any(isinstance(a, _Origin) and parsed.within(a) for a in allowed):
            return None
        shown = ", ".join(self.model_base_urls) or "none configured"
        return (
            f"base_url {url} is not an allowed model base URL (allowed: {shown}); ask your "
            f"administrator to add it to {ENV_MODEL_BASE_URLS}"
        )

    # -------------------------------------------------------- webhooks

    def webhook_url_problem(self, url: str) -> str | None:
        """Why a webhook may not POST to ``url``, or None when it may."""
        if self.webhook_hosts is None:
            return None
        parsed = _parse_url(url, base=False)
        if isinstance(parsed, str):
            return f"url {url} {parsed}"
        for entry in self.webhook_hosts:
            host, port = _host_entry(entry)  # type: ignore[misc]  # checked at construction
            if parsed.host == host and (port is None or parsed.port == port):
                return None
        where = f"{parsed.host}:{parsed.port}"
        return (
            f"url {url}: host {where} is not an allowed webhook host (allowed: "
            f"{', '.join(self.webhook_hosts) or 'none'}); ask your administrator to add it to "
            f"{ENV_WEBHOOK_HOSTS}"
        )


def _host_entry(entry: str) -> tuple[str, int | None] | str:
    """``host`` or ``host:port`` (``[::1]:8080`` for IPv6) parsed, or what is wrong."""
    text = entry.strip().lower()
    if not text or "/" in text or "@" in text:
        return "is not a host or host:port"
    parsed = _parse_url(f"http://{text}")
    if isinstance(parsed, str):
        return f"is not a host or host:port ({parsed})"
    has_port = text.rsplit("]", 1)[-1].count(":") == 1
    return parsed.host, parsed.port if has_port else None


def outbound_policy(env: Mapping[str, str] | None = None) -> OutboundPolicy:
    """The allow-lists from the environment (see :class:`OutboundPolicy`).

    Args:
        env: the variables to read (default ``os.environ``).

    Raises:
        LoopgateError: an entry that is not a variable name, an http(s) URL or a host.
    """
    env = os.environ if env is None else env
    keys = _split(env.get(ENV_MODEL_KEY_ENVS)) or [DEFAULT_MODEL_KEY_ENV]
    urls = _split(env.get(ENV_MODEL_BASE_URLS))
    default_url = (env.get(ENV_DEFAULT_MODEL_BASE_URL) or "").strip().rstrip("/")
    if default_url and default_url not in urls and isinstance(_parse_url(default_url), _Origin):
        urls.insert(0, default_url)
    hosts_text = env.get(ENV_WEBHOOK_HOSTS)
    hosts = None if hosts_text is None or not hosts_text.strip() else tuple(_split(hosts_text))
    return OutboundPolicy(
        model_key_envs=tuple(dict.fromkeys(keys)),
        model_base_urls=tuple(urls),
        webhook_hosts=hosts,
    )


# ---------------------------------------------------------------- links in messages

ENV_BASE_URL = "LOOPGATE_BASE_URL"


def base_url(env: Mapping[str, str] | None = None) -> str | None:
    """The app's address as people open it, for links in emails ($LOOPGATE_BASE_URL,
    e.g. https://loopgate.example.com); None when unset.

    Raises:
        LoopgateError: it is set but not a plain http(s) URL (names the problem).
    """
    text = (os.environ if env is None else env).get(ENV_BASE_URL, "").strip()
    if not text:
        return None
    parsed = _parse_url(text)
    if isinstance(parsed, str):
        raise _error(
            f"{ENV_BASE_URL}={text!r} {parsed}; set it to the address people open the app "
            "at, e.g. https://loopgate.example.com"
        )
    return text.rstrip("/")


def review_link(review_id: str, env: Mapping[str, str] | None = None) -> str | None:
    """The link that opens one review on the Review page (``<base>/review?review=ID``),
    or None without $LOOPGATE_BASE_URL."""
    from urllib.parse import quote

    base = base_url(env)
    return None if base is None else f"{base}/review?review={quote(review_id, safe='')}"
