"""The paper exchange against the reference, apps/backtests/engine.py's `simulate` with fill="close":
one scripted long with a stop and a target over the same candles exits on the same candle with the
same fill prices and PnL.

Both fill a signal of bar s at bar s's close and check the stop and target from bar s+1 on. The
backtester sizes the trade from its cash, the paper order is 0.1 BTC (on the amount step): PnL is
linear in the quantity, so PnL per unit is compared."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from apps.backtests.engine import BacktestParams, simulate
from apps.exchanges.adapters.base import OrderRequest, OrderType, ProtectionKind, ProtectiveOrderRequest, Side
from apps.exchanges.adapters.paper import PaperAdapter
from apps.market.arrays import CandleArrays
from apps.strategies.decisions import LONG
from tests.exchanges.paper.helpers import SYMBOL, paper_account, release, store_bars
from tests.market.helpers import HOUR, START_MS

pytestmark = pytest.mark.django_db

# Entry 20000 × 1.0002 = 20004; stop 5 % below = 19003.8, target 10 % above = 22004.4 (on the 0.1 tick).
SCRIPTS = {
    "stop touched": [(20000, 20010, 19990, 20000), (20000, 20100, 19900, 20050), (20050, 20060, 19000, 19100)],
    "gap through the stop": [(20000, 20010, 19990, 20000), (20000, 20100, 19900, 20050), (18900, 19000, 18800, 18850)],
    "target touched": [(20000, 20010, 19990, 20000), (20000, 20100, 19900, 20050), (20050, 22100, 20000, 22050)],
    "both in one bar": [(20000, 20010, 19990, 20000), (20000, 20100, 19900, 20050), (20050, 22100, 18900, 20000)],
    "entry bar not checked": [
        (20000, 22100, 18900, 20000),
        (20000, 20100, 19900, 20050),
        (20050, 20060, 19000, 19100),
    ],
    "checked on the bar after the entry": [(20000, 20010, 19990, 20000), (20000, 20100, 18900, 19100)],
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_single_long_with_stop_and_target_matches_the_backtester(script):
    bars = SCRIPTS[script]
    table = np.array([[START_MS + i * HOUR, *bar, 1.0] for i, bar in enumerate(bars)], dtype=np.float64)
    codes = np.zeros(len(bars), dtype=np.int8)
    codes[0] = LONG
    reference = simulate(
        CandleArrays.from_rows(table),
        codes,
        BacktestParams(fee_bps=4.0, slippage_bps=2.0, sl_pct=5.0, tp_pct=10.0, fill="close"),
    ).trades
    assert len(reference) == 1 and reference.exit_bar[0] == len(bars) - 1

    _, feed = store_bars(bars)
    adapter = PaperAdapter(paper_account())  # binanceusdm taker 0.04 %, slippage 2 bps: the backtest's params
    entry = adapter.create_order(
        OrderRequest(symbol=SYMBOL, side=Side.BUY, type=OrderType.MARKET, amount=D("0.1"), client_order_id="e")
    )
    for kind, level in ((ProtectionKind.STOP_LOSS, "19003.8"), (ProtectionKind.TAKE_PROFIT, "22004.4")):
        adapter.create_protective_order(
            ProtectiveOrderRequest(
                symbol=SYMBOL, side=Side.SELL, kind=kind, amount=D("0.1"), trigger_price=D(level), client_order_id=kind
            )
        )
    fills = []
    for index in range(1, len(bars)):
        release(feed, index)
        fills += [(index, order) for order in adapter.sync() if order.filled > 0]
    [(exit_bar, exit_order)] = fills

    assert exit_bar == reference.exit_bar[0]
    assert float(entry.average_price) == pytest.approx(reference.entry_price[0], rel=1e-12)
    assert float(exit_order.average_price) == pytest.approx(reference.exit_price[0], rel=1e-12)
    assert exit_order.type == ("take_profit" if reference.reason[0] == 2 else "stop_loss")
    pnl = adapter.account.paper_state
    pnl.refresh_from_db()
    paper_pnl_per_unit = float(pnl.cash - adapter.account.paper_starting_balance) / 0.1
    assert paper_pnl_per_unit == pytest.approx(reference.pnl[0] / reference.quantity[0], rel=1e-9)
