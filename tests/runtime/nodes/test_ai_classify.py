"""`ai_classify`: label a text with the builtin classifier or an OpenAI-compatible model."""

from __future__ import annotations

import pytest

from runtime.engine import Engine
from runtime.models.registry import SHIPPED_MODEL
from runtime.nodes import Continue, Fail, RunContext
from runtime.spec import parse_spec
from tests.chatserver import ChatServer
from tests.runtime.nodes.helpers import NOW, assert_never_waits, node, problems_of, run_node

LABELS = ["account", "billing_dispute", "refund", "shipping", "technical"]


def ctx_for(services=None, item: dict | None = None, node_id: str = "intent") -> RunContext:
    """A run at node ``intent`` with these services and item."""
    return RunContext(
        run_id="run_ai",
        workflow_id="wf",
        node_id=node_id,
        item=item or {},
        steps={},
        review=None,
        now=NOW,
        services=services,
    )


def test_classify_labels_the_rendered_text_with_the_newest_version(services) -> None:
    out = run_node(
        "ai_classify",
        ctx_for(services, {"message": "App crashes on login"}),
        text="{{ item.message }}",
    )
    assert isinstance(out, Continue) and out.branch == "next"
    o = out.output
    assert o["label"] == "technical" and 0.8 < o["confidence"] <= 1.0
    assert set(o["scores"]) == set(LABELS)
    assert abs(sum(o["scores"].values()) - 1.0) < 1e-3
    assert o["scores"]["technical"] == o["confidence"]
    assert (o["model"], o["model_version"], o["provider"]) == (SHIPPED_MODEL, 1, "builtin")
    assert o["text"] == "App crashes on login"


def test_classify_with_expected_labels_the_model_has(services) -> None:
    out = run_node(
        "ai_classify",
        ctx_for(services, {"m": "Where is my parcel"}),
        text="{{ item.m }}",
        labels=["shipping", "refund"],
    )
    assert isinstance(out, Continue) and out.output["label"] == "shipping"


def test_classify_fails_naming_node_model_and_labels_it_cannot_produce(services) -> None:
    out = run_node(
        "ai_classify",
        ctx_for(services, {"m": "hello"}),
        text="{{ item.m }}",
        labels=["refund", "spam", "complaint"],
    )
    assert isinstance(out, Fail)
    assert "node intent" in out.error and "support-intents v1" in out.error
    assert "spam, complaint" in out.error and "account, billing_dispute" in out.error


def test_classify_unknown_model_fails_with_the_known_ones(services) -> None:
    out = run_node(
        "ai_classify", ctx_for(services, {"m": "hello"}), text="{{ item.m }}", model="nope"
    )
    assert isinstance(out, Fail)
    assert "node intent" in out.error and "'nope'" in out.error
    assert "support-intents" in out.error and "loopgate model train nope" in out.error


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{{ item.missing }}", "template failed"),
        ("{{ item.blank }}", "empty"),
    ],
)
def test_classify_template_errors_fail(services, text: str, needle: str) -> None:
    out = run_node("ai_classify", ctx_for(services, {"blank": "  "}), text=text)
    assert isinstance(out, Fail) and "node intent" in out.error and needle in out.error


def test_classify_without_services_says_how_to_give_them() -> None:
    out = run_node("ai_classify", ctx_for(None, {"m": "hi"}), text="{{ item.m }}")
    assert isinstance(out, Fail) and "default_services" in out.error


def test_classify_compile_time_checks() -> None:
    assert problems_of("ai_classify", text="{{ item.message }}") == []
    bad = problems_of("ai_classify", text="{{ item.message }}", provider="openai")
    assert any("provider openai needs labels" in p for p in bad)
    assert any(
        "at least 2 labels" in p for p in problems_of("ai_classify", text="x", labels=["refund"])
    )
    assert any("distinct" in p for p in problems_of("ai_classify", text="x", labels=["a", "a"]))
    assert any(
        "steps.nowhere" in p for p in problems_of("ai_classify", text="{{ steps.nowhere.x }}")
    )
    assert any("required parameter is missing" in p for p in problems_of("ai_classify"))


def test_classify_has_next_and_error_branches_and_the_ai_family() -> None:
    ntype, p = node("ai_classify", text="x")
    assert ntype.family == "ai"
    assert ntype.branches(p) == ["next", "error"]


def test_an_engine_routes_a_failing_classifier_to_the_error_branch(
    engine: Engine, services
) -> None:
    engine.services = services
    spec = parse_spec(
        {
            "id": "classify-errors",
            "name": "Classify errors",
            "input": {"message": {"type": "string", "required": True}},
            "nodes": [
                {"id": "start", "type": "trigger"},
                {
                    "id": "intent",
                    "type": "ai_classify",
                    "params": {"text": "{{ item.message }}", "model": "missing-model"},
                },
                {"id": "ok", "type": "end", "params": {"result": "classified"}},
                {"id": "bad", "type": "end", "params": {"result": "error"}},
            ],
            "edges": [
                {"from": "start", "to": "intent"},
                {"from": "intent", "to": "ok", "branch": "next"},
                {"from": "intent", "to": "bad", "branch": "error"},
            ],
        }
    )
    res = engine.start(spec, {"message": "my parcel is late"})
    assert res.status == "succeeded" and res.result == "error"
    assert "missing-model" in res.outputs["intent"]["error"]


# ---------------------------------------------------------------- on the openai provider


def test_classify_on_the_openai_provider(chat: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPGATE_MODEL_BASE_URLS", chat.url)  # the server allows it
    chat.reply('{"label": "shipping", "confidence": 0.7}')
    out = run_node(
        "ai_classify",
        ctx_for(item={"m": "Where is my parcel"}),
        text="{{ item.m }}",
        provider="openai",
        labels=["refund", "shipping"],
        base_url=chat.url,
        model="tiny-chat",
    )
    assert isinstance(out, Continue)
    assert out.output == {
        "label": "shipping",
        "confidence": 0.7,
        "scores": {"shipping": 0.7},
        "model": "tiny-chat-2026-01",
        "model_version": None,
        "provider": "openai",
        "text": "Where is my parcel",
    }


def test_classify_on_the_openai_provider_fails_clearly(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPGATE_MODEL_BASE_URLS", chat.url)  # the server allows it
    chat.fail(401, "invalid api key")
    out = run_node(
        "ai_classify",
        ctx_for(item={"m": "x"}),
        text="{{ item.m }}",
        provider="openai",
        labels=["a", "b"],
        base_url=chat.url,
        model="tiny-chat",
    )
    assert isinstance(out, Fail)
    assert out.error.startswith("node intent: openai model tiny-chat: ")
    assert "invalid api key" in out.error and "sk-test-123" not in out.error


# ---------------------------------------------------------------- the contract


def test_classify_contract() -> None:
    ntype, p = node("ai_classify", text="{{ item.text }}")
    assert ntype.icon == "🤖"
    assert ntype.example_params == {"text": "{{ item.text }}"}
    assert_never_waits(ntype, p)
