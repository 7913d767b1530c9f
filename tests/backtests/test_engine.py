"""The backtest loop on hand-worked cases. Each test's docstring is the reference computation;
the asserted numbers are that computation written out.

Conventions of every case: cash 10,000; size 100 % of equity; fee and slippage 0 unless the
case sets them; bars are (open, high, low, close); "LONG at 0" means the signal on bar 0's close.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from apps.backtests.engine import (
    END_OPEN,
    EXIT,
    LONG,
    SHORT,
    SIGNAL,
    STOP_LOSS,
    TAKE_PROFIT,
    BacktestParams,
    BacktestParamsError,
    accepted_codes,
    simulate,
)
from apps.strategies.decisions import signals_for
from tests.backtests.helpers import bars, codes, flat, params, synthetic

approx = pytest.approx


def only_trade(result):
    assert len(result.trades) == 1
    t = result.trades
    return {
        "entry_bar": int(t.entry_bar[0]),
        "exit_bar": int(t.exit_bar[0]),
        "side": int(t.side[0]),
        "entry_price": float(t.entry_price[0]),
        "exit_price": float(t.exit_price[0]),
        "quantity": float(t.quantity[0]),
        "fees": float(t.fees[0]),
        "pnl": float(t.pnl[0]),
        "return_pct": float(t.return_pct[0]),
        "reason": int(t.reason[0]),
    }


def test_long_fills_at_next_open_with_slippage_pays_fees_on_both_sides_and_exits_on_signal() -> None:
    """fee 10 bps, slippage 100 bps.
    LONG at 0 -> bar 1 opens at 100: buy at 100 × 1.01 = 101; qty = 10000 / (101 × 1.001), so the
      notional qty × 101 = 10000 / 1.001 and the entry fee qty × 101 × 0.001 = 10 / 1.001 add up
      to the 10000 of equity; cash 10000 − qty × 0.101.
    EXIT at 2 -> bar 3 opens at 110: sell at 110 × 0.99 = 108.9; exit fee = qty × 108.9 × 0.001.
    pnl = qty × (108.9 − 101) − qty × 0.101 − qty × 0.1089 = qty × 7.6901.
    Equity: bar 0 10000; bar 1 10000 + qty × (105 − 101 − 0.101); bar 2 10000 + qty × (107 − 101 − 0.101);
    bars 3, 4 10000 + pnl.
    Held during bars 1 and 2 (bar 3's exit is at its open): exposure 2 / 5.
    """
    candles = bars(flat(100), (100, 110, 95, 105), (106, 108, 104, 107), (110, 112, 108, 111), (111, 113, 110, 112))
    result = simulate(candles, codes(5, {0: LONG, 2: EXIT}), params(fee_bps=10, slippage_bps=100))

    qty = 10_000 / (101 * 1.001)
    pnl = qty * 7.6901
    assert only_trade(result) == approx(
        {
            "entry_bar": 1,
            "exit_bar": 3,
            "side": 1,
            "entry_price": 101.0,
            "exit_price": 108.9,
            "quantity": qty,
            "fees": qty * 0.101 + qty * 0.1089,
            "pnl": pnl,
            "return_pct": 7.6901 / 101 * 100,
            "reason": SIGNAL,
        }
    )
    assert result.equity == approx([10_000, 10_000 + qty * 3.899, 10_000 + qty * 5.899, 10_000 + pnl, 10_000 + pnl])
    assert qty * 101 + qty * 101 * 0.001 == approx(10_000)
    assert result.in_position.tolist() == [False, True, True, False, False]


def test_short_sells_at_next_open_minus_slippage_and_buys_back_plus_slippage() -> None:
    """fee 10 bps, slippage 100 bps.
    SHORT at 0 -> bar 1 opens at 100: sell at 100 × 0.99 = 99; qty = 10000 / (99 × 1.001);
      entry fee = qty × 0.099 = 10 / 1.001.
    EXIT at 2 -> bar 3 opens at 90: buy at 90 × 1.01 = 90.9; exit fee = qty × 90.9 × 0.001.
    pnl = qty × (99 − 90.9 − 0.099 − 0.0909) = qty × 7.9101 = 799 / 1.001 (10000 / 99 × 7.9101 = 799).
    Equity at bar 1's close 98: 10000 − qty × 0.099 + qty × (99 − 98) = 10000 + qty × 0.901.
    """
    candles = bars(flat(100), (100, 101, 97, 98), (95, 96, 93, 94), (90, 91, 89, 90))
    result = simulate(candles, codes(4, {0: SHORT, 2: EXIT}), params(fee_bps=10, slippage_bps=100))

    trade = only_trade(result)
    assert trade["side"] == -1
    assert trade["entry_price"] == approx(99.0)
    assert trade["exit_price"] == approx(90.9)
    qty = 10_000 / (99 * 1.001)
    assert trade["quantity"] == approx(qty)
    assert trade["pnl"] == approx(799 / 1.001)
    assert result.equity[1] == approx(10_000 + qty * 0.901)
    assert result.equity[-1] == approx(10_000 + 799 / 1.001)


def test_stop_loss_is_checked_from_the_bar_after_the_entry_bar_and_fills_at_the_level_less_slippage() -> None:
    """slippage 10 bps, stop 5 %.
    LONG at 0 -> buy at bar 1's open 100 × 1.001 = 100.1; stop = 100.1 × 0.95 = 95.095.
    Bar 1 (the entry bar) trades down to 90 but is not checked. Bar 2's low 96 stays above the stop.
    Bar 3's low 94 touches it: sell at 95.095 × 0.999; pnl = qty × (95.095 × 0.999 − 100.1), qty = 10000 / 100.1.
    """
    candles = bars(flat(100), (100, 101, 90, 99), (99, 100, 96, 97), (97, 98, 94, 95))
    result = simulate(candles, codes(4, {0: LONG}), params(slippage_bps=10, sl_pct=5))

    qty = 10_000 / 100.1
    trade = only_trade(result)
    assert trade["reason"] == STOP_LOSS
    assert trade["exit_bar"] == 3
    assert trade["exit_price"] == approx(95.095 * 0.999)
    assert trade["pnl"] == approx(qty * (95.095 * 0.999 - 100.1))
    assert result.in_position.tolist() == [False, True, True, True]


def test_take_profit_fills_at_the_level_and_pays_the_exit_fee() -> None:
    """fee 10 bps, target 10 %.
    LONG at 0 -> buy at bar 1's open 100 with qty = 10000 / (100 × 1.001) = 100 / 1.001, entry fee
    qty × 100 × 0.001 = 10 / 1.001; target 110.
    Bar 2's high 111 reaches it: sell at 110, exit fee qty × 110 × 0.001 = 11 / 1.001;
    pnl = (1000 − 10 − 11) / 1.001 = 979 / 1.001.
    """
    candles = bars(flat(100), (100, 105, 99, 104), (104, 111, 103, 108), flat(108))
    result = simulate(candles, codes(4, {0: LONG}), params(fee_bps=10, tp_pct=10))

    trade = only_trade(result)
    assert (trade["reason"], trade["exit_bar"], trade["exit_price"]) == (TAKE_PROFIT, 2, approx(110.0))
    assert trade["fees"] == approx(21 / 1.001)
    assert trade["pnl"] == approx(979 / 1.001)
    assert result.equity[-1] == approx(10_000 + 979 / 1.001)


def test_when_stop_and_target_are_both_inside_one_bar_the_stop_wins() -> None:
    """stop 5 %, target 5 %: entry 100, stop 95, target 105. Bar 2 spans 94..106: the stop fills
    at 95; pnl = 100 × (95 − 100) = −500."""
    candles = bars(flat(100), flat(100), (100, 106, 94, 100))
    result = simulate(candles, codes(3, {0: LONG}), params(sl_pct=5, tp_pct=5))

    trade = only_trade(result)
    assert (trade["reason"], trade["exit_price"], trade["pnl"]) == (STOP_LOSS, approx(95.0), approx(-500.0))


@pytest.mark.parametrize(
    ("bar", "reason", "fill"),
    [
        ((90, 92, 88, 91), STOP_LOSS, 90.0),  # opens below the 95 stop: fills at the open, worse than 95
        ((115, 116, 113, 114), TAKE_PROFIT, 115.0),  # opens above the 110 target: fills at the open
    ],
)
def test_a_gap_through_a_level_fills_at_the_open(bar, reason, fill) -> None:
    """stop 5 %, target 10 %, slippage 10 bps; entry at bar 1's open 100 × 1.001 = 100.1, so the
    stop is 95.095 and the target 110.11. Bar 2 opens beyond one of them: the fill is that open
    less slippage, open × 0.999; pnl = qty × (open × 0.999 − 100.1), qty = 10000 / 100.1."""
    candles = bars(flat(100), flat(100), bar)
    result = simulate(candles, codes(3, {0: LONG}), params(slippage_bps=10, sl_pct=5, tp_pct=10))

    trade = only_trade(result)
    assert trade["reason"] == reason
    assert trade["exit_price"] == approx(fill * 0.999)
    assert trade["pnl"] == approx(10_000 / 100.1 * (fill * 0.999 - 100.1))


@pytest.mark.parametrize(
    ("bar", "reason", "fill"),
    [
        ((101, 106, 100, 104), STOP_LOSS, 105.0),  # high 106 crosses the 105 stop
        ((99, 100, 89, 92), TAKE_PROFIT, 90.0),  # low 89 crosses the 90 target
        ((108, 109, 107, 108), STOP_LOSS, 108.0),  # opens above the stop: fills at the open
        ((95, 96, 94, 95), None, None),  # between the levels: nothing (ends open)
        ((100, 106, 89, 100), STOP_LOSS, 105.0),  # both inside the bar: the stop wins
    ],
)
def test_short_stop_loss_and_take_profit(bar, reason, fill) -> None:
    """SHORT at 0 -> sell 100 at bar 1's open 100 (qty 100); stop 5 % above: 105; target 10 %
    below: 90. pnl = 100 × (100 − fill)."""
    candles = bars(flat(100), flat(100), bar)
    result = simulate(candles, codes(3, {0: SHORT}), params(sl_pct=5, tp_pct=10))

    trade = only_trade(result)
    assert trade["side"] == -1
    if reason is None:
        assert trade["reason"] == END_OPEN
        return
    assert (trade["reason"], trade["exit_price"], trade["pnl"]) == (reason, approx(fill), approx(100 * (100 - fill)))


def test_an_open_position_at_the_end_is_marked_to_the_last_close_without_an_exit_fee() -> None:
    """fee 10 bps. LONG at 0 -> buy 100 / 1.001 at 100, entry fee 10 / 1.001. No exit: at bar 2's
    close 120 the trade is reported open (end_open) at 120, fees 10 / 1.001 (entry only),
    pnl = (100 × 20 − 10) / 1.001 = 1990 / 1.001, 19.9 % of the notional 10000 / 1.001; the final
    equity is 10000 + 1990 / 1.001."""
    candles = bars(flat(100), (100, 101, 99, 100), (100, 121, 100, 120))
    result = simulate(candles, codes(3, {0: LONG}), params(fee_bps=10))

    trade = only_trade(result)
    assert trade == approx(
        {
            "entry_bar": 1,
            "exit_bar": 2,
            "side": 1,
            "entry_price": 100.0,
            "exit_price": 120.0,
            "quantity": 100 / 1.001,
            "fees": 10 / 1.001,
            "pnl": 1990 / 1.001,
            "return_pct": 19.9,
            "reason": END_OPEN,
        }
    )
    assert result.final_equity == approx(10_000 + 1990 / 1.001)
    assert result.in_position.tolist() == [False, True, True]


def test_a_signal_on_the_last_bar_cannot_fill() -> None:
    candles = bars(flat(100), flat(101), flat(102))
    result = simulate(candles, codes(3, {2: LONG}), params())

    assert len(result.trades) == 0
    assert result.equity.tolist() == [10_000.0] * 3
    assert not result.in_position.any()


def test_entries_while_in_a_position_are_ignored_and_an_opposite_entry_does_not_reverse() -> None:
    """LONG at 0 (buy 100 at 100), SHORT at 2 and LONG at 3 are ignored while long, EXIT at 4
    sells at bar 5's open 104: one long trade, pnl = 100 × 4 = 400. An EXIT while flat (bar 5)
    does nothing."""
    candles = bars(flat(100), flat(100), flat(101), flat(102), flat(103), flat(104), flat(105))
    result = simulate(candles, codes(7, {0: LONG, 2: SHORT, 3: LONG, 4: EXIT, 5: EXIT}), params())

    trade = only_trade(result)
    assert (trade["side"], trade["entry_bar"], trade["exit_bar"], trade["pnl"]) == (1, 1, 5, approx(400.0))


def test_an_exit_signal_closes_a_short_too() -> None:
    candles = bars(flat(100), flat(100), flat(97), flat(95))
    result = simulate(candles, codes(4, {0: SHORT, 2: EXIT}), params())

    assert only_trade(result)["pnl"] == approx(100 * (100 - 95))


def test_an_exit_at_the_open_comes_before_the_stop() -> None:
    """stop 5 %: EXIT at 2 sells at bar 3's open 99 (pnl −100) although bar 3 later trades
    through the 95 stop."""
    candles = bars(flat(100), flat(100), (100, 100, 99, 99), (99, 99, 90, 91))
    result = simulate(candles, codes(4, {0: LONG, 2: EXIT}), params(sl_pct=5))

    trade = only_trade(result)
    assert (trade["reason"], trade["exit_price"], trade["pnl"]) == (SIGNAL, approx(99.0), approx(-100.0))


def test_an_entry_signal_on_the_close_of_a_stopped_bar_is_taken() -> None:
    """stop 5 %. Bar 2 stops the long at 95 (pnl −500, equity 9500) and closes with a LONG
    signal: buy at bar 3's open 96, qty = 9500 / 96, marked at the last close 97 (end_open):
    pnl = 9500 / 96 × 1."""
    candles = bars(flat(100), flat(100), (99, 99, 94, 96), (96, 97, 95.5, 97))
    result = simulate(candles, codes(4, {0: LONG, 2: LONG}), params(sl_pct=5))

    trades = result.trades
    assert trades.reason.tolist() == [STOP_LOSS, END_OPEN]
    assert trades.entry_bar.tolist() == [1, 3]
    assert trades.quantity[1] == approx(9_500 / 96)
    assert trades.pnl.tolist() == approx([-500.0, 9_500 / 96])


def test_size_pct_takes_that_share_of_the_current_equity() -> None:
    """size 50 %. Buy at 100 with 10000 × 0.5 / 100 = 50; sell at 120: pnl 50 × 20 = 1000, equity
    11000. Buy again at 100 with 11000 × 0.5 / 100 = 55; ends open at 90: pnl 55 × −10 = −550.
    Final equity 10450."""
    candles = bars(flat(100), flat(100), flat(110), flat(120), flat(100), flat(90))
    result = simulate(candles, codes(6, {0: LONG, 2: EXIT, 3: LONG}), params(size_pct=50))

    assert result.trades.quantity.tolist() == approx([50.0, 55.0])
    assert result.trades.pnl.tolist() == approx([1000.0, -550.0])
    assert result.final_equity == approx(10_450.0)


def test_the_entry_notional_plus_its_fee_spend_exactly_the_sized_equity() -> None:
    """size 100 %, fee 25 bps, slippage 0. Buy at 100: qty = 10000 / (100 × 1.0025) = 99.7506...;
    notional 9975.0623..., fee 24.9376..., together 10000: the account never spends more than it
    holds (sizing on the price alone would buy 100, 10000 of notional plus a fee of 25 on top).
    Sold at 100 again: pnl = −(2 × 24.9376...) = −50 / 1.0025."""
    candles = bars(flat(100), flat(100), flat(100))
    result = simulate(candles, codes(3, {0: LONG, 1: EXIT}), params(fee_bps=25))

    trade = only_trade(result)
    assert trade["quantity"] == approx(99.75062344139651)
    assert trade["quantity"] * 100 == approx(9_975.062344139651)
    assert trade["quantity"] * 100 * 0.0025 == approx(24.937655860349)
    assert trade["pnl"] == approx(-50 / 1.0025)
    assert result.equity[1] == approx(10_000 - 25 / 1.0025)


def test_no_entry_once_equity_is_gone() -> None:
    """A short of 100 at 100 bought back at 300 loses 20000: equity −10000, so the LONG at 3 is
    not taken."""
    candles = bars(flat(100), flat(100), flat(300), flat(300), flat(300), flat(300))
    result = simulate(candles, codes(6, {0: SHORT, 2: EXIT, 3: LONG}), params())

    assert len(result.trades) == 1
    assert result.final_equity == approx(-10_000.0)


def test_final_equity_is_cash_plus_every_trade_pnl_and_fees_are_counted_once() -> None:
    candles = synthetic(3000)
    rng = np.random.default_rng(3)
    signal = rng.choice([0, LONG, SHORT, EXIT], size=3000, p=[0.85, 0.05, 0.05, 0.05]).astype(np.int8)
    result = simulate(candles, signal, params(fee_bps=4, slippage_bps=2, sl_pct=2, tp_pct=3, size_pct=80))

    trades = result.trades
    assert len(trades) > 50
    assert set(trades.reason.tolist()) >= {SIGNAL, STOP_LOSS, TAKE_PROFIT}
    assert result.final_equity == approx(10_000 + trades.pnl.sum(), rel=1e-12)
    # Each entry's notional plus its fee is 80 % of the equity before it (the cash, being flat).
    equity_before = 10_000 + np.concatenate(([0.0], np.cumsum(trades.pnl)[:-1]))
    assert trades.quantity * trades.entry_price * 1.0004 == approx(0.8 * equity_before, rel=1e-12)
    # Trades never overlap: the next entry needs a signal on a close after the exit.
    assert (trades.entry_bar[1:] > trades.exit_bar[:-1]).all()
    assert (trades.exit_bar >= trades.entry_bar + 1)[trades.reason != END_OPEN].all()


def test_accepted_codes_apply_the_cooldown_like_signals_for() -> None:
    """cooldown 2: LONG at 0 accepted; 1 and 2 suppressed (within 2 bars); 3 accepted (3 − 0 > 2);
    5 suppressed (5 − 3 = 2); the EXIT at 4 has its own count."""
    directions = np.array([LONG, LONG, LONG, LONG, EXIT, LONG], dtype=np.int8)
    accepted = accepted_codes(directions, 2)

    assert accepted.tolist() == [LONG, 0, 0, LONG, EXIT, 0]
    kept = [(s.bar_index, s.direction) for s in signals_for(directions, cooldown_bars=2) if not s.suppressed]
    assert [(int(i), str(d)) for i, d in kept] == [(0, "long"), (3, "long"), (4, "exit")]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"fee_bps": -1}, "fee-bps"),
        ({"slippage_bps": -0.5}, "slippage-bps"),
        ({"fee_bps": 5000}, "fee-bps"),
        ({"size_pct": 0}, "size-pct"),
        ({"size_pct": 150}, "size-pct"),
        ({"sl_pct": 0}, "sl-pct"),
        ({"sl_pct": 100}, "sl-pct"),
        ({"tp_pct": -1}, "tp-pct"),
        ({"cash": 0}, "cash"),
        ({"cash": math.nan}, "cash"),
        ({"fill": "open"}, "fill must be next_open or close, not 'open'"),
    ],
)
def test_bad_numbers_are_refused(overrides, fragment) -> None:
    with pytest.raises(BacktestParamsError, match=fragment):
        simulate(bars(flat(1), flat(1)), codes(2, {}), BacktestParams(**overrides))


def test_codes_must_match_the_candles() -> None:
    with pytest.raises(ValueError, match="3 signal codes for 2 candles"):
        simulate(bars(flat(1), flat(1)), codes(3, {}), params())


# ---------------------------------------------------------------- fill="close": the paper exchange's fills


def close_fill(**overrides: float | None) -> BacktestParams:
    return params(fill="close", **overrides)


def test_close_fill_enters_and_exits_at_the_signal_bars_close_with_slippage_and_fees() -> None:
    """fill close, fee 10 bps, slippage 100 bps.
    LONG at 0 -> buy at bar 0's close 100 × 1.01 = 101; qty = 10000 / (101 × 1.001) (notional plus
      fee = 10000); entry fee qty × 0.101. Bar 0's equity already holds it, marked to that close:
      10000 − qty × 0.101 + qty × (100 − 101) = 10000 − qty × 1.101.
    Bar 1 closes at 105: 10000 + qty × (105 − 101 − 0.101) = 10000 + qty × 3.899.
    EXIT at 2 -> sell at bar 2's close 110 × 0.99 = 108.9; exit fee qty × 0.1089;
      pnl = qty × (108.9 − 101 − 0.101 − 0.1089) = qty × 7.6901, in bar 2's equity.
    Held during bars 1 and 2 (entered at bar 0's close, left at bar 2's close): exposure 2 / 4.
    """
    candles = bars(flat(100), (100, 108, 99, 105), (106, 112, 104, 110), flat(111))
    result = simulate(candles, codes(4, {0: LONG, 2: EXIT}), close_fill(fee_bps=10, slippage_bps=100))

    qty = 10_000 / (101 * 1.001)
    pnl = qty * 7.6901
    assert only_trade(result) == approx(
        {
            "entry_bar": 0,
            "exit_bar": 2,
            "side": 1,
            "entry_price": 101.0,
            "exit_price": 108.9,
            "quantity": qty,
            "fees": qty * 0.101 + qty * 0.1089,
            "pnl": pnl,
            "return_pct": 7.6901 / 101 * 100,
            "reason": SIGNAL,
        }
    )
    assert result.equity == approx([10_000 - qty * 1.101, 10_000 + qty * 3.899, 10_000 + pnl, 10_000 + pnl])
    assert result.in_position.tolist() == [False, True, True, False]


def test_close_fill_shorts_and_covers_at_the_closes() -> None:
    """fill close, slippage 100 bps. SHORT at 1 -> sell at 100 × 0.99 = 99, qty 10000 / 99; EXIT at
    2 -> buy at 90 × 1.01 = 90.9; pnl = 10000 / 99 × 8.1 = 818.18..."""
    candles = bars(flat(101), (101, 102, 99, 100), (98, 99, 89, 90))
    result = simulate(candles, codes(3, {1: SHORT, 2: EXIT}), close_fill(slippage_bps=100))

    trade = only_trade(result)
    assert (trade["side"], trade["entry_bar"], trade["exit_bar"]) == (-1, 1, 2)
    assert (trade["entry_price"], trade["exit_price"]) == (approx(99.0), approx(90.9))
    assert trade["pnl"] == approx(10_000 / 99 * 8.1)


def test_close_fill_sizing_keeps_notional_plus_fee_within_the_sized_equity() -> None:
    """fill close, size 50 %, fee 25 bps. Buy at bar 0's close 200: qty = 10000 × 0.5 / (200 × 1.0025)
    = 24.93765...; notional 4987.53..., fee 12.46..., together 5000."""
    candles = bars(flat(200), flat(200))
    result = simulate(candles, codes(2, {0: LONG}), close_fill(size_pct=50, fee_bps=25))

    trade = only_trade(result)
    assert trade["quantity"] == approx(24.93765586034913)
    assert trade["quantity"] * 200 == approx(4_987.531172069826)
    assert trade["quantity"] * 200 * 0.0025 == approx(12.468827930174564)
    assert trade["quantity"] * 200 * 1.0025 == approx(5_000.0)


def test_close_fill_checks_the_stop_from_the_bar_after_the_entry_close() -> None:
    """fill close, slippage 10 bps, stop 5 %. LONG at 0 -> buy at bar 0's close 100 × 1.001 = 100.1;
    stop 100.1 × 0.95 = 95.095. Bar 0's low 90 came before the entry: not checked. Bar 1's low 94
    touches the stop (one bar earlier than an open fill could): sell at 95.095 × 0.999;
    pnl = qty × (95.095 × 0.999 − 100.1), qty = 10000 / 100.1. Held during bar 1 only."""
    candles = bars((100, 101, 90, 100), (99, 100, 94, 96), flat(96))
    result = simulate(candles, codes(3, {0: LONG}), close_fill(slippage_bps=10, sl_pct=5))

    trade = only_trade(result)
    assert (trade["reason"], trade["entry_bar"], trade["exit_bar"]) == (STOP_LOSS, 0, 1)
    assert trade["exit_price"] == approx(95.095 * 0.999)
    assert trade["pnl"] == approx(10_000 / 100.1 * (95.095 * 0.999 - 100.1))
    assert result.in_position.tolist() == [False, True, False]


def test_close_fill_a_bar_that_stops_the_position_and_signals_an_entry_enters_at_its_close() -> None:
    """fill close, stop 5 %. LONG at 0 -> buy 100 at 100, stop 95. Bar 1 trades through it (pnl −500,
    equity 9500), then its close says LONG: buy at 96, qty 9500 / 96, still open at bar 2's close 97
    (end_open): pnl 9500 / 96 × 1. The stop came during the bar, the signal at its close."""
    candles = bars(flat(100), (99, 99, 94, 96), flat(97))
    result = simulate(candles, codes(3, {0: LONG, 1: LONG}), close_fill(sl_pct=5))

    trades = result.trades
    assert trades.reason.tolist() == [STOP_LOSS, END_OPEN]
    assert trades.entry_bar.tolist() == [0, 1]
    assert trades.exit_bar.tolist() == [1, 2]
    assert trades.entry_price.tolist() == approx([100.0, 96.0])
    assert trades.quantity.tolist() == approx([100.0, 9_500 / 96])
    assert trades.pnl.tolist() == approx([-500.0, 9_500 / 96])
    assert result.equity.tolist() == approx([10_000.0, 9_500.0, 9_500 + 9_500 / 96])
    assert result.in_position.tolist() == [False, True, True]


def test_close_fill_an_exit_signal_on_a_stopped_bar_finds_the_position_gone() -> None:
    """fill close, stop 5 %: bar 1's range stops the long at 95 before its close's EXIT, which has
    nothing left to close: one trade, at the stop (not at the close 96)."""
    candles = bars(flat(100), (99, 99, 94, 96), flat(97))
    result = simulate(candles, codes(3, {0: LONG, 1: EXIT}), close_fill(sl_pct=5))

    trade = only_trade(result)
    assert (trade["reason"], trade["exit_bar"], trade["exit_price"]) == (STOP_LOSS, 1, approx(95.0))


def test_close_fill_an_entry_on_the_last_bar_fills_and_ends_open_at_a_loss_of_its_costs() -> None:
    """fill close, fee 10 bps, slippage 10 bps. LONG at 2, the last bar: buy at its close 102 × 1.001 =
    102.102, qty = 10000 / (102.102 × 1.001), fee 10 / 1.001. Marked to that same close (end_open,
    entry and exit bar 2): pnl = qty × (102 − 102.102) − 10 / 1.001, the slippage and the fee.
    Never held during a bar; the final equity is 10000 + pnl."""
    candles = bars(flat(100), flat(101), flat(102))
    result = simulate(candles, codes(3, {2: LONG}), close_fill(fee_bps=10, slippage_bps=10))

    qty = 10_000 / (102.102 * 1.001)
    pnl = -qty * 0.102 - 10 / 1.001
    trade = only_trade(result)
    assert (trade["reason"], trade["entry_bar"], trade["exit_bar"]) == (END_OPEN, 2, 2)
    assert (trade["entry_price"], trade["exit_price"]) == (approx(102.102), approx(102.0))
    assert trade["fees"] == approx(10 / 1.001)
    assert trade["pnl"] == approx(pnl)
    assert result.equity.tolist() == approx([10_000.0, 10_000.0, 10_000 + pnl])
    assert not result.in_position.any()


def test_close_fill_an_exit_on_the_last_bar_closes_the_trade_there() -> None:
    """fill close. LONG at 0 buys 100 at 100; EXIT at 2, the last bar, sells at its close 102: a
    signal exit (not end_open), pnl 200."""
    candles = bars(flat(100), flat(101), flat(102))
    result = simulate(candles, codes(3, {0: LONG, 2: EXIT}), close_fill())

    trade = only_trade(result)
    assert (trade["reason"], trade["exit_bar"], trade["pnl"]) == (SIGNAL, 2, approx(200.0))
    assert result.in_position.tolist() == [False, True, True]


def test_close_fill_keeps_one_position_and_needs_a_later_bar_to_enter_after_an_exit() -> None:
    """fill close. LONG at 0 (buy 100 at 100); SHORT at 1 and LONG at 2 ignored while long; EXIT at 3
    sells at 103 (pnl 300); LONG at 4 buys 10300 / 104, ends open at 105."""
    candles = bars(flat(100), flat(101), flat(102), flat(103), flat(104), flat(105))
    result = simulate(candles, codes(6, {0: LONG, 1: SHORT, 2: LONG, 3: EXIT, 4: LONG}), close_fill())

    trades = result.trades
    assert trades.entry_bar.tolist() == [0, 4]
    assert trades.exit_bar.tolist() == [3, 5]
    assert trades.reason.tolist() == [SIGNAL, END_OPEN]
    assert trades.pnl.tolist() == approx([300.0, 10_300 / 104])


def test_close_fill_trades_follow_their_signal_bars_on_a_random_run() -> None:
    candles = synthetic(3000, seed=5)
    rng = np.random.default_rng(4)
    signal = rng.choice([0, LONG, SHORT, EXIT], size=3000, p=[0.85, 0.05, 0.05, 0.05]).astype(np.int8)
    result = simulate(candles, signal, close_fill(fee_bps=4, slippage_bps=2, sl_pct=2, tp_pct=3, size_pct=80))

    trades = result.trades
    assert len(trades) > 50
    assert set(trades.reason.tolist()) >= {SIGNAL, STOP_LOSS, TAKE_PROFIT}
    assert result.final_equity == approx(10_000 + trades.pnl.sum(), rel=1e-12)
    # Every entry at the close of a bar with its side's signal, every signal exit at an EXIT's close.
    assert (signal[trades.entry_bar] == np.where(trades.side == 1, LONG, SHORT)).all()
    by_signal = trades.reason == SIGNAL
    assert (signal[trades.exit_bar[by_signal]] == EXIT).all()
    slip = 1 + trades.side * 0.0002
    assert trades.entry_price == approx(candles.close[trades.entry_bar] * slip, rel=1e-12)
    # A stop or target can end a trade on the bar after its entry, and that bar's close can enter again.
    assert (trades.exit_bar > trades.entry_bar)[trades.reason != END_OPEN].all()
    assert (trades.entry_bar[1:] >= trades.exit_bar[:-1]).all()
    assert (trades.entry_bar[1:] > trades.exit_bar[:-1])[by_signal[:-1]].all()
    equity_before = 10_000 + np.concatenate(([0.0], np.cumsum(trades.pnl)[:-1]))
    assert trades.quantity * trades.entry_price * 1.0004 == approx(0.8 * equity_before, rel=1e-12)
