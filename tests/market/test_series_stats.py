"""Coverage summaries stay equal to a full recount however candles are written."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from apps.market import services
from apps.market.models import CandleSeriesStats
from tests.factories import MarketFactory
from tests.market.helpers import HOUR, START_MS, freqtrade_rows, series_of

pytestmark = pytest.mark.django_db


def imported(rows: list[list]):
    market = MarketFactory()
    services.candle_series_import(market=market, timeframe="1h", series=series_of(rows), source="test")
    return market


def stats_of(market) -> tuple[int, int, int]:
    stats = CandleSeriesStats.objects.get(market=market, timeframe="1h")
    return stats.bars, stats.gaps, int(stats.last_open_time.timestamp() * 1000)


def test_import_records_bars_gaps_and_range() -> None:
    market = imported(freqtrade_rows(20, skip=(5, 6, 12)))
    assert stats_of(market) == (17, 2, START_MS + 19 * HOUR)


def test_appended_bars_extend_the_summary_like_a_recount() -> None:
    market = imported(freqtrade_rows(10))
    before = CandleSeriesStats.objects.values("bars", "gaps", "last_open_time").get(market=market)
    tail = freqtrade_rows(15)[10:]
    del tail[2]  # bar 12 missing: one new hole after the join
    services.candle_series_import(market=market, timeframe="1h", series=series_of(tail), source="tail")
    recounted = stats_of(market)

    CandleSeriesStats.objects.filter(market=market).update(**before)
    services.candle_stats_extend(
        market=market, timeframe="1h", open_time_ms=np.array([row[0] for row in tail], dtype=np.int64)
    )
    assert stats_of(market) == recounted == (14, 1, START_MS + 14 * HOUR)


def test_a_bar_inside_the_range_falls_back_to_a_recount() -> None:
    market = imported(freqtrade_rows(10, skip=(4,)))
    CandleSeriesStats.objects.filter(market=market).update(bars=999)
    services.candle_stats_extend(market=market, timeframe="1h", open_time_ms=np.array([START_MS + 4 * HOUR]))
    assert stats_of(market)[0] == 9


def test_deleting_a_series_removes_its_summary() -> None:
    market = imported(freqtrade_rows(5))
    services.candle_series_delete(market=market, timeframe="1h")
    assert not CandleSeriesStats.objects.filter(market=market).exists()


@pytest.mark.django_db(transaction=True)
def test_a_bulk_import_is_vacuumed_on_postgresql_outside_transactions() -> None:
    assert services.candle_table_tidy(rows_written=services.BULK_WRITE_ROWS - 1) is False
    ran = services.candle_table_tidy(rows_written=services.BULK_WRITE_ROWS)
    assert ran is (connection.vendor == "postgresql")
