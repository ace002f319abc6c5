"""The optional OpenAI-compatible provider: chat completions over HTTP with httpx.

Works with any server that speaks ``POST {base}/chat/completions`` (OpenAI, Azure's
compatible endpoint, vLLM, llama.cpp's server, Ollama, LM Studio, ...). The base URL,
model and API key come from the node's parameters or the environment:

* ``LOOPGATE_OPENAI_BASE_URL``, e.g. ``https://api.openai.com/v1``
* ``LOOPGATE_OPENAI_MODEL``, e.g. ``gpt-4o-mini``
* ``LOOPGATE_OPENAI_API_KEY`` (a node may name another variable among those the
  administrator allows in ``LOOPGATE_MODEL_KEY_ENVS``; keys never go in workflow files)

A node's own base URL must be one the administrator allows in ``LOOPGATE_MODEL_BASE_URLS``
(see :class:`runtime.settings.OutboundPolicy`); anything else is refused before a request
is made, so a key never goes to a server the administrator did not name.

Timeouts, connection errors, 429 and 5xx answers are retried with exponential backoff;
anything else fails at once with a message naming the server and what it said.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, Field

from runtime.models.errors import ModelError
from runtime.settings import OutboundPolicy, outbound_policy

ENV_BASE_URL = "LOOPGATE_OPENAI_BASE_URL"
ENV_MODEL = "LOOPGATE_OPENAI_MODEL"
ENV_API_KEY = "LOOPGATE_OPENAI_API_KEY"
_RETRY_STATUS = {408, 429}
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class OpenAIConfig(BaseModel):
    """Where and how to call an OpenAI-compatible server."""

    base_url: str = Field(description="The API's base URL, up to and including /v1.")
    model: str = Field(description="The model to ask.")
    api_key: str | None = Field(
        None, repr=False, description="Bearer token, if the server needs one."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds per attempt.")
    max_retries: int = Field(2, ge=0, description="Attempts after the first on retryable errors.")
    backoff: float = Field(0.5, ge=0, description="Seconds before the first retry; doubles.")


class ChatAnswer(BaseModel):
    """A chat completion's text and the model the server says produced it."""

    text: str
    model: str


def resolve_config(
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    timeout: float = 30.0,
    max_retries: int = 2,
    backoff: float = 0.5,
    env: Mapping[str, str] | None = None,
    policy: OutboundPolicy | None = None,
) -> OpenAIConfig:
    """The configuration from explicit values, falling back to the environment.

    Args:
        policy: the allow-lists ``api_key_env`` and ``base_url`` must be in (default: read
            from ``env``); the configured default base URL is always allowed.

    Raises:
        ModelError: no base URL or no model, naming the variables to set; a key variable
            or base URL the policy does not allow (nothing is sent then).
    """
    env = os.environ if env is None else env
    policy = outbound_policy(env) if policy is None else policy
    key_env = api_key_env or ENV_API_KEY
    problem = policy.model_key_problem(key_env)
    if problem:
        raise ModelError(f"{problem}; nothing was sent")
    default_base = (env.get(ENV_BASE_URL) or "").strip().rstrip("/")
    base = (base_url or default_base).strip().rstrip("/")
    if base_url and base != default_base:
        problem = policy.model_base_url_problem(base)
        if problem:
            raise ModelError(f"{problem}; nothing was sent")
    name = (model or env.get(ENV_MODEL) or "").strip()
    if not base:
        raise ModelError(
            f"the openai provider needs a base URL: set {ENV_BASE_URL} "
            "(e.g. https://api.openai.com/v1) or the node's base_url"
        )
    if not base.startswith(("http://", "https://")):
        raise ModelError(f"the openai base URL {base!r} must start with http:// or https://")
    if not name:
        raise ModelError(f"the openai provider needs a model: set {ENV_MODEL} or the node's model")
    key = env.get(key_env) or None
    return OpenAIConfig(
        base_url=base,
        model=name,
        api_key=key,
        timeout=timeout,
        max_retries=max_retries,
        backoff=backoff,
    )


class OpenAICompatClient:
    """A small client for ``/chat/completions``.

    Args:
        config: where to call and how patiently.
        transport: an httpx transport (tests use a mock one; default: the network).
    """

    def __init__(self, config: OpenAIConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self._transport = transport

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        json_mode: bool = False,
    ) -> ChatAnswer:
        """Ask for one completion.

        Raises:
            ModelError: the server cannot be reached after the retries, refuses the request,
                or answers something that is not a chat completion.
        """
        cfg = self.config
        url = f"{cfg.base_url}/chat/completions"
        body: dict[str, Any] = {"model": cfg.model, "messages": messages}
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        headers = {"Content-Type": "application/json"}
        if cfg.api_key:
            headers["Authorization"] = f"Bearer {cfg.api_key}"
        last = ""
        with httpx.Client(
            timeout=cfg.timeout, transport=self._transport, follow_redirects=False
        ) as client:
            for attempt in range(cfg.max_retries + 1):
                if attempt:
                    time.sleep(cfg.backoff * 2 ** (attempt - 1))
                try:
                    response = client.post(url, json=body, headers=headers)
                except httpx.TimeoutException:
                    last = f"no answer within {cfg.timeout:g} s"
                    continue
                except httpx.TransportError as exc:
                    last = f"cannot connect ({type(exc).__name__}: {exc})"
                    continue
                if response.status_code >= 500 or response.status_code in _RETRY_STATUS:
                    last = f"HTTP {response.status_code}: {_error_text(response)}"
                    continue
                if response.status_code >= 400:
                    raise ModelError(
                        f"{url} refused the request (HTTP {response.status_code}): "
                        f"{_error_text(response)}"
                    )
                return _answer(url, response, cfg.model)
        tries = cfg.max_retries + 1
        raise ModelError(f"{url} failed after {tries} attempt{'s' if tries > 1 else ''}: {last}")


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    return json.dumps(data)[:200]


def _answer(url: str, response: httpx.Response, model: str) -> ChatAnswer:
    try:
        data = response.json()
        text = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ModelError(
            f"{url} did not answer with a chat completion: {response.text[:200]!r}"
        ) from None
    if not isinstance(text, str):
        raise ModelError(f"{url} answered without text content")
    return ChatAnswer(text=text, model=str(data.get("model") or model))


def parse_json_answer(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer (a ```json fence around it is fine).

    Raises:
        ModelError: the answer holds no JSON object.
    """
    match = _FENCE.match(text)
    body = match.group(1) if match else text.strip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        start, end = body.find("{"), body.rfind("}")
        try:
            value = json.loads(body[start : end + 1]) if 0 <= start < end else None
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, dict):
        raise ModelError(f"the model did not answer with a JSON object: {text[:200]!r}")
    return value


def classify(
    client: OpenAICompatClient, text: str, labels: list[str], *, temperature: float | None = 0.0
) -> dict[str, Any]:
    """Ask the model for one of ``labels`` and its confidence.

    Returns:
        ``{label, confidence, scores, model}``; ``scores`` holds the chosen label only (a
        chat model does not give a probability per label).

    Raises:
        ModelError: the server fails, or answers a label outside ``labels``.
    """
    system = (
        "You classify a text into exactly one of these labels: "
        + ", ".join(labels)
        + '. Answer with a JSON object only: {"label": "<one of the labels>", '
        '"confidence": <your probability that the label is right, from 0 to 1>}.'
    )
    answer = client.chat(
        [{"role": "system", "content": system}, {"role": "user", "content": text}],
        temperature=temperature,
        json_mode=True,
    )
    data = parse_json_answer(answer.text)
    label = data.get("label")
    if label not in labels:
        raise ModelError(
            f"model {answer.model} answered label {label!r}, which is not one of "
            f"{', '.join(labels)}"
        )
    try:
        confidence = min(1.0, max(0.0, float(data.get("confidence", 0.0))))
    except (TypeError, ValueError):
        raise ModelError(
            f"model {answer.model} gave a confidence that is not a number: "
            f"{data.get('confidence')!r}"
        ) from None
    return {
        "label": label,
        "confidence": confidence,
        "scores": {label: confidence},
        "model": answer.model,
    }


def generate(
    client: OpenAICompatClient,
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> ChatAnswer:
    """The model's answer to ``prompt`` (after an optional system message)."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return client.chat(messages, temperature=temperature, max_tokens=max_tokens)
