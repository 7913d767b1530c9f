"""Chat clients, one kind per provider: remote ones over the official `openai` SDK, the local one in process.

OpenAI, Anthropic and Google are reached through their OpenAI-compatible endpoints, so one SDK speaks to
all of them and to any `openai_compatible` server (vLLM, Ollama, llama.cpp's server). Every failure
becomes a ProviderError with a kind (ModelCall.Outcome), whether it is worth repeating, and a message
that is safe to show: it never contains the API key.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import openai

from apps.ai.models import PACKAGED_LOCAL_MODEL, ModelCall, ModelConfig
from apps.core.llama import LlamaUnavailable, llama_module, load_model, packaged_model_path
from apps.secrets.redaction import redact_text

Provider = ModelConfig.Provider
Outcome = ModelCall.Outcome

DEFAULT_BASE_URLS: dict[str, str] = {
    Provider.OPENAI: "https://api.openai.com/v1",
    Provider.ANTHROPIC: "https://api.anthropic.com/v1/",
    Provider.GOOGLE: "https://generativelanguage.googleapis.com/v1beta/openai/",
}
OutputMode = ModelConfig.OutputMode
JSON_SCHEMA = OutputMode.JSON_SCHEMA.value  # response_format with the strict schema: the provider enforces it
JSON_OBJECT_SCHEMA = OutputMode.JSON_OBJECT_SCHEMA.value  # {"type": "json_object", "schema": ...}
JSON_OBJECT = OutputMode.JSON_OBJECT.value  # JSON mode: valid JSON of any shape; the schema goes into the prompt
GRAMMAR = "grammar"  # llama.cpp in process: a grammar built from the schema constrains every token
# Anthropic's OpenAI-compatible endpoint does not enforce a response_format schema; JSON mode plus the
# schema in the system message is what it honours.
STRUCTURED_OUTPUT: dict[str, str] = {
    Provider.OPENAI: JSON_SCHEMA,
    Provider.ANTHROPIC: JSON_OBJECT,
    Provider.GOOGLE: JSON_SCHEMA,
    Provider.OPENAI_COMPATIBLE: JSON_SCHEMA,
    Provider.LLAMA_CPP: GRAMMAR,
}
OUTPUT_MODE_TEXT: dict[str, str] = {
    JSON_SCHEMA: "strict JSON Schema output (response_format json_schema)",
    JSON_OBJECT_SCHEMA: "JSON mode with the schema (response_format json_object + schema)",
    JSON_OBJECT: "JSON mode, the schema in the prompt",
    GRAMMAR: "a grammar built from the schema, in process",
}


def structured_output(config: ModelConfig) -> str:
    """How `config` asks for structured output: its own choice, else its provider's default."""
    if config.provider == Provider.LLAMA_CPP:
        return GRAMMAR
    return config.output_mode or STRUCTURED_OUTPUT[config.provider]


# The local model's context window, and its CPU threads (2: the machine is shared with the web and the worker).
LOCAL_CONTEXT_TOKENS = 4096
LOCAL_THREADS = 2
MAX_ERROR_LENGTH = 200


class ProviderError(Exception):
    def __init__(self, kind: str, message: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class Completion:
    content: str
    tokens_in: int
    tokens_out: int


Messages = list[dict[str, str]]


class ChatClient(Protocol):
    structured_output: str

    def complete(
        self, *, messages: Messages, schema: dict[str, Any], max_tokens: int, temperature: float, timeout: float
    ) -> Completion: ...


def schema_instruction(schema: dict[str, Any]) -> str:
    return "Answer with only one JSON object that matches this JSON Schema:\n" + json.dumps(schema, sort_keys=True)


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from model providers; the backoff applies instead


def _provider_message(exc: openai.APIStatusError) -> str:
    detail = None
    if isinstance(exc.body, dict):
        error = exc.body.get("error")
        detail = exc.body.get("message") or (error.get("message") if isinstance(error, dict) else None)
    return redact_text(str(detail or exc.message))[:MAX_ERROR_LENGTH]


def provider_error(exc: openai.OpenAIError) -> ProviderError:
    """The SDK's exception as a ProviderError. Auth failures never quote the provider, which may echo the key."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(Outcome.TIMEOUT, "the model did not answer within the timeout", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(Outcome.UNREACHABLE, "could not connect to the provider (unreachable)", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in (401, 403):
            return ProviderError(Outcome.AUTH, f"the provider refused the API key (HTTP {status}): check the key")
        if status == 404:
            return ProviderError(
                Outcome.NOT_FOUND, f"unknown model or wrong base URL (HTTP 404): {_provider_message(exc)}"
            )
        if status == 429:
            return ProviderError(
                Outcome.RATE_LIMITED, "rate limited (HTTP 429)", retryable=True, retry_after=_retry_after(exc)
            )
        if status >= 500:
            return ProviderError(
                Outcome.SERVER_ERROR, f"provider error (HTTP {status}): {_provider_message(exc)}", retryable=True
            )
        return ProviderError(Outcome.BAD_REQUEST, f"request refused (HTTP {status}): {_provider_message(exc)}")
    return ProviderError(Outcome.ERROR, f"{type(exc).__name__}: {redact_text(str(exc))[:MAX_ERROR_LENGTH]}")


class RemoteClient:
    """One OpenAI SDK client for one model config. The SDK's own retries are off: the router retries."""

    def __init__(self, *, provider: str, model: str, base_url: str, api_key: str | None, output_mode: str = "") -> None:
        self.model = model
        self.structured_output = output_mode or STRUCTURED_OUTPUT[provider]
        self._client = openai.OpenAI(
            # Self-hosted servers often need no key; the SDK insists on one, which they ignore.
            api_key=api_key or "no-key",
            base_url=base_url or DEFAULT_BASE_URLS[provider],
            max_retries=0,
        )

    def __repr__(self) -> str:
        return f"RemoteClient(model={self.model!r}, base_url={str(self._client.base_url)!r})"

    def complete(
        self, *, messages: Messages, schema: dict[str, Any], max_tokens: int, temperature: float, timeout: float
    ) -> Completion:
        if self.structured_output == JSON_SCHEMA:
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "strict": True, "schema": schema},
            }
        elif self.structured_output == JSON_OBJECT_SCHEMA:
            response_format = {"type": "json_object", "schema": schema}
        else:
            response_format = {"type": "json_object"}
            messages = [*messages, {"role": "system", "content": schema_instruction(schema)}]
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=response_format,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                timeout=timeout,
            )
        except openai.OpenAIError as exc:
            raise provider_error(exc) from None
        return _completion(response)


def _completion(response: Any) -> Completion:
    try:
        content = response.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        raise ProviderError(Outcome.ERROR, "the provider's answer has no message") from None
    usage = getattr(response, "usage", None)
    return Completion(
        content=content,
        tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
        tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
    )


def local_model_path(model: str) -> Path:
    if model == PACKAGED_LOCAL_MODEL:
        return packaged_model_path()
    return Path(model)


@functools.lru_cache(maxsize=16)
def _grammar(schema_json: str) -> Any:
    return llama_module().LlamaGrammar.from_json_schema(schema_json, verbose=False)


def _chat_formatter(model: Any) -> Any:
    """The model's own chat template (from its GGUF metadata), as llama-cpp-python applies it."""
    template = model.metadata.get("tokenizer.chat_template")
    if not template:
        raise ProviderError(Outcome.UNAVAILABLE, "the GGUF model file has no chat template")
    eos, bos = model.token_eos(), model.token_bos()
    return llama_module().llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=model.detokenize([eos], special=True).decode("utf-8") if eos != -1 else "",
        bos_token=model.detokenize([bos], special=True).decode("utf-8") if bos != -1 else "",
        stop_token_ids=[eos],
    )


class LocalClient:
    """A GGUF model in this process. Generation stops at the timeout (then it counts as a timeout).

    The chat template is applied here rather than by `create_chat_completion`, which takes no stopping
    criteria: a completion with our own criterion is the one way to end generation at the deadline."""

    structured_output = GRAMMAR
    # One generation at a time per process: a llama.cpp context is not thread-safe.
    _lock = threading.Lock()

    def __init__(self, *, model: str) -> None:
        try:
            path = local_model_path(model)
            if not path.is_file():
                raise ProviderError(Outcome.UNAVAILABLE, f"no GGUF model file at {path}")
            self._model = load_model(path, LOCAL_THREADS, LOCAL_CONTEXT_TOKENS)
        except LlamaUnavailable as exc:
            raise ProviderError(Outcome.UNAVAILABLE, str(exc)) from None
        self._formatter = _chat_formatter(self._model)
        self.model = path.name

    def __repr__(self) -> str:
        return f"LocalClient(model={self.model!r})"

    def complete(
        self, *, messages: Messages, schema: dict[str, Any], max_tokens: int, temperature: float, timeout: float
    ) -> Completion:
        llama_cpp = llama_module()
        formatted = self._formatter(messages=messages)
        prompt = self._model.tokenize(
            formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
        )
        deadline = time.monotonic() + timeout
        timed_out = False

        def past_deadline(_tokens: Any, _logits: Any) -> bool:
            nonlocal timed_out
            timed_out = time.monotonic() > deadline
            return timed_out

        criteria = llama_cpp.StoppingCriteriaList([*(formatted.stopping_criteria or []), past_deadline])
        with self._lock:
            try:
                response = self._model.create_completion(
                    prompt=prompt,
                    grammar=_grammar(json.dumps(schema)),  # the schema's own key order: the order written
                    temperature=temperature,
                    max_tokens=max_tokens,
                    stop=formatted.stop,
                    seed=0,
                    stopping_criteria=criteria,
                )
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise ProviderError(Outcome.BAD_REQUEST, f"the local model refused the request: {exc}") from None
        if timed_out:
            raise ProviderError(Outcome.TIMEOUT, "the local model did not finish within the timeout")
        usage = response.get("usage") or {}
        return Completion(
            content=response["choices"][0]["text"] or "",
            tokens_in=int(usage.get("prompt_tokens", 0)),
            tokens_out=int(usage.get("completion_tokens", 0)),
        )
