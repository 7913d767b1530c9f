"""A local GGUF model through llama-cpp-python (optional: `make llm` installs it).

The answer is constrained by a JSON-schema grammar (llama.cpp turns `response_format`'s schema into
one), so the model can only write one of the three labels and one of three confidences. The score
is the label's sign times the confidence. Headlines are scored one after another, at most
`max_per_second` of them, so a long backlog never takes the worker's CPU for itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from apps.core.llama import LlamaUnavailable, load_model, packaged_model_path
from apps.news.sentiment.base import Analyzer, AnalyzerUnavailable, Label, Sentiment

PROMPT_VERSION = "prompt-1"
CONFIDENCE: dict[str, float] = {"low": 0.3, "medium": 0.6, "high": 0.9}
SIGN: dict[Label, int] = {Label.NEGATIVE: -1, Label.NEUTRAL: 0, Label.POSITIVE: 1}
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": [label.value for label in Label]},
        "confidence": {"type": "string", "enum": list(CONFIDENCE)},
    },
    "required": ["label", "confidence"],
    "additionalProperties": False,
}
SYSTEM_PROMPT = (
    "You rate crypto market news headlines for a trader. Is the headline good news (positive), "
    "bad news (negative) or neither (neutral) for the prices of the assets it names? "
    'Answer only with JSON: {"label": "positive|neutral|negative", "confidence": "low|medium|high"}.'
)
# The grammar bounds the answer to about 20 tokens; the margin only guards against a tokenizer's quirks.
MAX_ANSWER_TOKENS = 48


class RateLimiter:
    """Lets at most `per_second` calls start each second: `wait()` sleeps until the next may start."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError(f"rate {per_second} must be above 0 per second")
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next_start: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._next_start is not None and self._next_start > now:
            self._sleep(self._next_start - now)
            now = self._next_start
        self._next_start = now + self.interval


def parse_answer(content: str) -> Sentiment:
    """The model's JSON answer as a Sentiment; ValueError for anything outside the schema."""
    data = json.loads(content)
    if not isinstance(data, dict) or data.get("confidence") not in CONFIDENCE:
        raise ValueError(f"answer outside the schema: {content!r}")
    label = Label(data.get("label"))
    confidence = CONFIDENCE[data["confidence"]]
    return Sentiment(score=SIGN[label] * confidence, label=label, confidence=confidence)


class LlamaAnalyzer(Analyzer):
    name = "llama_cpp"

    def __init__(self, *, model_path: Path | None, max_per_second: float, threads: int = 2, context: int = 512) -> None:
        try:
            path = model_path or packaged_model_path()
            if not path.is_file():
                raise AnalyzerUnavailable(f"no GGUF model file at {path} (SENTIMENT_LLAMA_MODEL_PATH)")
            self._model = load_model(path, threads, context)
        except LlamaUnavailable as exc:
            raise AnalyzerUnavailable(str(exc)) from None
        self.version = f"{path.name}/{PROMPT_VERSION}"
        self._limiter = RateLimiter(max_per_second)

    def score_batch(self, headlines: Sequence[str]) -> list[Sentiment]:
        results = []
        for headline in headlines:
            self._limiter.wait()
            results.append(parse_answer(self._complete(headline)))
        return results

    def _complete(self, headline: str) -> str:
        response = self._model.create_chat_completion(
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": headline}],
            response_format={"type": "json_object", "schema": ANSWER_SCHEMA},
            temperature=0.0,
            max_tokens=MAX_ANSWER_TOKENS,
        )
        return response["choices"][0]["message"]["content"]
