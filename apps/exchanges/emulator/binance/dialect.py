"""The Binance USDⓈ-M dialect: routes (dispatch and request authentication live in ``base.BinanceBase``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.exchanges.emulator.binance.account import Account
from apps.exchanges.emulator.binance.orders import Orders
from apps.exchanges.emulator.binance.streams import Streams
from apps.exchanges.emulator.wire import Router

if TYPE_CHECKING:
    from apps.exchanges.emulator.emulator import ExchangeEmulator


class BinanceDialect(Streams, Account, Orders):
    """Routes fapi requests to the endpoint groups after checking what Binance checks; serves market streams."""

    def __init__(self, emulator: ExchangeEmulator) -> None:
        super().__init__(emulator)
        self.router = Router()
        r = self.router.add
        r("GET", "/fapi/v1/ping", self.ping)
        r("GET", "/fapi/v1/time", self.time)
        r("GET", "/fapi/v1/exchangeInfo", self.exchange_info)
        r("GET", "/fapi/v1/klines", self.klines)
        r("GET", "/fapi/v1/markPriceKlines", self.klines)
        r("GET", "/fapi/v1/indexPriceKlines", self.klines)
        r("GET", "/fapi/v1/ticker/24hr", self.ticker_24hr)
        r("GET", "/fapi/v1/ticker/price", self.ticker_price)
        r("GET", "/fapi/v2/ticker/price", self.ticker_price)
        r("GET", "/fapi/v1/ticker/bookTicker", self.book_ticker)
        r("GET", "/fapi/v1/premiumIndex", self.premium_index)
        r("GET", "/fapi/v1/depth", self.depth)
        r("GET", "/fapi/v2/account", self.account_v2, "signed")
        r("GET", "/fapi/v3/account", self.account_v3, "signed")
        r("GET", "/fapi/v2/balance", self.balance, "signed")
        r("GET", "/fapi/v3/balance", self.balance, "signed")
        r("GET", "/fapi/v2/positionRisk", self.position_risk_v2, "signed")
        r("GET", "/fapi/v3/positionRisk", self.position_risk_v3, "signed")
        r("GET", "/fapi/v1/leverageBracket", self.leverage_bracket, "signed")
        r("GET", "/fapi/v1/commissionRate", self.commission_rate, "signed")
        r("GET", "/fapi/v1/positionSide/dual", self.get_position_mode, "signed")
        r("POST", "/fapi/v1/positionSide/dual", self.set_position_mode, "signed")
        r("POST", "/fapi/v1/leverage", self.set_leverage, "signed")
        r("POST", "/fapi/v1/marginType", self.set_margin_type, "signed")
        r("POST", "/fapi/v1/order", self.new_order, "signed")
        r("GET", "/fapi/v1/order", self.query_order, "signed")
        r("DELETE", "/fapi/v1/order", self.cancel_order, "signed")
        r("GET", "/fapi/v1/openOrder", self.query_open_order, "signed")
        r("GET", "/fapi/v1/openOrders", self.open_orders, "signed")
        r("GET", "/fapi/v1/allOrders", self.all_orders, "signed")
        r("DELETE", "/fapi/v1/allOpenOrders", self.cancel_all, "signed")
        r("POST", "/fapi/v1/algoOrder", self.new_algo_order, "signed")
        r("GET", "/fapi/v1/algoOrder", self.query_algo_order, "signed")
        r("DELETE", "/fapi/v1/algoOrder", self.cancel_algo_order, "signed")
        r("GET", "/fapi/v1/openAlgoOrders", self.open_algo_orders, "signed")
        r("GET", "/fapi/v1/allAlgoOrders", self.all_algo_orders, "signed")
        r("DELETE", "/fapi/v1/algoOpenOrders", self.cancel_all_algo, "signed")
        r("GET", "/fapi/v1/userTrades", self.user_trades, "signed")
        # ccxt's load_markets() calls this when options['fetchCurrencies'] is on; an empty list is valid.
        r("GET", "/sapi/v1/capital/config/getall", self.capital_config, "signed")
