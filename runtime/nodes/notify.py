"""`notify`: queue an email in the outbox, committed with the step and sent after it."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from runtime.expressions import ExpressionError, is_template, render
from runtime.ids import new_id
from runtime.nodes import register
from runtime.nodes.base import Continue, Fail, NodeParams, NodeType, RunContext, template_field

_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+$")
_NAMED = re.compile(r'^(?:"(?P<quoted>[^"]*)"|(?P<plain>[^"<>]*?))\s*<(?P<addr>[^<>]*)>$')
_SEPARATOR = re.compile(r'[,;](?=(?:[^"]*"[^"]*")*[^"]*$)')  # a comma or semicolon outside quotes


class NotifyParams(NodeParams):
    """Parameters of a notification: recipients, subject and body (all templates)."""

    to: str = template_field(
        description="Recipients (template): one address, or several separated by commas, e.g. "
        "{{ item.email }} or ops@example.com, Ana <ana@example.com>. A YAML list also works.",
    )
    subject: str = template_field(
        "Loopgate notification", description="The subject line (template)."
    )
    body: str = template_field("", description="The message text (template).")
    channel: Literal["email"] = Field(
        "email", description="How the message is sent (email through the configured SMTP server)."
    )
    link_review: bool = Field(
        False,
        description="When the run stops at a review right after this message (tell the "
        "reviewers, then wait), end the message with a link that opens that review "
        "($LOOPGATE_BASE_URL/review?review=ID; needs LOOPGATE_BASE_URL). Leave off for "
        "messages to customers.",
    )

    @field_validator("to", mode="before")
    @classmethod
    def _join_list(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value


def parse_recipients(text: str) -> tuple[list[str], str | None]:
    """The addresses in a To line (``a@x, "Rivera, Ana" <b@y>``), and its problem or None.

    Args:
        text: recipients separated by commas or semicolons (outside quotes).

    Returns:
        ``(addresses, None)`` with each address normalised, or ``([], problem)``.
    """
    if "\r" in text or "\n" in text:
        return [], "the recipient list may not contain line breaks"
    parts = [part.strip() for part in _SEPARATOR.split(text) if part.strip()]
    if not parts:
        return [], "no recipient: `to` rendered empty"
    out = []
    for part in parts:
        named = _NAMED.match(part)
        name, addr = (
            ((named["quoted"] or named["plain"] or "").strip(), named["addr"].strip())
            if named
            else ("", part)
        )
        if not _ADDRESS.match(addr):
            return [], f"{part!r} is not an email address"
        out.append(_format(name, addr))
    return out, None


def _format(name: str, addr: str) -> str:
    if not name:
        return addr
    if re.search(r'[,;<>"@()\[\]:\\.]', name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


@register
class Notify(NodeType):
    """Queues an email in the outbox with its step; it is sent after the commit."""

    type_name = "notify"
    family = "action"
    title = "Send email"
    description = (
        "Queues an email in the outbox with the step (never twice for one step); "
        "it is sent through SMTP right after the step commits."
    )
    icon = "⚡"
    Params = NotifyParams
    example_params = {"to": "{{ item.email }}", "subject": "Update", "body": "Hello"}

    def branches(self, params: NotifyParams) -> list[str]:
        """``next``, or ``error`` when the recipients or templates fail."""
        return ["next", "error"]

    def check(self, params: NotifyParams, node_ids: set[str]) -> list[str]:
        """A literal ``to`` must hold valid addresses."""
        if is_template(params.to):
            return []
        _, problem = parse_recipients(params.to)
        return [f"to: {problem}"] if problem else []

    def run(self, ctx: RunContext, params: NotifyParams) -> Continue | Fail:
        """Queue the rendered message in the outbox (sent after the step commits)."""
        try:
            to = render(params.to, ctx.data)
            subject = render(params.subject, ctx.data)
            body = render(params.body, ctx.data)
        except ExpressionError as exc:
            return Fail(str(exc))
        if isinstance(to, list | tuple):
            to = ", ".join(str(v) for v in to if v)
        recipients, problem = parse_recipients("" if to is None else str(to))
        if problem:
            return Fail(problem)
        # A subject is one header line: line breaks in it would let data forge headers.
        subject = " ".join(("" if subject is None else str(subject)).split())
        body = "" if body is None else str(body)
        outbox_id = new_id("msg")
        ctx.outbox.append(
            {
                "id": outbox_id,
                "run_id": ctx.run_id,
                "node_id": ctx.node_id,
                "channel": params.channel,
                "recipient": ", ".join(recipients),
                "subject": subject,
                "body": body,
                "status": "pending",
                "attempts": 0,
                "last_error": None,
                "idempotency_key": f"{ctx.run_id}:{ctx.node_id}:{ctx.visits}",
                "created_at": ctx.now,
                "sent_at": None,
                # Not a column: the engine adds the link once the run's review exists.
                "link_review": params.link_review,
            }
        )
        return Continue(
            "next",
            {"outbox_id": outbox_id, "to": recipients, "subject": subject, "status": "queued"},
        )
