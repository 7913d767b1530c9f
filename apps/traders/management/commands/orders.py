"""`manage.py orders place|cancel|list`: the trade ticket, an account's orders and their cancel, from a
terminal. `place` is the ticket's path: the trade plan preview (the risk gate's report printed first),
a confirmation, then the plan's execute with every live safeguard; nothing of its own."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from apps.core.cli import OperatorCommand, add_common_arguments, positive_decimal, table, to_json
from apps.core.roles import Role
from apps.exchanges import selectors as exchange_selectors
from apps.exchanges.adapters.base import Order, OrderStatus
from apps.exchanges.cli import account_named
from apps.exchanges.models import ExchangeAccount
from apps.traders import cli
from apps.traders.models import TradePlan
from apps.traders.services.orders import account_order_cancel
from apps.traders.services.plans import PlanInput, trade_plan_cancel, trade_plan_execute, trade_plan_preview
from apps.traders.trade_api import plan_json
from apps.traders.trade_views import report_context

LIST_LIMIT = 50


class Command(OperatorCommand):
    help = (
        "Place an order through the trade ticket's path (preview, risk gate, confirmation, execute), "
        "cancel orders, or list an account's orders."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="place|cancel|list")

        place = actions.add_parser("place", help="preview, confirm and send an order (operators)")
        add_common_arguments(place)
        place.add_argument("--account", required=True, help="the exchange account's name")
        place.add_argument(
            "--trader", help="the trader (risk profile) it goes through; default: the account's only one"
        )
        place.add_argument("--symbol", required=True, help="a market of the account's exchange, e.g. BTC/USDT:USDT")
        place.add_argument("--side", required=True, choices=("buy", "sell"))
        place.add_argument("--amount", type=positive_decimal, help="base units; default: sized by the risk profile")
        place.add_argument("--type", dest="order_type", choices=("market", "limit"), default="market")
        place.add_argument("--price", type=positive_decimal, help="the limit price (limit orders)")
        place.add_argument("--sl", type=positive_decimal, help="stop-loss price")
        place.add_argument("--tp", type=positive_decimal, help="take-profit price")
        place.add_argument("--leverage", type=int, help="default: the account's")
        place.add_argument("--reason", default="", help="why, kept with the plan")
        place.add_argument("--yes", action="store_true", help="send without asking (scripts)")
        place.add_argument(
            "--confirm", metavar="ACCOUNT", default="", help="live accounts: the account's name, typed, to send"
        )

        cancel = actions.add_parser("cancel", help="cancel open orders (operators)")
        add_common_arguments(cancel)
        cancel.add_argument("--account", required=True)
        which = cancel.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", dest="order_id", help="the exchange's order id (paper: the order number)")
        which.add_argument("--client-id", help="the client order id, e.g. to-42-en1")
        which.add_argument("--all", action="store_true", help="every open order on --symbol")
        cancel.add_argument("--symbol")

        listing = actions.add_parser("list", help="an account's orders, newest first")
        add_common_arguments(listing)
        listing.add_argument("--account", required=True)
        listing.add_argument("--open", action="store_true", help="open orders only")
        listing.add_argument("--symbol")
        listing.add_argument("--limit", type=int, default=LIST_LIMIT, help=f"at most this many (default {LIST_LIMIT})")

    def handle(self, *args: Any, **options: Any) -> None:
        {"place": self.place_order, "cancel": self.cancel_orders, "list": self.list_orders}[options["action"]](options)

    # --- place ---------------------------------------------------------------------------------------------
    def place_order(self, options: dict[str, Any]) -> None:
        user = self.act_as(options, Role.OPERATOR)
        account = account_named(options["account"])
        trader = cli.trader_for(account, options["trader"])
        request = PlanInput(
            trader_id=trader.pk,
            symbol=options["symbol"],
            side=options["side"],
            order_type=options["order_type"],
            quantity=options["amount"],
            entry_price=options["price"],
            stop_loss=options["sl"],
            take_profit=options["tp"],
            leverage=options["leverage"],
            reason=options["reason"],
        )
        with cli.refusals():
            plan = trade_plan_preview(plan=request, user=user)
        if not options["json"]:
            self._print_preview(plan)
        if plan.status == TradePlan.Status.REJECTED:
            self._json(options, plan)
            raise CommandError(f"not sent: {plan.status_reason}")
        confirmation = self._confirmation(options, plan, user)
        with cli.refusals():
            try:
                trade_plan_execute(plan_id=plan.pk, user=user, confirmation=confirmation)
            finally:
                plan.refresh_from_db()
                self._json(options, plan)
        if not options["json"]:
            self._print_sent(plan)

    def _confirmation(self, options: dict[str, Any], plan: TradePlan, user: Any) -> str:
        """What execute gets: the typed account name for a live plan; for others, a yes (--yes, or asked on
        a terminal). A preview not confirmed is cancelled, so it cannot be sent later by mistake."""
        if plan.live:
            if options["confirm"] or not sys.stdin.isatty():
                return options["confirm"]
            return input(f"Live order on {plan.account.name}: type the account's name to send it: ")
        if options["yes"]:
            return ""
        if sys.stdin.isatty() and input("Send this order? [y/N] ").strip().lower() in ("y", "yes"):
            return ""
        trade_plan_cancel(plan=plan, user=user)
        why = "not confirmed" if sys.stdin.isatty() else "stdin is not a terminal: pass --yes to send from a script"
        raise CommandError(f"not sent ({why}); preview {plan.pk} cancelled")

    def _print_preview(self, plan: TradePlan) -> None:
        context = report_context(plan)
        figures, market = context["figures"], plan.market
        what = "at market" if plan.order_type == TradePlan.OrderType.MARKET else f"limit {figures['entry_price']}"
        self.stdout.write(
            f"Preview {plan.pk}: {plan.side} {figures['quantity']} {market.symbol} {what} on {plan.account.name} "
            f"({plan.account.mode}) through trader {plan.trader.name}, {plan.leverage}x"
        )
        self.stdout.write(
            f"  price {figures['reference_price']}  stop-loss {figures['stop_loss'] or '-'}  "
            f"take-profit {figures['take_profit'] or '-'}"
        )
        for label, value in context["estimate_rows"]:
            self.stdout.write(f"  {label}: {value if value is not None else '-'}")
        self.stdout.write(f"Risk gate: {context['decision']}")
        rows = [
            {key: check.get(key, "") for key in ("rule", "value", "limit", "verdict", "message")}
            for check in context["checks"]
        ]
        for line in table(rows):
            self.stdout.write(f"  {line}")

    def _print_sent(self, plan: TradePlan) -> None:
        self.stdout.write(f"Plan {plan.pk} executed: {plan.get_status_display().lower()}. {plan.status_reason}")
        for execution in plan.executions.order_by("pk"):
            self.stdout.write(
                f"  {execution.get_leg_display()} {execution.client_order_id}: {execution.status}"
                + (f", exchange order {execution.exchange_order_id}" if execution.exchange_order_id else "")
            )
        if plan.status == TradePlan.Status.PENDING:
            self.stdout.write("  The worker sends it; follow it with `manage.py orders list` or on the plan's page.")

    def _json(self, options: dict[str, Any], plan: TradePlan) -> None:
        if options["json"]:
            self.stdout.write(to_json(plan_json(plan.pk)))

    # --- cancel --------------------------------------------------------------------------------------------
    def cancel_orders(self, options: dict[str, Any]) -> None:
        user = self.act_as(options, Role.OPERATOR)
        account = account_named(options["account"])
        if options["all"] and not options["symbol"]:
            raise CommandError("--all cancels the open orders of one market: give --symbol")
        with cli.refusals():
            orders = self._orders_to_cancel(account, options)
        done, refused = [], []
        for order in orders:
            try:
                with cli.refusals():
                    result = account_order_cancel(account=account, order=order, user=user)
            except CommandError as exc:
                refused.append(f"order {order.id}: {exc}")
                result = f"refused: {exc}"
            done.append(
                {"id": order.id, "client_order_id": order.client_order_id, "symbol": order.symbol, "result": result}
            )
        rows = [
            {"id": row["id"], "client id": row["client_order_id"], "symbol": row["symbol"], "result": row["result"]}
            for row in done
        ]
        self.emit(options, data=done, rows=rows, empty=f"No open order on {options['symbol']} at {account.name}.")
        if refused:
            raise CommandError("; ".join(refused))

    @staticmethod
    def _orders_to_cancel(account: ExchangeAccount, options: dict[str, Any]) -> list[Order]:
        if options["order_id"]:
            order = exchange_selectors.account_order_find(account=account, order_id=options["order_id"])
            if order is None:
                raise CommandError(f"--id: {account.name} has no open order {options['order_id']}")
            if order.status != OrderStatus.OPEN:
                raise CommandError(f"--id: order {order.id} is {order.status}; only an open order can be cancelled")
            return [order]
        open_orders = list(
            exchange_selectors.account_orders(account=account, symbol=options["symbol"], status=OrderStatus.OPEN)
        )
        if options["client_id"]:
            found = [order for order in open_orders if order.client_order_id == options["client_id"]]
            if not found:
                raise CommandError(f"--client-id: {account.name} has no open order {options['client_id']}")
            return found
        return open_orders

    # --- list ----------------------------------------------------------------------------------------------
    def list_orders(self, options: dict[str, Any]) -> None:
        self.act_as(options, Role.VIEWER)
        account = account_named(options["account"])
        status = OrderStatus.OPEN if options["open"] else None
        with cli.refusals():
            orders = list(
                exchange_selectors.account_orders(account=account, symbol=options["symbol"], status=status)[
                    : max(options["limit"], 1)
                ]
            )
        markets = exchange_selectors.account_markets(account=account)
        self.emit(
            options,
            data=[dataclasses.asdict(order) for order in orders],
            rows=[cli.order_row(order, markets.get(order.symbol)) for order in orders],
            empty=f"No {'open ' if status else ''}orders on {account.name}.",
        )
