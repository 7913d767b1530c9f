"""PnL figures against a hand computation (the desk in conftest.py).

Trader A, all time:
  plan 1: gross 2 × (110 − 100) = +20, fees 0.08 + 0.088 = 0.168 -> +19.832 after fees (a win)
  plan 2: short, gross −1 × (210 − 200) = −10, fees 0.08 + 0.084 = 0.164 -> −10.164 (a loss)
  plan 3: open 3 at 50, mark 48: unrealised 3 × (48 − 50) = −6; fee 0.06
  realised 20 − 10 = 10; fees 0.168 + 0.164 + 0.06 = 0.392; net 10 − 6 − 0.392 = 3.608
  balance 10,000 + 10 − 0.392 = 10,009.608; equity 10,009.608 − 6 = 10,003.608
  win rate 1/2; profit factor 19.832 / 10.164
Trader A today (plan 1 closed yesterday): realised −10, fees 0.164 + 0.06 = 0.224, unrealised −6, net −16.224
Trader B: gross 1 × (105 − 100) = 5, fees 0.082
Account today: realised −10 + 5 = −5, fees 0.224 + 0.082 = 0.306, unrealised −6, net −11.306;
  equity 10,000 + (10 + 5) − (0.392 + 0.082) − 6 = 10,008.526
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.traders.pnl_selectors import PnlToday, books, pnl_summary, pnl_today

D = Decimal


def test_trader_today_by_hand(hand_desk) -> None:
    assert pnl_today(trader_id=hand_desk.a.pk) == PnlToday(
        realised=D(-10), unrealised=D(-6), fees=D("0.224"), net=D("-16.224"), equity=D("10003.608")
    )


def test_account_today_adds_every_trader(hand_desk) -> None:
    assert pnl_today(account_id=hand_desk.account.pk) == PnlToday(
        realised=D(-5), unrealised=D(-6), fees=D("0.306"), net=D("-11.306"), equity=D("10008.526")
    )


def test_trader_all_time_by_hand(hand_desk) -> None:
    figures = books(trader_id=hand_desk.a.pk, start=None, end=None)
    assert (figures.realised, figures.fees, figures.unrealised) == (D(10), D("0.392"), D(-6))
    assert (figures.balance, figures.equity, figures.net) == (D("10009.608"), D("10003.608"), D("3.608"))
    assert sorted(figures.closed_trades) == [D("-10.164"), D("19.832")]


def test_summary_win_rate_profit_factor_and_count(hand_desk) -> None:
    summary = pnl_summary(trader_id=hand_desk.a.pk)
    assert (summary.realised, summary.fees, summary.net) == (D(10), D("0.392"), D("3.608"))
    assert summary.win_rate == 0.5
    assert summary.profit_factor == pytest.approx(19.832 / 10.164)
    assert summary.trade_count == 2


def test_summary_range_leaves_out_yesterdays_trade(hand_desk) -> None:
    summary = pnl_summary(trader_id=hand_desk.a.pk, start=timezone.now() - timedelta(hours=1))
    assert (summary.realised, summary.fees, summary.trade_count) == (D(-10), D("0.224"), 1)
    assert (summary.win_rate, summary.profit_factor) == (0.0, 0.0)  # one loss, no win


def test_both_scopes_at_once_are_refused(hand_desk) -> None:
    with pytest.raises(ValueError, match="not both"):
        pnl_today(trader_id=hand_desk.a.pk, account_id=hand_desk.account.pk)
