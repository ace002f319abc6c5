"""The OpenAI-compatible provider against a chat-completions server started on 127.0.0.1
inside the test (the AI nodes on this provider: tests/runtime/nodes/test_ai_*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.models import ModelError
from runtime.models.openai_compat import (
    OpenAICompatClient,
    classify,
    generate,
    parse_json_answer,
    resolve_config,
)
from tests.chatserver import ChatServer, chat_server


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    with chat_server(monkeypatch) as server:
        monkeypatch.setenv("LOOPGATE_MODEL_BASE_URLS", server.url)  # the server allows it
        yield server


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
        "LOOPGATE_MODEL_KEY_ENVS": "LOOPGATE_OPENAI_API_KEY,MY_KEY",
        "LOOPGATE_MODEL_BASE_URLS": "https://x.example",
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


def test_openai_config_refuses_what_the_server_does_not_allow() -> None:
    env = {"LOOPGATE_OPENAI_BASE_URL": "http://llm.local/v1", "SECRET": "s3"}
    with pytest.raises(ModelError, match="api_key_env SECRET is not an allowed model key"):
        resolve_config(model="m", api_key_env="SECRET", env=env)
    with pytest.raises(ModelError, match="base_url http://evil/v1 is not an allowed model base"):
        resolve_config(base_url="http://evil/v1", model="m", env=env)
    # the configured default is always allowed, named explicitly or not
    assert resolve_config(base_url="http://llm.local/v1/", model="m", env=env).base_url == (
        "http://llm.local/v1"
    )
