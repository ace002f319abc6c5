"""The AI nodes (classify, extract, generate), the model registry, and the OpenAI-compatible
provider against a chat-completions server started on 127.0.0.1 inside the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runtime.compiler import check
from runtime.engine import Engine
from runtime.models import ModelError, TextClassifier
from runtime.models.openai_compat import (
    OpenAICompatClient,
    classify,
    generate,
    parse_json_answer,
    resolve_config,
)
from runtime.models.registry import SHIPPED_MODEL, ModelRegistry
from runtime.nodes import Continue, Fail, RunContext, get_node_type
from runtime.services import default_services
from runtime.spec import parse_spec
from runtime.store import Store

NOW = datetime(2026, 1, 5, 9, 0, 0)
LABELS = ["account", "billing_dispute", "refund", "shipping", "technical"]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def shipped_row() -> dict[str, Any]:
    """The shipped model trained once for the module (as the registry stores it)."""
    store = Store(":memory:")
    ModelRegistry(store).ensure_shipped()
    row = store.get_model(SHIPPED_MODEL)
    store.close()
    assert row is not None
    return row


@pytest.fixture
def services(store: Store, shipped_row: dict[str, Any]):
    """Services on a store that already holds the shipped model (no training per test)."""
    store.save_model(
        SHIPPED_MODEL,
        provider="builtin",
        labels=shipped_row["labels"],
        metrics=shipped_row["metrics"],
        blob=shipped_row["blob"],
        source="shipped",
        training=shipped_row["training"],
    )
    return default_services(store)


def ctx_for(
    services: Any = None,
    item: dict | None = None,
    steps: dict | None = None,
    node_id: str = "intent",
) -> RunContext:
    return RunContext(
        run_id="run_ai",
        workflow_id="wf",
        node_id=node_id,
        item=item or {},
        steps=steps or {},
        review=None,
        now=NOW,
        services=services,
    )


def run_node(type_name: str, ctx: RunContext, **params: Any):
    ntype = get_node_type(type_name)
    assert ntype is not None
    return ntype.run(ctx, ntype.Params.model_validate(params))


def problems_of(type_name: str, **params: Any) -> list[str]:
    spec = parse_spec(
        {
            "id": "ai-check",
            "name": "AI check",
            "input": {"message": {"type": "string"}},
            "nodes": [
                {"id": "start", "type": "trigger"},
                {"id": "ai", "type": type_name, "params": params},
                {"id": "done", "type": "end"},
            ],
            "edges": [
                {"from": "start", "to": "ai"},
                {"from": "ai", "to": "done", "branch": "next"},
                {"from": "ai", "to": "done", "branch": "error"},
            ],
        }
    )
    _, problems = check(spec)
    return [str(p) for p in problems]


# ---------------------------------------------------------------- ai_classify


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


def test_ai_nodes_have_next_and_error_branches_and_the_ai_family() -> None:
    for name in ("ai_classify", "ai_extract", "ai_generate"):
        ntype = get_node_type(name)
        assert ntype is not None and ntype.family == "ai"
        params = {
            "ai_classify": {"text": "x"},
            "ai_extract": {"text": "x", "fields": ["email"]},
            "ai_generate": {"template": "x"},
        }[name]
        assert ntype.branches(ntype.Params.model_validate(params)) == ["next", "error"]


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


# ---------------------------------------------------------------- ai_extract


INVOICE = (
    "Invoice INV-2026-0042 from Acme Ltd, total due EUR 1,250.00 by 2026-03-31. "
    "Questions: billing@acme.example"
)


def test_extract_gives_every_field_with_its_confidence() -> None:
    out = run_node(
        "ai_extract",
        ctx_for(item={"body": INVOICE}),
        text="{{ item.body }}",
        fields=["amount", "invoice_number", "email", "date", "phone"],
    )
    assert isinstance(out, Continue) and out.branch == "next"
    f = out.output["fields"]
    assert f["amount"]["value"] == {"amount": 1250.0, "currency": "EUR"}
    assert f["invoice_number"]["value"] == "INV-2026-0042"
    assert f["email"]["value"] == "billing@acme.example"
    assert f["date"]["value"] == "2026-03-31"
    assert f["phone"] == {"value": None, "confidence": 0.0}
    assert out.output["confidence"] == 0.0  # the least sure field decides
    assert out.output["missing"] == ["phone"]
    assert (out.output["model"], out.output["model_version"]) == ("rules", 1)
    sure = run_node(
        "ai_extract",
        ctx_for(item={"body": INVOICE}),
        text="{{ item.body }}",
        fields=["amount", "email"],
    )
    assert (
        sure.output["confidence"]
        == min(
            sure.output["fields"]["amount"]["confidence"],
            sure.output["fields"]["email"]["confidence"],
        )
        > 0.9
    )


def test_extract_unknown_field_is_a_compile_time_problem_naming_the_supported_ones() -> None:
    problems = problems_of("ai_extract", text="{{ item.message }}", fields=["amount", "vat_id"])
    assert len(problems) == 1
    assert "node ai" in problems[0] and "vat_id" in problems[0]
    assert "supported fields are email, iban, order_id, invoice_number" in problems[0]
    assert problems_of("ai_extract", text="{{ item.message }}", fields=["amount"]) == []
    assert any("twice" in p for p in problems_of("ai_extract", text="x", fields=["email", "email"]))


def test_extract_template_error_fails() -> None:
    out = run_node(
        "ai_extract", ctx_for(item={}, node_id="extract"), text="{{ item.body }}", fields=["email"]
    )
    assert isinstance(out, Fail) and "node extract" in out.error


# ---------------------------------------------------------------- ai_generate


def test_generate_renders_the_template_in_the_sandbox() -> None:
    ctx = ctx_for(item={"name": "Ada"}, steps={"intent": {"label": "refund"}}, node_id="reply")
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
    out = run_node("ai_generate", ctx_for(item={}, node_id="reply"), template=template)
    assert isinstance(out, Fail) and out.error.startswith("node reply: ")


def test_generate_compile_time_checks() -> None:
    assert problems_of("ai_generate", template="Hi {{ item.message }}") == []
    assert any("syntax" in p for p in problems_of("ai_generate", template="Hi {{ item. }}"))
    assert any("unknown name" in p for p in problems_of("ai_generate", template="{{ secret }}"))
    assert any("temperature" in p for p in problems_of("ai_generate", template="x", temperature=5))


# ---------------------------------------------------------------- registry and store


def test_model_registry_round_trip(store: Store, shipped_row: dict[str, Any]) -> None:
    registry = ModelRegistry(store)
    assert registry.latest_version("support-intents") is None
    assert store.get_model("support-intents") is None
    assert store.list_models() == []
    v1 = store.save_model(
        "support-intents",
        provider="builtin",
        labels=shipped_row["labels"],
        metrics={"accuracy": 0.9},
        blob=shipped_row["blob"],
        source="shipped",
        created_by="ann",
        training={"texts": ["a"], "labels": ["b"]},
    )
    v2 = store.save_model(
        "support-intents",
        provider="builtin",
        labels=shipped_row["labels"],
        metrics={"accuracy": 0.95},
        blob=shipped_row["blob"],
        source="file:x.csv",
    )
    assert (v1, v2) == (1, 2)
    assert registry.latest_version("support-intents") == 2
    row = store.get_model("support-intents", 1)
    assert row["blob"] == shipped_row["blob"]
    assert row["training"] == {"texts": ["a"], "labels": ["b"]}
    assert row["created_by"] == "ann" and row["labels"] == LABELS
    assert store.get_model("support-intents")["version"] == 2
    assert store.get_model("support-intents", 9) is None
    listed = store.list_models()
    assert [(m["version"], m["source"]) for m in listed] == [(2, "file:x.csv"), (1, "shipped")]
    assert listed[0]["metrics"] == {"accuracy": 0.95} and listed[0]["size"] > 1000
    assert "blob" not in listed[0]

    model, version = registry.classifier("support-intents")
    assert version == 2 and isinstance(model, TextClassifier)
    again, _ = registry.classifier("support-intents", 2)
    assert again is model  # cached per (name, version)
    first, v = registry.classifier("support-intents", 1)
    assert v == 1 and first is not model
    text = "Where is my parcel?"
    assert first.predict([text])[0] == model.predict([text])[0]
    with pytest.raises(ModelError, match="has no version 7"):
        registry.classifier("support-intents", 7)
    with pytest.raises(ModelError, match="no model named 'other'"):
        registry.classifier("other")


def test_the_shipped_model_is_trained_once_on_first_use(store: Store) -> None:
    registry = ModelRegistry(store)
    started = time.perf_counter()
    model, version = registry.classifier("support-intents")
    assert version == 1 and model.labels == LABELS
    assert registry.ensure_shipped() == 1
    assert store.latest_model_version("support-intents") == 1
    row = store.list_models()[0]
    assert row["source"] == "shipped" and row["created_by"] is None
    assert row["metrics"]["n_examples"] == 400 and row["metrics"]["accuracy"] > 0.8
    assert 0 <= row["metrics"]["ece"] < 0.2
    assert time.perf_counter() - started < 5  # about 0.6 s; generous for loaded machines


def test_save_model_works_inside_an_open_run_transaction(
    store: Store, shipped_row: dict[str, Any]
) -> None:
    with store.transaction() as cur:
        cur.execute("SELECT 1")
        version = store.save_model(
            "m",
            provider="builtin",
            labels=["a"],
            metrics={},
            blob=shipped_row["blob"],
            source="shipped",
        )
    assert version == 1 and store.latest_model_version("m") == 1


# ---------------------------------------------------------------- the OpenAI-compatible provider


class ChatServer:
    """A chat-completions server on 127.0.0.1 that answers from a script of replies."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.replies: list[tuple[int, Any, float]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                status, payload, delay = (
                    server.replies.pop(0)
                    if server.replies
                    else (500, {"error": {"message": "no reply"}}, 0)
                )
                time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def reply(
        self,
        content: str,
        *,
        status: int = 200,
        delay: float = 0.0,
        model: str = "tiny-chat-2026-01",
    ) -> None:
        payload = {
            "id": "c1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
        }
        self.replies.append((status, payload, delay))

    def fail(self, status: int, message: str = "boom") -> None:
        self.replies.append((status, {"error": {"message": message}}, 0.0))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    for var in ("LOOPGATE_OPENAI_BASE_URL", "LOOPGATE_OPENAI_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LOOPGATE_OPENAI_API_KEY", "sk-test-123")
    server = ChatServer()
    yield server
    server.close()


def client_for(chat: ChatServer, **kw: Any) -> OpenAICompatClient:
    return OpenAICompatClient(
        resolve_config(base_url=chat.url, model="tiny-chat", backoff=0.01, **kw)
    )


def test_openai_classify_asks_for_json_restricted_to_the_labels(chat: ChatServer) -> None:
    chat.reply('{"label": "refund", "confidence": 0.83}')
    out = classify(client_for(chat), "I want my money back", ["refund", "shipping"])
    assert out == {
        "label": "refund",
        "confidence": 0.83,
        "scores": {"refund": 0.83},
        "model": "tiny-chat-2026-01",
    }
    req = chat.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["auth"] == "Bearer sk-test-123"
    assert req["body"]["model"] == "tiny-chat"
    assert req["body"]["response_format"] == {"type": "json_object"}
    system, user = req["body"]["messages"]
    assert "refund, shipping" in system["content"] and "JSON" in system["content"]
    assert user == {"role": "user", "content": "I want my money back"}


def test_openai_generate_returns_the_text(chat: ChatServer) -> None:
    chat.reply("Dear Ada, sorry for the delay.")
    answer = generate(
        client_for(chat), "Write to Ada", system="Be kind", temperature=0.2, max_tokens=50
    )
    assert answer.text == "Dear Ada, sorry for the delay." and answer.model == "tiny-chat-2026-01"
    body = chat.requests[0]["body"]
    assert body["messages"][0] == {"role": "system", "content": "Be kind"}
    assert body["temperature"] == 0.2 and body["max_tokens"] == 50
    assert "response_format" not in body


def test_openai_retries_5xx_then_succeeds(chat: ChatServer) -> None:
    chat.fail(503, "overloaded")
    chat.fail(429, "slow down")
    chat.reply("fine")
    assert generate(client_for(chat, max_retries=2), "hi").text == "fine"
    assert len(chat.requests) == 3


def test_openai_gives_up_after_the_retries_naming_the_server(chat: ChatServer) -> None:
    for _ in range(3):
        chat.fail(500, "kaput")
    with pytest.raises(
        ModelError, match=r"chat/completions failed after 3 attempts: HTTP 500: kaput"
    ):
        generate(client_for(chat, max_retries=2), "hi")


def test_openai_client_errors_are_not_retried(chat: ChatServer) -> None:
    chat.fail(401, "invalid api key")
    with pytest.raises(ModelError, match=r"refused the request \(HTTP 401\): invalid api key"):
        generate(client_for(chat), "hi")
    assert len(chat.requests) == 1


def test_openai_timeout_is_retried_then_reported(chat: ChatServer) -> None:
    chat.reply("late", delay=0.5)
    chat.reply("late", delay=0.5)
    with pytest.raises(ModelError, match=r"failed after 2 attempts: no answer within 0.1 s"):
        generate(client_for(chat, timeout=0.1, max_retries=1), "hi")


def test_openai_bad_answers(chat: ChatServer) -> None:
    chat.reply('{"label": "spam", "confidence": 0.9}')
    with pytest.raises(ModelError, match="label 'spam', which is not one of refund, shipping"):
        classify(client_for(chat), "x", ["refund", "shipping"])
    chat.reply("I think it is a refund")
    with pytest.raises(ModelError, match="did not answer with a JSON object"):
        classify(client_for(chat), "x", ["refund", "shipping"])
    chat.replies.append((200, {"nothing": "here"}, 0.0))
    with pytest.raises(ModelError, match="did not answer with a chat completion"):
        generate(client_for(chat), "x")


def test_parse_json_answer_accepts_fences_and_surrounding_text() -> None:
    assert parse_json_answer('```json\n{"label": "a"}\n```') == {"label": "a"}
    assert parse_json_answer('Sure: {"label": "a", "confidence": 1} done') == {
        "label": "a",
        "confidence": 1,
    }


def test_openai_config_comes_from_params_or_the_environment(monkeypatch) -> None:
    env = {
        "LOOPGATE_OPENAI_BASE_URL": "http://llm.local/v1/",
        "LOOPGATE_OPENAI_MODEL": "m1",
        "MY_KEY": "k2",
    }
    cfg = resolve_config(env=env)
    assert (cfg.base_url, cfg.model, cfg.api_key) == ("http://llm.local/v1", "m1", None)
    cfg = resolve_config(base_url="https://x.example/v1", model="m2", api_key_env="MY_KEY", env=env)
    assert (cfg.base_url, cfg.model, cfg.api_key) == ("https://x.example/v1", "m2", "k2")
    assert "k2" not in repr(cfg)
    with pytest.raises(ModelError, match="LOOPGATE_OPENAI_BASE_URL"):
        resolve_config(env={})
    with pytest.raises(ModelError, match="LOOPGATE_OPENAI_MODEL"):
        resolve_config(env={"LOOPGATE_OPENAI_BASE_URL": "http://x/v1"})
    with pytest.raises(ModelError, match="must start with http"):
        resolve_config(base_url="ftp://x", model="m", env={})


def test_nodes_on_the_openai_provider(chat: ChatServer) -> None:
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
    chat.reply("Dear Ada, it ships today.")
    out = run_node(
        "ai_generate",
        ctx_for(item={"name": "Ada"}, node_id="reply"),
        template="Tell {{ item.name }} it ships today",
        system="Tone: {{ 'warm' }}",
        provider="openai",
        base_url=chat.url,
        model="tiny-chat",
    )
    assert isinstance(out, Continue) and out.output["text"] == "Dear Ada, it ships today."
    assert out.output["prompt"] == "Tell Ada it ships today"
    assert chat.requests[-1]["body"]["messages"][0]["content"] == "Tone: warm"


def test_nodes_on_the_openai_provider_fail_clearly(chat: ChatServer, monkeypatch) -> None:
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
    out = run_node(
        "ai_generate", ctx_for(item={}, node_id="reply"), template="hi", provider="openai"
    )
    assert isinstance(out, Fail) and "node reply" in out.error
    assert "LOOPGATE_OPENAI_BASE_URL" in out.error
