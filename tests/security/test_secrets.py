"""Issue 11, item 2: secrets stay secret. Which variables may hold model keys, which base
URLs AI nodes may call and which hosts webhooks may POST to are server settings
(allow-lists), never free workflow parameters.

Each attack is reproduced: refused at validation (naming the node and the field) and at
run time (a workflow that skipped validation still sends nothing: a real receiver on
127.0.0.1 records every request).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.compiler import check, compile_workflow
from runtime.engine import Engine
from runtime.errors import LoopgateError, SpecError
from runtime.services import Services
from runtime.settings import OutboundPolicy, outbound_policy
from runtime.spec import loads_yaml
from runtime.store import Store
from tests.chatserver import ChatServer, chat_server
from tests.e2e.clihelp import loopgate

SECRET = "smtp-s3cret-do-not-leak"
ALLOWED_VARS = (
    "LOOPGATE_MODEL_KEY_ENVS",
    "LOOPGATE_MODEL_BASE_URLS",
    "LOOPGATE_WEBHOOK_HOSTS",
    "LOOPGATE_OPENAI_BASE_URL",
)


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No allow-list from the developer's shell; a secret the attacker wants."""
    for var in ALLOWED_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LOOPGATE_SMTP_PASSWORD", SECRET)


@pytest.fixture
def attacker(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """A server on 127.0.0.1 the attacker controls; it records every request."""
    with chat_server(monkeypatch) as server:
        yield server


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """The model server the administrator allows."""
    with chat_server(monkeypatch) as server:
        yield server


def classify_flow(**params: Any) -> str:
    lines = "".join(f"      {k}: {v}\n" for k, v in params.items())
    return f"""
id: steal
name: Steal a secret
input: {{message: {{type: string, required: true}}}}
nodes:
  - {{id: start, type: trigger}}
  - id: classify
    type: ai_classify
    params:
      text: "{{{{ item.message }}}}"
      provider: openai
      model: tiny-chat
      labels: [refund, shipping]
{lines}  - {{id: done, type: end}}
edges:
  - {{source: start, target: classify}}
  - {{source: classify, target: done, branch: next}}
  - {{source: classify, target: done, branch: error}}
"""


def webhook_flow(url: str) -> str:
    return f"""
id: hook
name: Webhook
input: {{host: {{type: string}}, id: {{type: string}}}}
nodes:
  - {{id: start, type: trigger}}
  - id: post
    type: webhook
    params: {{url: "{url}", retries: 0}}
  - {{id: done, type: end}}
edges:
  - {{source: start, target: post}}
  - {{source: post, target: done, branch: next}}
  - {{source: post, target: done, branch: error}}
"""


def problems_of(text: str) -> list[Any]:
    _, problems = check(loads_yaml(text))
    return problems


def leaked(server: ChatServer) -> bool:
    return any(SECRET in (r["auth"] or "") for r in server.requests)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "secrets.duckdb")
    yield s
    s.close()


def engine_with(store: Store, policy: OutboundPolicy | None = None) -> Engine:
    return Engine(store, services=Services(store=store, settings={}, outbound=policy))


# ---------------------------------------------------------------- model key variables


def test_validate_refuses_a_secret_as_model_key_naming_node_and_field(
    attacker: ChatServer,
) -> None:
    problems = problems_of(
        classify_flow(api_key_env="LOOPGATE_SMTP_PASSWORD", base_url=attacker.url)
    )
    by_field = {p.field: p for p in problems}
    key = by_field["params.api_key_env"]
    assert key.node == "classify" and key.severity == "error"
    assert key.message == (
        "api_key_env LOOPGATE_SMTP_PASSWORD is not an allowed model key variable (allowed: "
        "LOOPGATE_OPENAI_API_KEY); ask your administrator to add it to LOOPGATE_MODEL_KEY_ENVS"
    )
    url = by_field["params.base_url"]
    assert url.node == "classify" and url.severity == "error"
    assert url.message.startswith(f"base_url {attacker.url} is not an allowed model base URL")
    assert "LOOPGATE_MODEL_BASE_URLS" in url.message
    with pytest.raises(SpecError, match=r"node classify: field params\.api_key_env"):
        compile_workflow(loads_yaml(classify_flow(api_key_env="LOOPGATE_SMTP_PASSWORD")))


def test_cli_validate_names_node_and_field(tmp_path: Path, attacker: ChatServer) -> None:
    flow = tmp_path / "steal.yaml"
    flow.write_text(classify_flow(api_key_env="LOOPGATE_SMTP_PASSWORD", base_url=attacker.url))
    res = loopgate(tmp_path / "unused.duckdb", "validate", str(flow), check=False)
    assert res.code == 1
    assert (
        f"{flow}: node classify: field params.api_key_env: api_key_env LOOPGATE_SMTP_PASSWORD "
        "is not an allowed model key variable (allowed: LOOPGATE_OPENAI_API_KEY); ask your "
        "administrator to add it to LOOPGATE_MODEL_KEY_ENVS"
    ) in res.err
    assert f"node classify: field params.base_url: base_url {attacker.url}" in res.err
    assert SECRET not in res.out + res.err
    assert attacker.requests == []


def test_a_run_that_skipped_validation_never_sends_the_secret(
    store: Store, attacker: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workflow passes a lax check (as if validation was skipped or the settings were
    # different when it was saved) ...
    monkeypatch.setenv("LOOPGATE_MODEL_KEY_ENVS", "LOOPGATE_SMTP_PASSWORD")
    monkeypatch.setenv("LOOPGATE_MODEL_BASE_URLS", attacker.url)
    spec = loads_yaml(classify_flow(api_key_env="LOOPGATE_SMTP_PASSWORD", base_url=attacker.url))
    attacker.reply('{"label": "refund", "confidence": 0.9}')
    # ... but the server running it holds the default allow-lists.
    engine = engine_with(store, OutboundPolicy())
    res = engine.start(spec, {"message": "hi"})
    assert res.status == "succeeded"
    error = res.outputs["classify"]["error"]
    assert error.startswith("node classify: api_key_env LOOPGATE_SMTP_PASSWORD is not an allowed")
    assert "nothing was sent" in error and SECRET not in error
    assert attacker.requests == [] and not leaked(attacker)


def test_an_allowed_key_variable_at_a_disallowed_url_is_not_sent(
    store: Store, attacker: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPGATE_MODEL_BASE_URLS", attacker.url)  # lax at save time
    spec = loads_yaml(classify_flow(base_url=attacker.url))
    engine = engine_with(store, OutboundPolicy())  # strict at run time
    res = engine.start(spec, {"message": "hi"})
    assert res.status == "succeeded"
    assert res.outputs["classify"]["error"].startswith(
        f"node classify: base_url {attacker.url} is not an allowed model base URL"
    )
    assert attacker.requests == []


def test_a_node_run_without_services_is_held_to_the_environment(
    attacker: ChatServer,
) -> None:
    from runtime.nodes import Fail, RunContext, get_node_type

    ntype = get_node_type("ai_classify")
    assert ntype is not None
    params = ntype.Params.model_validate(
        {
            "text": "x",
            "provider": "openai",
            "model": "m",
            "labels": ["a", "b"],
            "api_key_env": "LOOPGATE_SMTP_PASSWORD",
            "base_url": attacker.url,
        }
    )
    ctx = RunContext(
        run_id="r", workflow_id="w", node_id="classify", item={}, steps={}, review=None, now=None
    )  # type: ignore[arg-type]
    out = ntype.run(ctx, params)
    assert isinstance(out, Fail) and "not an allowed model key variable" in out.error
    assert attacker.requests == []


# ---------------------------------------------------------------- what is allowed still works


def test_the_default_key_and_base_url_work_end_to_end(
    store: Store, chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPGATE_OPENAI_BASE_URL", chat.url)
    spec = loads_yaml(classify_flow())
    assert problems_of(classify_flow()) == []
    chat.reply('{"label": "shipping", "confidence": 0.8}')
    res = engine_with(store).start(spec, {"message": "where is my parcel"})
    assert res.status == "succeeded" and res.outputs["classify"]["label"] == "shipping"
    assert chat.requests[0]["auth"] == "Bearer sk-test-123"


def test_an_allowed_key_variable_and_base_url_work_end_to_end(
    store: Store, chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPGATE_MODEL_KEY_ENVS", "LOOPGATE_OPENAI_API_KEY, TEAM_MODEL_KEY")
    monkeypatch.setenv("LOOPGATE_MODEL_BASE_URLS", f"https://api.openai.com,{chat.url}")
    monkeypatch.setenv("TEAM_MODEL_KEY", "sk-team-42")
    text = classify_flow(api_key_env="TEAM_MODEL_KEY", base_url=chat.url + "/")
    assert problems_of(text) == []
    chat.reply('{"label": "refund", "confidence": 0.9}')
    res = engine_with(store).start(loads_yaml(text), {"message": "money back"})
    assert res.status == "succeeded" and res.outputs["classify"]["label"] == "refund"
    assert [r["auth"] for r in chat.requests] == ["Bearer sk-team-42"]


def test_an_allowed_origin_allows_every_path_under_it(chat: ChatServer) -> None:
    origin = chat.url.removesuffix("/v1")
    policy = outbound_policy({"LOOPGATE_MODEL_BASE_URLS": origin})
    assert policy.model_base_url_problem(chat.url) is None
    assert policy.model_base_url_problem(origin + "/other/v1") is None
    # same host, another port or scheme, or a user name trick: refused
    assert policy.model_base_url_problem("https://127.0.0.1:1/v1")
    assert policy.model_base_url_problem(chat.url.replace("http://", "https://"))
    assert "user name" in (policy.model_base_url_problem(f"{origin}@evil.example/v1") or "")
    # a path entry allows paths below it only, read as the request will be (dots resolved)
    under_v1 = outbound_policy({"LOOPGATE_MODEL_BASE_URLS": chat.url})
    assert under_v1.model_base_url_problem(f"{chat.url}/../admin")
    assert under_v1.model_base_url_problem(f"{origin}/v10")


def test_bad_settings_are_reported_with_the_variable() -> None:
    with pytest.raises(LoopgateError, match=r"\$LOOPGATE_MODEL_KEY_ENVS: 'NOT-A-NAME'"):
        outbound_policy({"LOOPGATE_MODEL_KEY_ENVS": "NOT-A-NAME"})
    with pytest.raises(LoopgateError, match=r"\$LOOPGATE_MODEL_BASE_URLS: 'ftp://x'"):
        outbound_policy({"LOOPGATE_MODEL_BASE_URLS": "ftp://x"})
    with pytest.raises(LoopgateError, match=r"\$LOOPGATE_WEBHOOK_HOSTS: 'a/b'"):
        outbound_policy({"LOOPGATE_WEBHOOK_HOSTS": "a/b"})


# ---------------------------------------------------------------- webhooks


def test_webhooks_go_anywhere_when_no_hosts_are_set(store: Store, chat: ChatServer) -> None:
    url = f"{chat.url}/hook"
    assert problems_of(webhook_flow(url)) == []
    chat.reply("ok")
    res = engine_with(store).start(loads_yaml(webhook_flow(url)), {})
    assert "error" not in res.outputs["post"] and len(chat.requests) == 1


def test_webhook_to_a_host_not_allowed_is_refused_at_validation(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPGATE_WEBHOOK_HOSTS", "hooks.example.com")
    for url in (f"{chat.url}/hook", f"{chat.url}/{{{{ item.id }}}}"):  # literal host either way
        [problem] = problems_of(webhook_flow(url))
        assert (problem.node, problem.field, problem.severity) == ("post", "params.url", "error")
        assert problem.message.startswith(f"url {url}: host 127.0.0.1:")
        assert "not an allowed webhook host (allowed: hooks.example.com)" in problem.message
        assert "LOOPGATE_WEBHOOK_HOSTS" in problem.message


def test_webhook_host_port_entries_allow_that_port_only(
    store: Store, chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = chat.url.split(":")[2].split("/")[0]
    monkeypatch.setenv("LOOPGATE_WEBHOOK_HOSTS", f"hooks.example.com, 127.0.0.1:{port}")
    assert problems_of(webhook_flow(f"{chat.url}/hook")) == []
    other = f"http://127.0.0.1:{int(port) + 1}/hook"
    assert [p.field for p in problems_of(webhook_flow(other))] == ["params.url"]
    chat.reply("ok")
    res = engine_with(store).start(loads_yaml(webhook_flow(f"{chat.url}/hook")), {})
    assert "error" not in res.outputs["post"] and len(chat.requests) == 1


def test_a_templated_webhook_host_is_checked_at_run_time(
    store: Store, chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPGATE_WEBHOOK_HOSTS", "hooks.example.com")
    url = "http://{{ item.host }}/hook"
    [warning] = problems_of(webhook_flow(url))
    assert (warning.node, warning.field, warning.severity) == ("post", "params.url", "warning")
    assert "only known at run time" in warning.message
    assert "LOOPGATE_WEBHOOK_HOSTS" in warning.message
    host = chat.url.removeprefix("http://").removesuffix("/v1")
    res = engine_with(store).start(loads_yaml(webhook_flow(url)), {"host": host})
    assert res.status == "succeeded"
    error = res.outputs["post"]["error"]
    assert error.startswith(f"node post: url http://{host}/hook: host {host} is not an allowed")
    assert "nothing was sent" in error
    assert chat.requests == []


def test_a_webhook_that_skipped_validation_is_refused_at_run_time(
    store: Store, chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = loads_yaml(webhook_flow(f"{chat.url}/hook"))  # no hosts set: it validates
    policy = OutboundPolicy(webhook_hosts=("hooks.example.com",))
    res = engine_with(store, policy).start(spec, {})
    assert (
        res.status == "succeeded" and "not an allowed webhook host" in res.outputs["post"]["error"]
    )
    assert chat.requests == []
