"""`ai_generate`: write a text from a template (offline) or a prompt (an OpenAI-compatible LLM)."""

from __future__ import annotations

import pytest

from runtime.nodes import Continue, Fail
from tests.chatserver import ChatServer
from tests.runtime.nodes.helpers import (
    assert_never_waits,
    make_ctx,
    node,
    problems_of,
    run_node,
)


def test_generate_renders_the_template_in_the_sandbox() -> None:
    ctx = make_ctx({"name": "Ada"}, {"intent": {"label": "refund"}}, node_id="reply")
    out = run_node(
        "ai_generate",
        ctx,
        template="Dear {{ item.name }}, your {{ steps.intent.label }} is on its way.",
    )
    assert isinstance(out, Continue)
    assert out.output == {
        "text": "Dear Ada, your refund is on its way.",
        "model": "template",
        "model_version": 1,
        "provider": "builtin",
    }


@pytest.mark.parametrize(
    "template",
    [
        "{{ item.nope }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ 1 / 0 }}",
    ],
)
def test_generate_template_errors_fail_naming_the_node(template: str) -> None:
    out = run_node("ai_generate", make_ctx({}, node_id="reply"), template=template)
    assert isinstance(out, Fail) and out.error.startswith("node reply: ")


def test_generate_compile_time_checks() -> None:
    assert problems_of("ai_generate", template="Hi {{ item.message }}") == []
    assert any("syntax" in p for p in problems_of("ai_generate", template="Hi {{ item. }}"))
    assert any("unknown name" in p for p in problems_of("ai_generate", template="{{ secret }}"))
    assert any("temperature" in p for p in problems_of("ai_generate", template="x", temperature=5))


def test_generate_has_next_and_error_branches_and_the_ai_family() -> None:
    ntype, p = node("ai_generate", template="x")
    assert ntype.family == "ai"
    assert ntype.branches(p) == ["next", "error"]


# ---------------------------------------------------------------- on the openai provider


def test_generate_on_the_openai_provider(chat: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPGATE_MODEL_BASE_URLS", chat.url)  # the server allows it
    chat.reply("Dear Ada, it ships today.")
    out = run_node(
        "ai_generate",
        make_ctx({"name": "Ada"}, node_id="reply"),
        template="Tell {{ item.name }} it ships today",
        system="Tone: {{ 'warm' }}",
        provider="openai",
        base_url=chat.url,
        model="tiny-chat",
    )
    assert isinstance(out, Continue) and out.output["text"] == "Dear Ada, it ships today."
    assert out.output["prompt"] == "Tell Ada it ships today"
    assert chat.requests[-1]["body"]["messages"][0]["content"] == "Tone: warm"


def test_generate_on_the_openai_provider_fails_clearly(chat: ChatServer) -> None:
    out = run_node("ai_generate", make_ctx({}, node_id="reply"), template="hi", provider="openai")
    assert isinstance(out, Fail) and "node reply" in out.error
    assert "LOOPGATE_OPENAI_BASE_URL" in out.error


# ---------------------------------------------------------------- the contract


def test_generate_contract() -> None:
    ntype, p = node("ai_generate", template="Hello {{ item.name }}")
    assert ntype.icon == "🤖"
    assert ntype.example_params == {"template": "Hello {{ item.name }}"}
    assert_never_waits(ntype, p)
