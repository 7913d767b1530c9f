from __future__ import annotations

import csv
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from tqdm import tqdm

from apps.backtests import grid, selectors, services, trader_runs
from apps.backtests.engine import FILL_NEXT_OPEN, FILLS, BacktestParams
from apps.backtests.management.periods import TIME_FORMAT, period_option
from apps.backtests.metrics import METRICS, compute_metrics, format_metric
from apps.backtests.models import BacktestRun
from apps.backtests.reports import RunContext, write_outputs
from apps.core.errors import ServiceValidationError
from apps.market import selectors as market_selectors
from apps.market.models import ExchangeId, Market
from apps.market.timeframes import TIMEFRAME_MS, timeframe_ms
from apps.news.selectors import candle_sentiment
from apps.strategies.models import Strategy
from apps.strategies.presets import PRESETS, preset_names, preset_spec_data
from apps.strategies.spec import StrategySpec, validate_spec
from apps.traders.models import Trader

GRID_FILE = "grid.csv"
GRID_COLUMNS = (
    "total_return",
    "cagr",
    "max_drawdown",
    "sharpe",
    "sortino",
    "win_rate",
    "profit_factor",
    "exposure",
    "trade_count",
    "fees_paid",
)
NAMES_SHOWN = 20
BAR_DELAY_SECONDS = 1.0
BAR_TICK_SECONDS = 0.5
# Phases are not equal steps: a rate or an ETA computed from them would mislead.
PHASE_BAR = "{desc}: {percentage:3.0f}%|{bar}| {elapsed}"


@contextmanager
def progress_bar(
    options: dict[str, Any], *, total: int, unit: str, desc: str = "", bar_format: str | None = None
) -> Iterator[tqdm]:
    """A bar on stderr (stdout stays the report, for scripts), shown only on a terminal and only
    once the work has taken a second: a quick run prints nothing more than before.

    tqdm redraws only when it is updated, so a long phase without updates (numba compiling the
    kernels on the first run after an install) would stay silent; a ticker redraws it meanwhile.
    """
    bar = tqdm(
        total=total,
        desc=desc,
        unit=unit,
        bar_format=bar_format,
        file=sys.stderr,
        delay=BAR_DELAY_SECONDS,
        mininterval=0,
        miniters=1,  # every phase is drawn: tqdm would otherwise skip updates smaller than the last
        disable=True if options["verbosity"] == 0 else None,  # None: off when stderr is no terminal
    )
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(BAR_TICK_SECONDS):
            if bar.format_dict["elapsed"] >= BAR_DELAY_SECONDS:
                bar.refresh()

    ticker = threading.Thread(target=tick, name="progress-bar", daemon=True)
    if not bar.disable:
        ticker.start()
    try:
        yield bar
    finally:
        stop.set()
        if ticker.is_alive():
            ticker.join()
        bar.close()


def _candles_on(bar: tqdm, done: int, total: int) -> None:
    bar.total = total
    bar.update(done - bar.n)


def _phases_on(bar: tqdm) -> services.ProgressCallback:
    def show(phase: str, percent: int) -> None:
        bar.set_description_str(BacktestRun.Phase(phase).label if phase else "done", refresh=False)
        bar.update(percent - bar.n)

    return show


class Command(BaseCommand):
    help = (
        "Backtest a strategy (a preset, a stored strategy or a spec file) over stored candles: writes trades.csv, "
        "equity.csv, metrics.json and report.html to --out and records a BacktestRun. With --grid, sweeps "
        "parameters on every core and prints a table instead (grid runs are not recorded). With --trader, runs "
        "a trader's whole decision path (its strategy, sizing, stop and target rules, risk profile and the paper "
        "fill model) and writes the same files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--strategy",
            metavar="NAME",
            help=f"a preset ({', '.join(preset_names())}) or a stored strategy's name (the stored one wins a tie)",
        )
        source.add_argument("--spec", type=Path, metavar="FILE", help="a JSON strategy spec file")
        source.add_argument(
            "--trader",
            metavar="NAME",
            help="a trader's name: its own rules decide (the fee, slippage, size, level and fill options do not apply)",
        )
        parser.add_argument(
            "--symbol", help="ccxt unified symbol, e.g. BTC/USDT:USDT (with --trader: default its first market)"
        )
        parser.add_argument("--exchange", default=ExchangeId.BINANCEUSDM, choices=ExchangeId.values)
        parser.add_argument(
            "--timeframe", choices=list(TIMEFRAME_MS), help="default: the spec's timeframe (1h for a preset)"
        )
        parser.add_argument(
            "--from", dest="start", metavar="DATE", help="first bar, inclusive (default: the first stored bar)"
        )
        parser.add_argument(
            "--to",
            dest="end",
            metavar="DATE",
            help="last bar, inclusive: a date means through that whole day (default: the last stored bar)",
        )
        parser.add_argument("--cash", type=float, default=10_000.0, help="initial cash (default 10000)")
        parser.add_argument("--fee-bps", type=float, default=4.0, help="fee per side, bps of notional (default 4)")
        parser.add_argument("--slippage-bps", type=float, default=2.0, help="per fill, bps of price (default 2)")
        parser.add_argument("--size-pct", type=float, default=100.0, help="percent of equity per entry, (0, 100]")
        parser.add_argument("--sl-pct", type=float, help="stop-loss distance from the entry fill, percent")
        parser.add_argument("--tp-pct", type=float, help="take-profit distance from the entry fill, percent")
        parser.add_argument(
            "--fill",
            choices=FILLS,
            default=FILL_NEXT_OPEN,
            help="where a signal fills: the next bar's open (default) or its own bar's close, as paper trading does",
        )
        parser.add_argument("--out", type=Path, help="output directory (default: var/backtests/<time>-<strategy>)")
        parser.add_argument(
            "--grid",
            nargs="+",
            metavar="KEY=V1,V2",
            help="sweep the Cartesian product, e.g. rsi_14.lower=20,25,30 sl_pct=1,2,3",
        )
        parser.add_argument("--sort-by", default="sharpe", choices=grid.SORT_METRICS, help="grid order (best first)")
        parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="grid worker processes")
        parser.add_argument("--top", type=int, help="print only the best N grid rows")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["trader"] is not None:
            self._trader(options)
            return
        if options["symbol"] is None:
            raise CommandError("--symbol is required with --strategy or --spec")
        spec, name, source, strategy = self._strategy(options)
        timeframe = options["timeframe"] or spec.timeframe
        if timeframe != spec.timeframe:
            if source != BacktestRun.Source.PRESET:
                self.stdout.write(f"note: the spec's timeframe is {spec.timeframe}; running on {timeframe}.")
            spec = spec.model_copy(update={"timeframe": timeframe})
        market = market_selectors.market_get(exchange=options["exchange"], symbol=options["symbol"])
        if market is None:
            raise CommandError(self._unknown_market(options["exchange"], options["symbol"]))
        start, end = period_option(options["start"], options["end"])
        params = BacktestParams(
            cash=options["cash"],
            fee_bps=options["fee_bps"],
            slippage_bps=options["slippage_bps"],
            size_pct=options["size_pct"],
            sl_pct=options["sl_pct"],
            tp_pct=options["tp_pct"],
            fill=options["fill"],
        )
        problems = params.problems()
        if problems:
            raise CommandError("bad options:\n  " + "\n  ".join(problems))
        if options["grid"]:
            self._grid(options, spec=spec, market=market, timeframe=timeframe, start=start, end=end, params=params)
            return
        request = services.BacktestRequest(
            spec=spec,
            market=market,
            params=params,
            strategy_name=name,
            strategy_source=source,
            strategy=strategy,
            start=start,
            end=end,
            out_dir=options["out"],
        )
        try:
            run = services.backtest_run_create(request=request)
            with progress_bar(options, total=services.DONE_PERCENT, unit="%", bar_format=PHASE_BAR) as bar:
                outcome = services.backtest_run_execute(run=run, progress=_phases_on(bar))
        except ServiceValidationError as exc:
            raise CommandError(exc.message) from None
        if outcome is None:  # only if another process ran the row created just above
            raise CommandError(f"BacktestRun #{run.pk} was run by another process")
        self._summary(outcome)

    # ------------------------------------------------------------------ a trader

    def _trader(self, options: dict[str, Any]) -> None:
        if options["grid"]:
            raise CommandError("--grid sweeps a strategy's parameters; a trader runs its own rules (drop --grid)")
        requested = period_option(options["start"], options["end"])
        started = time.perf_counter()
        try:
            with progress_bar(options, total=0, unit=" candles", desc="simulating") as bar:
                backtest = trader_runs.trader_backtest(
                    name=options["trader"],
                    symbol=options["symbol"],
                    period=trader_runs.TraderPeriod(start=requested[0], end=requested[1]),
                    cash=Decimal(str(options["cash"])),
                    progress=partial(_candles_on, bar),
                )
        except ServiceValidationError as exc:
            raise CommandError(exc.message) from None
        result, trader, market = backtest.run.result, backtest.trader, backtest.market
        timeframe = backtest.spec.timeframe
        metrics = compute_metrics(result, timeframe_ms=timeframe_ms(timeframe))
        context = RunContext(
            strategy_name=trader.name,
            strategy_source=BacktestRun.Source.TRADER,
            strategy_version=trader.strategy_version or trader.strategy.version,
            exchange=market.exchange,
            symbol=market.symbol,
            timeframe=timeframe,
            spec=backtest.spec.model_dump(mode="json", exclude_none=True),
            extra=_trader_parameters(trader),
        )
        out = options["out"] or services.default_out_dir(f"trader-{trader.name}", market.symbol, timeframe)
        paths = write_outputs(Path(out), result, metrics, context)
        run = services.backtest_run_record(
            context=context,
            market=market,
            strategy=trader.strategy,
            outcome=(result, metrics, paths),
            requested=requested,
            duration_seconds=time.perf_counter() - started,
        )
        self._summary(services.BacktestOutcome(run=run, result=result, metrics=metrics, paths=paths))
        if trader.decision_mode == Trader.DecisionMode.AI:
            self.stdout.write(_ai_sources_line(backtest.ai_sources))

    # ------------------------------------------------------------------ inputs

    def _strategy(self, options: dict[str, Any]) -> tuple[StrategySpec, str, str, Strategy | None]:
        if options["spec"] is not None:
            path: Path = options["spec"]
            if not path.is_file():
                raise CommandError(f"{path} is not a file")
            try:
                data = json.loads(path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path.name} is not JSON: {exc}") from None
            return self._validated(data, f"the spec in {path.name}"), path.stem, BacktestRun.Source.FILE, None
        name: str = options["strategy"]
        stored = selectors.strategy_by_name(name=name)
        if stored is not None:
            spec = self._validated(stored.spec, f"stored strategy {name!r}")
            return spec, name, BacktestRun.Source.STORED, stored
        if name in PRESETS:
            data = preset_spec_data(name, timeframe=options["timeframe"] or "1h", markets=[options["symbol"]])
            return self._validated(data, f"preset {name!r}"), name, BacktestRun.Source.PRESET, None
        stored_names = list(Strategy.objects.order_by("name").values_list("name", flat=True)[:NAMES_SHOWN])
        raise CommandError(
            f"unknown strategy {name!r}: not a preset ({', '.join(preset_names())}) nor a stored strategy "
            f"({', '.join(stored_names) or 'none stored'}). Or pass --spec FILE."
        )

    @staticmethod
    def _validated(data: Any, what: str) -> StrategySpec:
        spec, errors = validate_spec(data)
        if spec is None:
            raise CommandError(f"{what} is invalid:\n  " + "\n  ".join(str(error) for error in errors))
        return spec

    @staticmethod
    def _unknown_market(exchange: str, symbol: str) -> str:
        known = market_selectors.market_symbols(exchange=exchange)
        return f"no market {symbol} on {exchange} (known there: {', '.join(known) if known else 'none yet'})."

    # ------------------------------------------------------------------ output

    def _summary(self, outcome: services.BacktestOutcome) -> None:
        run = outcome.run
        self.stdout.write(
            f"{run.strategy_name} ({run.get_strategy_source_display().lower()}) on {run.symbol} {run.exchange} "
            f"{run.timeframe}, {run.period_start:{TIME_FORMAT}} to {run.period_end:{TIME_FORMAT}} UTC, "
            f"{run.bars:,} bars"
        )
        self._metrics(outcome.metrics)
        if outcome.sentiment_bars is not None:
            self.stdout.write(
                f"Sentiment: {run.market.base} news on {outcome.sentiment_bars:,} of {run.bars:,} bars "
                "(missing on the others, where the rules reading it are false)"
            )
        paths = outcome.paths
        names = ", ".join(path.name for path in (paths.report, paths.trades, paths.equity, paths.metrics))
        self.stdout.write(f"Files in {paths.directory}: {names}")
        self.stdout.write(
            f"Recorded as BacktestRun #{run.pk} ({reverse('backtests:detail', args=[run.pk])}) "
            f"in {run.duration_seconds:.2f} s."
        )

    def _metrics(self, metrics: dict[str, Any]) -> None:
        width = max(len(label) for label, _kind in METRICS.values())
        for key, (label, _kind) in METRICS.items():
            self.stdout.write(f"  {label:<{width}}  {format_metric(key, metrics.get(key))}")
        if metrics["open_trade"]:
            self.stdout.write("  (the last trade is still open: marked to the last close, no exit fee)")

    def _grid(
        self,
        options: dict[str, Any],
        *,
        spec: StrategySpec,
        market: Market,
        timeframe: str,
        start: datetime | None,
        end: datetime | None,
        params: BacktestParams,
    ) -> None:
        try:
            axes = grid.parse_grid(options["grid"], spec)
        except grid.GridError as exc:
            raise CommandError(str(exc)) from None
        candles = market_selectors.candle_arrays(market=market, timeframe=timeframe, start=start, end=end)
        if len(candles) < services.MIN_BARS:
            raise CommandError(f"fewer than {services.MIN_BARS} {timeframe} candles for {market.symbol} in the period")
        # The workers are forked with the open database connection. They never use it and leave
        # through os._exit (multiprocessing's fork start), so it is neither used nor closed twice;
        # closing it here instead would break a caller's transaction.
        count = len(grid.combinations(axes))
        processes = max(1, min(options["processes"], count))
        self.stdout.write(f"{count} combinations over {len(candles):,} bars on {processes} processes")
        with progress_bar(options, total=count, unit=" runs", desc="grid") as bar:
            try:
                rows = grid.run_grid(
                    spec=spec,
                    candles=candles,
                    params=params,
                    axes=axes,
                    timeframe_ms=timeframe_ms(timeframe),
                    processes=processes,
                    progress=bar.update,
                    sentiment=candle_sentiment(market=market, timeframe=timeframe, candles=candles)
                    if "sentiment" in spec.series_read()
                    else None,
                )
            except grid.GridError as exc:
                raise CommandError(str(exc)) from None
        ranked = grid.sort_rows(rows, options["sort_by"])
        self._grid_table(ranked[: options["top"]] if options["top"] else ranked, list(axes), options["sort_by"])
        if options["out"]:
            path = self._grid_csv(options["out"], ranked, list(axes))
            self.stdout.write(f"All {len(ranked)} rows in {path}")

    def _grid_table(self, rows: list[grid.GridRow], keys: list[str], sort_by: str) -> None:
        headers = [*keys, *(METRICS[name][0] for name in GRID_COLUMNS)]
        lines = [
            [str(row.values[key]) for key in keys]
            + [format_metric(name, row.metrics.get(name)) for name in GRID_COLUMNS]
            for row in rows
        ]
        widths = [max(len(line[i]) for line in (headers, *lines)) for i in range(len(headers))]
        self.stdout.write(f"sorted by {sort_by}, best first")
        for line in (headers, *lines):
            self.stdout.write("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))

    @staticmethod
    def _grid_csv(directory: Path, rows: list[grid.GridRow], keys: list[str]) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / GRID_FILE
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*keys, *METRICS])
            for row in rows:
                writer.writerow([*(row.values[key] for key in keys), *(row.metrics.get(name) for name in METRICS)])
        return path.resolve()


def _ai_sources_line(sources: Counter[str]) -> str:
    """Where the AI answers came from: a second run over the same candles asks no model."""
    asked = sum(sources.values())
    return (
        f"AI answers: {asked} ({sources['replay']} replayed from the decision log, {sources['cache']} from the "
        f"response cache, {sources['model']} asked the model, {sources['none']} not asked: over budget)"
    )


def _trader_parameters(trader: Trader) -> dict[str, Any]:
    """The trader's own rules, for metrics.json and the report (the engine's parameters describe the fill)."""
    if trader.decision_mode == Trader.DecisionMode.AI:
        return {
            "trader": trader.name,
            "decision_mode": trader.decision_mode,
            "model": str(trader.ai_model_config),
            "prompt_template": str(trader.prompt_template or "default"),
            "ai_ask": trader.ai_ask,
            "risk_profile": trader.risk_profile.name,
        }
    return {
        "trader": trader.name,
        "decision_mode": trader.decision_mode,
        "sizing": f"{trader.sizing} {trader.sizing_pct} %",
        "stop_loss": f"{trader.stop_loss} {trader.stop_loss_value}",
        "take_profit": f"{trader.take_profit} {trader.take_profit_value}",
        "leverage": trader.leverage,
        "risk_profile": trader.risk_profile.name,
    }
