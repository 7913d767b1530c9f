"""Gate futures account endpoints: accounts, positions, leverage (and with it margin mode), trades."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.exchanges.emulator.engine import Position
from apps.exchanges.emulator.gate.base import USER_ID, GateBase, error, seconds
from apps.exchanges.emulator.wire import Request, Response, fmt


class Account(GateBase):
    """Account, position and leverage endpoints (signed)."""

    # --- account and positions -------------------------------------------------------------------------
    def account_detail(self, request: Request) -> Response:
        return Response.of_json(
            200,
            {
                "user_id": USER_ID,
                "ip_whitelist": [],
                "currency_pairs": [],
                "key": {"mode": 1},
                "tier": 0,
                "copy_trading_role": 0,
            },
        )

    def accounts(self, request: Request) -> Response:
        a = self.engine.account()
        fees = sum((f.fee for f in self.engine.fills), Decimal(0))
        pnl = sum((f.realized_pnl for f in self.engine.fills), Decimal(0))
        money = 8
        return Response.of_json(
            200,
            {
                "user": USER_ID,
                "currency": a.asset,
                "total": fmt(a.wallet, money),
                "unrealised_pnl": fmt(a.unrealized_pnl, money),
                "position_margin": fmt(a.position_margin, money),
                "order_margin": fmt(a.order_margin, money),
                "available": fmt(a.available, money),
                "point": "0",
                "bonus": "0",
                "in_dual_mode": False,
                "enable_evolved_classic": True,
                "cross_initial_margin": fmt(a.position_margin + a.order_margin, money),
                "cross_maintenance_margin": fmt(a.maint_margin, money),
                "cross_order_margin": fmt(a.order_margin, money),
                "cross_unrealised_pnl": fmt(a.unrealized_pnl, money),
                "cross_available": fmt(a.available, money),
                "cross_margin_balance": fmt(a.margin_balance, money),
                "cross_mmr": "0",
                "cross_imr": "0",
                "isolated_position_margin": "0",
                "enable_new_dual_mode": False,
                "margin_mode": 0,
                "enable_tiered_mm": True,
                "maintenance_margin": fmt(a.maint_margin, money),
                "position_initial_margin": fmt(a.position_margin, money),
                "history": {
                    "dnw": fmt(self.engine.config.balance, money),
                    "pnl": fmt(pnl, money),
                    "fee": fmt(-fees, money),
                    "refr": "0",
                    "fund": "0",
                    "point_dnw": "0",
                    "point_fee": "0",
                    "point_refr": "0",
                    "bonus_dnw": "0",
                    "bonus_offset": "0",
                },
            },
        )

    def _position(self, pos: Position) -> dict[str, Any]:
        s = pos.symbol
        spec = self._spec(s)
        mark = self.engine.mark(s)
        contracts = self._contracts(s, abs(pos.qty))
        tier = spec.tier_for_notional(abs(pos.qty) * mark)
        cross = pos.margin_mode == "cross"
        pending = len(self.engine.open_orders(s, conditional=False))
        return {
            "user": USER_ID,
            "contract": self._id(s),
            "size": self._size(contracts if pos.qty >= 0 else -contracts),
            "leverage": "0" if cross else str(pos.leverage),
            "risk_limit": str(spec.max_notional_for_leverage(pos.leverage)),
            "leverage_max": str(spec.max_leverage),
            "maintenance_rate": str(tier.maint_margin_ratio if tier else "0.005"),
            "value": fmt(abs(pos.qty) * mark, 8),
            "margin": fmt(self.engine.position_margin(pos), 8),
            "entry_price": self._price(s, pos.entry_price) if pos.qty else "0",
            "liq_price": self._price(s, self.engine.liquidation_price(pos)) if pos.qty else "0",
            "mark_price": self._price(s, mark),
            "initial_margin": fmt(self.engine.position_margin(pos), 8),
            "maintenance_margin": fmt(self.engine.maint_margin(pos), 8),
            "unrealised_pnl": fmt(self.engine.unrealized_pnl(pos), 8),
            "realised_pnl": fmt(pos.realized_pnl, 8),
            "pnl_pnl": fmt(pos.realized_pnl, 8),
            "pnl_fund": "0",
            "pnl_fee": "0",
            "history_pnl": fmt(pos.realized_pnl, 8),
            "last_close_pnl": "0",
            "realised_point": "0",
            "history_point": "0",
            "adl_ranking": 5,
            "pending_orders": pending,
            "close_order": None,
            "mode": "single",
            "cross_leverage_limit": str(pos.leverage) if cross else "0",
            "update_time": pos.updated_ms // 1000,
            "update_id": 1,
            "open_time": pos.opened_ms // 1000 if pos.qty else 0,
            "trade_max_size": "0",
        }

    def positions(self, request: Request) -> Response:
        holding = request.query().get("holding") == "true"
        rows = [self._position(p) for p in self.engine.positions.values() if p.qty or not holding]
        return Response.of_json(200, rows)

    def position(self, request: Request, contract: str) -> Response:
        return Response.of_json(200, self._position(self.engine.position(self._contract(contract))))

    def set_leverage(self, request: Request, contract: str) -> Response:
        symbol = self._contract(contract)
        q = request.query()
        try:
            leverage = int(Decimal(q.get("leverage", "")))
            cross_limit = int(Decimal(q["cross_leverage_limit"])) if q.get("cross_leverage_limit") else None
        except ArithmeticError:
            raise error(400, "INVALID_PARAM_VALUE", "Invalid parameter `leverage`") from None
        spec = self._spec(symbol)
        if leverage == 0:
            # Gate: leverage 0 means cross margin, capped by cross_leverage_limit.
            value = cross_limit or spec.default_leverage
            mode = "cross"
        else:
            value, mode = leverage, "isolated"
        if value > spec.max_leverage:
            raise error(400, "LEVERAGE_TOO_HIGH", "leverage too high")
        if value < 1:
            raise error(400, "LEVERAGE_TOO_LOW", "leverage too low")
        self.engine.set_leverage(symbol, value)
        pos = self.engine.set_margin_mode(symbol, mode, strict=False)
        return Response.of_json(200, self._position(pos))

    # --- trades ----------------------------------------------------------------------------------------
    def my_trades(self, request: Request) -> Response:
        q = request.query()
        symbol = self._contract(q["contract"]) if q.get("contract") else None
        order_id = q.get("order")
        fills = [
            f
            for f in self.engine.fills
            if (symbol is None or f.symbol == symbol) and (not order_id or str(f.order_id) == order_id)
        ]
        if q.get("from"):
            fills = [f for f in fills if f.time_ms >= int(q["from"]) * 1000]
        if q.get("to"):
            fills = [f for f in fills if f.time_ms <= int(q["to"]) * 1000]
        fills = sorted(fills, key=lambda f: f.id, reverse=True)[: int(q.get("limit", 100))]
        rows = []
        for f in fills:
            order = self.engine.orders[f.order_id]
            rows.append(
                {
                    "id": f.id,
                    "trade_id": str(f.id),
                    "create_time": seconds(f.time_ms),
                    "contract": self._id(f.symbol),
                    "order_id": str(f.order_id),
                    "size": self._size(self._signed(f.side, self._contracts(f.symbol, f.qty))),
                    "close_size": self._size(0),
                    "price": self._price(f.symbol, f.price),
                    "role": "maker" if f.maker else "taker",
                    "text": order.client_id,
                    "fee": fmt(f.fee, 8),
                    "point_fee": "0",
                    "biz_info": "-",
                    "amend_text": "-",
                }
            )
        return Response.of_json(200, rows)
