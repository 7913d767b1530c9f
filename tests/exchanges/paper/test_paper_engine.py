"""paper_engine (pure): the maths on hand-worked numbers."""

from __future__ import annotations

from decimal import Decimal as D

from apps.exchanges.adapters import paper_engine as engine


def test_liquidation_price_worked_example():
    # 10x isolated at 20,000 with a 0.4 % maintenance rate:
    # long 20000 × (1 − 0.1 + 0.004) = 18,080; short 20000 × (1 + 0.1 − 0.004) = 21,920
    assert engine.liquidation_price(engine.LONG, D(20000), 10, D("0.004")) == D(18080)
    assert engine.liquidation_price(engine.SHORT, D(20000), 10, D("0.004")) == D(21920)


def test_apply_fill_average_partial_flip():
    pos = engine.apply_fill(engine.PositionState.flat(), engine.BUY, D(1), D(100)).position
    pos = engine.apply_fill(pos, engine.BUY, D(1), D(110)).position
    assert pos.entry_price == D(105)
    effect = engine.apply_fill(pos, engine.SELL, D("0.5"), D(120))
    assert (effect.realized_pnl, effect.position.amount, effect.opened) == (D("7.5"), D("1.5"), False)
    effect = engine.apply_fill(effect.position, engine.SELL, D(2), D(100))
    assert effect.realized_pnl == D("-7.5")  # 1.5 × (100 − 105)
    assert (effect.position.side, effect.position.amount, effect.position.entry_price) == (
        engine.SHORT,
        D("0.5"),
        D(100),
    )
    assert effect.opened


def test_protective_trigger_gap_touch_and_short_side():
    bar = engine.Bar(0, D(95), D(101), D(90), D(99))
    assert engine.protective_trigger(engine.STOP_LOSS, engine.SELL, D(96), bar) == (D(95), True)
    assert engine.protective_trigger(engine.STOP_LOSS, engine.SELL, D(92), bar) == (D(92), False)
    assert engine.protective_trigger(engine.TAKE_PROFIT, engine.SELL, D(102), bar) is None
    # a short's stop lies above, its target below
    assert engine.protective_trigger(engine.STOP_LOSS, engine.BUY, D(100), bar) == (D(100), False)
    assert engine.protective_trigger(engine.TAKE_PROFIT, engine.BUY, D(96), bar) == (D(95), True)
    assert engine.fill_priority(engine.STOP_LOSS, False) < engine.fill_priority(engine.TAKE_PROFIT, False)
    assert engine.fill_priority(engine.TAKE_PROFIT, True) < engine.fill_priority(engine.STOP_LOSS, False)
