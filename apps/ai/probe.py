"""Test connection: one tiny schema-constrained request to a model config, no retries, no fallback."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apps.ai.models import ModelConfig
from apps.ai.router import ModelRouter, default_router

PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["ok"]}},
    "required": ["status"],
    "additionalProperties": False,
}
PROBE_MESSAGES = [
    {"role": "system", "content": "You answer connection checks with JSON only."},
    {"role": "user", "content": 'Reply with exactly this JSON object: {"status": "ok"}'},
]
PROBE_MAX_TOKENS = 16
MAX_SHOWN_ANSWER = 200
PROBE_CALLER = "test-connection"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool  # the model answered
    schema_valid: bool  # and its answer is the JSON the schema asks for
    latency_ms: int
    answer: str  # the model's answer, shortened ("" when it failed)
    error: str  # what went wrong, safe to show: never the key
    outcome: str  # a ModelCall.Outcome


def _schema_valid(content: str) -> bool:
    try:
        return json.loads(content) == {"status": "ok"}
    except ValueError:
        return False


def model_config_test(*, config: ModelConfig, router: ModelRouter | None = None) -> ProbeResult:
    answer = (router or default_router).ask(
        config=config,
        messages=PROBE_MESSAGES,
        schema=PROBE_SCHEMA,
        caller=PROBE_CALLER,
        max_tokens=PROBE_MAX_TOKENS,
        use_fallback=False,
        check_budget=False,
        retries=0,
    )
    if answer.completion is None:
        error = answer.failure.removeprefix(f"{config.name}: ")
        return ProbeResult(False, False, answer.latency_ms, "", error, answer.failure_kind)
    content = answer.completion.content
    return ProbeResult(True, _schema_valid(content), answer.latency_ms, content[:MAX_SHOWN_ANSWER], "", "ok")
