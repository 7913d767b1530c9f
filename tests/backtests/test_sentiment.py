"""`manage.py backtest` of the RSI + sentiment preset over stored news: entries only where the base
asset's rolling sentiment at the close is positive, and no look-ahead (headlines published after a
close change nothing up to that close, only what follows)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import numpy as np
import pytest

from apps.market.candles_io import ms_to_datetime
from apps.strategies import indicators
from apps.strategies.presets import preset_spec_data
from tests.backtests.conftest import SYMBOL, stored_series
from tests.backtests.conftest import run_backtest_command as backtest
from tests.market.helpers import HOUR
from tests.news.helpers import reference_rolling_sentiment, scored_item, scored_news

pytestmark = pytest.mark.django_db
PRESET = ("--strategy", "rsi_sentiment", "--symbol", SYMBOL, "--timeframe", "1h", "--fill", "close")
WINDOW, MAX_AGE_HOURS = 10, 24


def rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def trade_rows(out) -> list[dict[str, str]]:
    return rows(out / "trades.csv")


def equity_rows(out) -> list[dict[str, str]]:
    return rows(out / "equity.csv")


def open_ms(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def news(market, settings):
    """About one headline an hour on BTC over the 600 stored hours, with random scores."""
    settings.NEWS_SENTIMENT_WINDOW, settings.NEWS_SENTIMENT_MAX_AGE_HOURS = WINDOW, MAX_AGE_HOURS
    times = stored_series().open_time_ms
    return scored_news(asset="BTC", start_ms=int(times[0]) - 6 * HOUR, end_ms=int(times[-1]), count=600, seed=3)


def test_the_preset_enters_only_where_the_sentiment_at_the_close_is_positive(market, news, tmp_path) -> None:
    """Reference: RSI(14) (apps.strategies.indicators.rsi, checked against StockCharts' worked example)
    and the slow reference loop of tests/news/test_rolling.py over the stored headlines."""
    series = stored_series()
    closes = series.open_time_ms + HOUR
    published, scores = [p for p, _s in news], [s for _p, s in news]
    sentiment, _counts = reference_rolling_sentiment(
        published, scores, closes.tolist(), window=WINDOW, max_age_ms=MAX_AGE_HOURS * HOUR
    )
    sentiment = np.array(sentiment)
    rsi = indicators.rsi(series.ohlcv[:, 3], 14)

    output = backtest(*PRESET, out=tmp_path)

    assert f"Sentiment: BTC news on {np.isfinite(sentiment).sum():,} of 600 bars" in output
    entries = [np.searchsorted(series.open_time_ms, open_ms(trade["entry_time"])) for trade in trade_rows(tmp_path)]
    assert len(entries) >= 2
    assert all(rsi[bar] < 30 and sentiment[bar] > 0 for bar in entries)
    # The sentiment filter matters here: RSI alone would have entered where the news was bad or absent.
    oversold_without_good_news = (rsi < 30) & ~(sentiment > 0)
    assert oversold_without_good_news.sum() >= 5 and np.isnan(sentiment).sum() < len(sentiment) // 4


def test_without_news_the_preset_never_enters_and_says_why(market, tmp_path) -> None:
    scored_item(ms_to_datetime(int(stored_series().open_time_ms[300])), 0.9, assets=("ETH",))  # not BTC's

    output = backtest(*PRESET, out=tmp_path / "news")
    rsi_alone = backtest("--strategy", "rsi_mean_reversion", "--symbol", SYMBOL, out=tmp_path / "rsi")

    assert trade_rows(tmp_path / "news") == [] and len(trade_rows(tmp_path / "rsi")) >= 2
    assert "Sentiment: BTC news on 0 of 600 bars (missing on the others" in output
    assert "Sentiment:" not in rsi_alone


def test_headlines_published_after_a_close_change_nothing_up_to_that_close(market, news, tmp_path) -> None:
    before = tmp_path / "before"
    backtest(*PRESET, out=before)
    times = stored_series().open_time_ms
    # A long that stayed open for a while: the bad news will cut it short.
    trade = next(t for t in trade_rows(before) if open_ms(t["exit_time"]) - open_ms(t["entry_time"]) >= 3 * HOUR)
    entry_bar = int(np.searchsorted(times, open_ms(trade["entry_time"])))
    close = int(times[entry_bar]) + HOUR

    for offset in range(WINDOW):  # published at the close and just after: all of them strongly negative
        scored_item(ms_to_datetime(close + offset), -1.0, title=f"Exchange hacked, withdrawals halted {offset}")
    after = tmp_path / "after"
    backtest(*PRESET, out=after)

    # Up to that close: the same equity bar for bar and the same trades, the entry on that close included.
    assert equity_rows(after)[: entry_bar + 1] == equity_rows(before)[: entry_bar + 1]
    kept = [t for t in trade_rows(before) if open_ms(t["entry_time"]) < open_ms(trade["entry_time"])]
    assert trade_rows(after)[: len(kept)] == kept
    entry = trade_rows(after)[len(kept)]
    assert (entry["entry_time"], entry["entry_price"]) == (trade["entry_time"], trade["entry_price"])
    # The next close reads the headlines: sentiment -1, so the exit rule closes the long there.
    assert open_ms(entry["exit_time"]) == int(times[entry_bar + 1])
    assert entry["exit_reason"] == "signal" and entry["exit_time"] != trade["exit_time"]


def test_a_grid_reads_the_same_news_as_single_runs(market, news, tmp_path) -> None:
    """Reference: one `manage.py backtest` per combination, whose metrics.json the grid's rows must equal."""
    backtest(*PRESET, "--grid", "rsi_14.period=10,14", "--processes", "1", out=tmp_path / "grid")
    grid = {row["rsi_14.period"]: row for row in rows(tmp_path / "grid" / "grid.csv")}

    for period in ("10", "14"):
        spec = tmp_path / f"rsi_{period}.json"
        data = preset_spec_data("rsi_sentiment", markets=[SYMBOL])
        data["indicators"][0]["period"] = int(period)
        spec.write_text(json.dumps(data))
        backtest("--spec", str(spec), "--symbol", SYMBOL, "--fill", "close", out=tmp_path / period)
        single = json.loads((tmp_path / period / "metrics.json").read_text())["metrics"]
        assert int(grid[period]["trade_count"]) == single["trade_count"]
        assert float(grid[period]["total_return"]) == pytest.approx(single["total_return"], rel=1e-9)
    assert int(grid["14"]["trade_count"]) >= 2
