"""Binance fapi account endpoints: balances, positions, brackets, leverage, margin type, trades."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.exchanges.emulator.binance.base import MONEY, BinanceBase, error, missing
from apps.exchanges.emulator.engine import Position, Side
from apps.exchanges.emulator.wire import Response, fmt, parse_bool


class Account(BinanceBase):
    """Account, position and settings endpoints (signed)."""

    # --- account ---------------------------------------------------------------------------------------
    def _asset_row(self) -> dict[str, Any]:
        a = self.engine.account()
        return {
            "asset": a.asset,
            "walletBalance": fmt(a.wallet, MONEY),
            "unrealizedProfit": fmt(a.unrealized_pnl, MONEY),
            "marginBalance": fmt(a.margin_balance, MONEY),
            "maintMargin": fmt(a.maint_margin, MONEY),
            "initialMargin": fmt(a.position_margin + a.order_margin, MONEY),
            "positionInitialMargin": fmt(a.position_margin, MONEY),
            "openOrderInitialMargin": fmt(a.order_margin, MONEY),
            "crossWalletBalance": fmt(a.wallet, MONEY),
            "crossUnPnl": fmt(a.unrealized_pnl, MONEY),
            "availableBalance": fmt(a.available, MONEY),
            "maxWithdrawAmount": fmt(a.available, MONEY),
            "updateTime": self.engine.now_ms(),
        }

    def _account_totals(self) -> dict[str, Any]:
        a = self.engine.account()
        return {
            "totalInitialMargin": fmt(a.position_margin + a.order_margin, MONEY),
            "totalMaintMargin": fmt(a.maint_margin, MONEY),
            "totalWalletBalance": fmt(a.wallet, MONEY),
            "totalUnrealizedProfit": fmt(a.unrealized_pnl, MONEY),
            "totalMarginBalance": fmt(a.margin_balance, MONEY),
            "totalPositionInitialMargin": fmt(a.position_margin, MONEY),
            "totalOpenOrderInitialMargin": fmt(a.order_margin, MONEY),
            "totalCrossWalletBalance": fmt(a.wallet, MONEY),
            "totalCrossUnPnl": fmt(a.unrealized_pnl, MONEY),
            "availableBalance": fmt(a.available, MONEY),
            "maxWithdrawAmount": fmt(a.available, MONEY),
        }

    def account_v3(self, params: dict[str, str]) -> Response:
        positions = [self._account_position_v3(p) for p in self._positions(None, active_only=True)]
        return Response.of_json(200, {**self._account_totals(), "assets": [self._asset_row()], "positions": positions})

    def account_v2(self, params: dict[str, str]) -> Response:
        positions = [self._account_position_v2(p) for p in self._positions(None, active_only=False)]
        body = {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
            **self._account_totals(),
            "assets": [{**self._asset_row(), "marginAvailable": True}],
            "positions": positions,
        }
        return Response.of_json(200, body)

    def balance(self, params: dict[str, str]) -> Response:
        a = self.engine.account()
        return Response.of_json(
            200,
            [
                {
                    "accountAlias": "SgsR",
                    "asset": a.asset,
                    "balance": fmt(a.wallet, MONEY),
                    "crossWalletBalance": fmt(a.wallet, MONEY),
                    "crossUnPnl": fmt(a.unrealized_pnl, MONEY),
                    "availableBalance": fmt(a.available, MONEY),
                    "maxWithdrawAmount": fmt(a.available, MONEY),
                    "marginAvailable": True,
                    "updateTime": self.engine.now_ms(),
                }
            ],
        )

    def _positions(self, symbol: str | None, *, active_only: bool) -> list[Position]:
        symbols = [symbol] if symbol else list(self.emu.markets)
        out = []
        for s in symbols:
            pos = self.engine.position(s)
            # v3 lists only symbols with a position or open orders; v2 lists every symbol.
            if not active_only or pos.qty or self.engine.open_orders(s, conditional=False):
                out.append(pos)
        return out

    def _position_numbers(self, pos: Position) -> dict[str, Any]:
        mark = self.engine.mark(pos.symbol)
        notional = pos.qty * mark
        upnl = self.engine.unrealized_pnl(pos)
        im = self.engine.position_margin(pos)
        order_im = sum((self.engine.order_margin(o) for o in self.engine.open_orders(pos.symbol)), Decimal(0))
        isolated = pos.margin_mode == "isolated" and pos.qty
        iso_wallet = abs(pos.qty) * pos.entry_price / pos.leverage if isolated else Decimal(0)
        fee = self.engine.config.taker_fee
        breakeven = pos.entry_price * (1 + fee * (1 if pos.qty > 0 else -1)) if pos.qty else Decimal(0)
        return {
            "symbol": self._id(pos.symbol),
            "positionSide": "BOTH",
            "positionAmt": self._qty(pos.symbol, pos.qty),
            "entryPrice": fmt(pos.entry_price, 8) if pos.qty else "0.0",
            "breakEvenPrice": fmt(breakeven, 8) if pos.qty else "0.0",
            "markPrice": fmt(mark, 8),
            "unRealizedProfit": fmt(upnl, MONEY),
            "liquidationPrice": fmt(self.engine.liquidation_price(pos), 8) if pos.qty else "0",
            "isolatedMargin": fmt(iso_wallet + upnl if isolated else Decimal(0), MONEY),
            "notional": fmt(notional, MONEY),
            "marginAsset": "USDT",
            "isolatedWallet": fmt(iso_wallet, MONEY),
            "initialMargin": fmt(im + order_im, MONEY),
            "maintMargin": fmt(self.engine.maint_margin(pos), MONEY),
            "positionInitialMargin": fmt(im, MONEY),
            "openOrderInitialMargin": fmt(order_im, MONEY),
            "adl": 1 if pos.qty else 0,
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": pos.updated_ms,
        }

    def position_risk_v3(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        return Response.of_json(200, [self._position_numbers(p) for p in self._positions(symbol, active_only=True)])

    def position_risk_v2(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        rows = []
        for pos in self._positions(symbol, active_only=False):
            n = self._position_numbers(pos)
            rows.append(
                {
                    "symbol": n["symbol"],
                    "positionAmt": n["positionAmt"],
                    "entryPrice": n["entryPrice"],
                    "breakEvenPrice": n["breakEvenPrice"],
                    "markPrice": n["markPrice"],
                    "unRealizedProfit": n["unRealizedProfit"],
                    "liquidationPrice": n["liquidationPrice"],
                    "leverage": str(pos.leverage),
                    "maxNotionalValue": str(self._spec(pos.symbol).max_notional_for_leverage(pos.leverage)),
                    "marginType": pos.margin_mode,
                    "isolatedMargin": n["isolatedMargin"],
                    "isAutoAddMargin": "false",
                    "positionSide": "BOTH",
                    "notional": n["notional"],
                    "isolatedWallet": n["isolatedWallet"],
                    "updateTime": pos.updated_ms,
                }
            )
        return Response.of_json(200, rows)

    def _account_position_v3(self, pos: Position) -> dict[str, Any]:
        n = self._position_numbers(pos)
        keys = ("symbol", "positionSide", "positionAmt", "isolatedMargin", "notional", "isolatedWallet")
        return {
            **{k: n[k] for k in keys},
            "unrealizedProfit": n["unRealizedProfit"],
            "initialMargin": n["initialMargin"],
            "maintMargin": n["maintMargin"],
            "updateTime": pos.updated_ms,
        }

    def _account_position_v2(self, pos: Position) -> dict[str, Any]:
        n = self._position_numbers(pos)
        return {
            "symbol": n["symbol"],
            "initialMargin": n["initialMargin"],
            "maintMargin": n["maintMargin"],
            "unrealizedProfit": n["unRealizedProfit"],
            "positionInitialMargin": n["positionInitialMargin"],
            "openOrderInitialMargin": n["openOrderInitialMargin"],
            "leverage": str(pos.leverage),
            "isolated": pos.margin_mode == "isolated",
            "entryPrice": n["entryPrice"],
            "breakEvenPrice": n["breakEvenPrice"],
            "maxNotional": str(self._spec(pos.symbol).max_notional_for_leverage(pos.leverage)),
            "bidNotional": "0",
            "askNotional": "0",
            "positionSide": "BOTH",
            "positionAmt": n["positionAmt"],
            "updateTime": pos.updated_ms,
        }

    def leverage_bracket(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        rows = [
            {
                "symbol": self._id(s),
                "notionalCoef": 1.0,
                "brackets": [
                    {
                        "bracket": t.bracket,
                        "initialLeverage": t.max_leverage,
                        "notionalCap": t.cap,
                        "notionalFloor": t.floor,
                        "maintMarginRatio": t.maint_margin_ratio,
                        "cum": t.cum,
                    }
                    for t in self._spec(s).tiers
                ],
            }
            for s in ([symbol] if symbol else self.emu.markets)
        ]
        return Response.of_json(200, rows[0] if symbol else rows)

    def commission_rate(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        assert symbol is not None
        return Response.of_json(
            200,
            {
                "symbol": self._id(symbol),
                "makerCommissionRate": str(self.engine.config.maker_fee),
                "takerCommissionRate": str(self.engine.config.taker_fee),
            },
        )

    def get_position_mode(self, params: dict[str, str]) -> Response:
        return Response.of_json(200, {"dualSidePosition": False})

    def set_position_mode(self, params: dict[str, str]) -> Response:
        if parse_bool(params.get("dualSidePosition")):
            # The emulator models one-way mode only; hedge mode is refused the way an account with positions is.
            raise error(400, -4068, "The position side cannot be changed if there exists position.")
        raise error(400, -4059, "No need to change position side.")

    def set_leverage(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        assert symbol is not None
        raw = params.get("leverage")
        if not raw:
            raise missing("leverage")
        if not raw.isdigit():
            raise error(400, -4028, f"Leverage {raw} is not valid")
        pos = self.engine.set_leverage(symbol, int(raw))
        return Response.of_json(
            200,
            {
                "leverage": pos.leverage,
                "maxNotionalValue": str(self._spec(symbol).max_notional_for_leverage(pos.leverage)),
                "symbol": self._id(symbol),
            },
        )

    def set_margin_type(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        assert symbol is not None
        raw = (params.get("marginType") or "").upper()
        modes = {"ISOLATED": "isolated", "CROSSED": "cross", "CROSS": "cross"}
        if raw not in modes:
            raise error(400, -4044, "The margin type is invalid.")
        self.engine.set_margin_mode(symbol, modes[raw])
        return Response.of_json(200, {"code": 200, "msg": "success"})

    # --- trades ----------------------------------------------------------------------------------------
    def user_trades(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        order_id = params.get("orderId")
        fills = [f for f in self.engine.fills if f.symbol == symbol and (not order_id or f.order_id == int(order_id))]
        start, end = params.get("startTime"), params.get("endTime")
        fills = [f for f in fills if (not start or f.time_ms >= int(start)) and (not end or f.time_ms <= int(end))]
        fills = fills[-int(params.get("limit", 500)) :]
        assert symbol is not None
        return Response.of_json(
            200,
            [
                {
                    "symbol": self._id(symbol),
                    "id": f.id,
                    "orderId": f.order_id,
                    "side": f.side.value,
                    "price": self._price(symbol, f.price),
                    "qty": self._qty(symbol, f.qty),
                    "realizedPnl": fmt(f.realized_pnl, MONEY),
                    "marginAsset": "USDT",
                    "quoteQty": fmt(f.qty * f.price, 5),
                    "commission": fmt(f.fee, MONEY),
                    "commissionAsset": "USDT",
                    "time": f.time_ms,
                    "positionSide": "BOTH",
                    "buyer": f.side is Side.BUY,
                    "maker": f.maker,
                }
                for f in fills
            ],
        )

    def capital_config(self, params: dict[str, str]) -> Response:
        return Response.of_json(200, [])
