"""`webhook`: POST JSON to a URL, retrying transient failures, with an idempotency key."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import Field

from runtime.errors import Problem
from runtime.expressions import ExpressionError, is_template, render, render_values
from runtime.nodes import register
from runtime.nodes.base import Continue, Fail, NodeParams, NodeType, RunContext, template_field
from runtime.settings import ENV_WEBHOOK_HOSTS, OutboundPolicy

RESPONSE_TEXT_LIMIT = 2000
_JSON_LIMIT = 100_000  # a larger response is kept as truncated text, not parsed into the run
_RETRY_STATUS = frozenset({408, 429})

# Waits between tries; tests replace it (or set backoff_seconds to 0).
sleep = time.sleep


class WebhookParams(NodeParams):
    """Parameters of a webhook: the URL, body and headers, timeouts and retries."""

    url: str = template_field(
        description="Where to POST (template), http:// or https:// only, e.g. "
        "https://hooks.example.com/refunds/{{ item.customer_id }}. When the administrator "
        "sets $LOOPGATE_WEBHOOK_HOSTS, its host must be one of them.",
    )
    body: dict[str, Any] | list[Any] | str | None = template_field(
        None,
        description="The JSON to send: a mapping of field -> template, or one template that "
        "renders JSON. Empty: {run_id, workflow_id, node_id, item}.",
    )
    headers: dict[str, str] = template_field(
        default_factory=dict,
        description="Extra HTTP headers: name -> template. An Idempotency-Key header is added "
        "(run:node:visit) unless you set one.",
    )
    timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Seconds to wait for each try before giving up on it."
    )
    retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Tries after the first on a connection error, a timeout, 408, 429 or 5xx.",
    )
    backoff_seconds: float = Field(
        0.5,
        ge=0,
        le=60,
        description="Wait before the first retry; it doubles on each further retry.",
    )


def _check_url(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        shown = parts.scheme or "none"
        return f"url {url!r} must start with http:// or https:// (scheme: {shown})"
    if not parts.hostname:
        return f"url {url!r} has no host"
    return None


def _literal_url(url: str) -> str | None:
    """The URL up to its scheme, host and port when none of them is templated, else None
    (a template in the path or query leaves the host known)."""
    starts = [i for i in (url.find(m) for m in ("{{", "{%", "{#")) if i >= 0]
    if not starts:
        return url
    head = url[: min(starts)]
    scheme, sep, rest = head.partition("://")
    if not sep or "/" not in rest:
        return None  # the template is in the scheme or the host
    return scheme + sep + rest[: rest.index("/")] + "/"


def _response_value(response: httpx.Response) -> Any:
    text = response.text
    if len(text) <= _JSON_LIMIT:
        try:
            return response.json()
        except ValueError:
            pass
    return text[:RESPONSE_TEXT_LIMIT]


def _payload(ctx: RunContext, params: WebhookParams) -> Any:
    if params.body is None or params.body == "":
        return {
            "run_id": ctx.run_id,
            "workflow_id": ctx.workflow_id,
            "node_id": ctx.node_id,
            "item": ctx.item,
        }
    if isinstance(params.body, str):
        value = render(params.body, ctx.data)
        if isinstance(value, str):
            try:
                return json.loads(value)  # a template that wrote JSON text
            except ValueError:
                return value  # plain text goes as a JSON string
        return value
    return render_values(params.body, ctx.data)


@register
class Webhook(NodeType):
    """POSTs JSON to a URL with an idempotency key, retrying transient failures."""

    type_name = "webhook"
    family = "action"
    title = "Webhook (HTTP POST)"
    description = (
        "POSTs JSON to a URL and keeps the response; retries connection errors, "
        "timeouts, 408, 429 and 5xx with backoff; sends an Idempotency-Key header."
    )
    icon = "⚡"
    Params = WebhookParams
    example_params = {"url": "http://127.0.0.1:9000/hook"}
    external = True

    def branches(self, params: WebhookParams) -> list[str]:
        """``next``, or ``error`` when the call fails after its retries."""
        return ["next", "error"]

    def check(self, params: WebhookParams, node_ids: set[str]) -> list[str]:
        """A literal URL must be http or https with a host."""
        if is_template(params.url):
            return []
        problem = _check_url(params.url)
        return [problem] if problem else []

    def check_outbound(self, params: WebhookParams, policy: OutboundPolicy) -> list[Problem]:
        """With ``$LOOPGATE_WEBHOOK_HOSTS`` set, the URL's host must be one of them; a
        templated host is only known at run time (a warning; the run checks it)."""
        if policy.webhook_hosts is None:
            return []
        literal = _literal_url(params.url)
        if literal is None:
            return [
                Problem(
                    message=f"url {params.url} is a template, so its host is only known at run "
                    f"time; it is checked then against {ENV_WEBHOOK_HOSTS} "
                    f"(allowed: {', '.join(policy.webhook_hosts) or 'none'})",
                    field="params.url",
                    severity="warning",
                )
            ]
        if _check_url(literal):
            return []  # check() reports it
        message = policy.webhook_url_problem(literal)
        if message and literal != params.url:
            message = message.replace(f"url {literal}", f"url {params.url}", 1)
        return [Problem(message=message, field="params.url")] if message else []

    def run(self, ctx: RunContext, params: WebhookParams) -> Continue | Fail:
        """POST the rendered body (not in a dry run); the response is the output."""
        try:
            url = str(render(params.url, ctx.data) or "").strip()
            payload = _payload(ctx, params)
            headers = {str(k): str(v) for k, v in render_values(params.headers, ctx.data).items()}
        except ExpressionError as exc:
            return Fail(str(exc))
        problem = _check_url(url) or ctx.outbound_policy().webhook_url_problem(url)
        if problem:
            return Fail(f"node {ctx.node_id}: {problem}; nothing was sent")
        if not any(k.lower() == "idempotency-key" for k in headers):
            headers["Idempotency-Key"] = f"{ctx.run_id}:{ctx.node_id}:{ctx.visits}"
        headers.setdefault("Content-Type", "application/json")
        try:
            content = json.dumps(payload, default=str, ensure_ascii=False).encode()
        except ValueError as exc:
            return Fail(f"the body for {url} is not JSON: {exc}")
        settings = getattr(ctx.services, "settings", None) or {}
        if settings.get("dry_run"):  # e.g. the Builder's test runs: show, do not send
            return Continue(
                "next",
                {
                    "status_code": None,
                    "response": None,
                    "dry_run": True,
                    "url": url,
                    "body": json.loads(content),
                },
            )
        return self._post(url, content, headers, params)

    def _post(
        self, url: str, content: bytes, headers: dict[str, str], params: WebhookParams
    ) -> Continue | Fail:
        last = ""
        tries = params.retries + 1
        with httpx.Client(timeout=params.timeout_seconds, follow_redirects=False) as client:
            for attempt in range(1, tries + 1):
                if attempt > 1:
                    sleep(params.backoff_seconds * 2 ** (attempt - 2))
                try:
                    response = client.post(url, content=content, headers=headers)
                except httpx.TimeoutException:
                    last = f"timed out after {params.timeout_seconds:g} s"
                    continue
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    continue
                if response.is_success:
                    return Continue(
                        "next",
                        {
                            "status_code": response.status_code,
                            "response": _response_value(response),
                            "attempts": attempt,
                        },
                    )
                last = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                detail = response.text.strip()[:200]
                if detail:
                    last += f": {detail}"
                if response.status_code < 500 and response.status_code not in _RETRY_STATUS:
                    return Fail(f"POST {url} failed: {last} (not retried)")
        return Fail(f"POST {url} failed after {tries} tr{'y' if tries == 1 else 'ies'}: {last}")
