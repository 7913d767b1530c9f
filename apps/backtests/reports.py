"""A backtest's output files (pure; no Django): trades CSV, equity curve CSV, metrics JSON and a
self-contained HTML report (inline CSS and SVG; it requests nothing when opened)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from apps.backtests.charts import Markers, line_chart
from apps.backtests.engine import (
    END_OPEN,
    EXIT_REASONS,
    FILL_CLOSE,
    SIDES,
    STOP_LOSS,
    TAKE_PROFIT,
    BacktestResult,
)
from apps.backtests.equity_csv import write_equity_csv
from apps.backtests.metrics import METRICS, drawdown, format_metric

TRADES_FILE = "trades.csv"
EQUITY_FILE = "equity.csv"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
TRADE_COLUMNS = (
    "entry_time",
    "exit_time",
    "side",
    "entry_price",
    "exit_price",
    "quantity",
    "fees",
    "pnl",
    "return_pct",
    "exit_reason",
)
# The HTML lists the first trades only; the CSV has every one.
REPORT_TRADE_ROWS = 200


@dataclass(frozen=True)
class RunContext:
    """What was run, for the reports: the strategy, the market and the period."""

    strategy_name: str
    strategy_source: str  # preset, stored, file or trader
    exchange: str
    symbol: str
    timeframe: str
    spec: dict[str, Any]
    strategy_version: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputPaths:
    directory: Path
    trades: Path
    equity: Path
    metrics: Path
    report: Path


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parameters(result: BacktestResult, context: RunContext) -> dict[str, Any]:
    times = result.candles.open_time
    return {
        "strategy": context.strategy_name,
        "strategy_source": context.strategy_source,
        "strategy_version": context.strategy_version,
        "exchange": context.exchange,
        "symbol": context.symbol,
        "timeframe": context.timeframe,
        "start": iso(int(times[0])) if len(times) else None,
        "end": iso(int(times[-1])) if len(times) else None,
        "bars": len(times),
        **result.params.as_dict(),
        "cooldown_bars": context.spec.get("cooldown_bars", 0),
        **context.extra,
    }


def trade_rows(result: BacktestResult) -> list[list[Any]]:
    """Entry and exit times: the open time of the bar in which the fill happened (at its open, in its
    range or, with fill="close", at its close; the last bar for end_open)."""
    trades = result.trades
    times = result.candles.open_time
    returns = trades.return_pct
    return [
        [
            iso(int(times[trades.entry_bar[k]])),
            iso(int(times[trades.exit_bar[k]])),
            SIDES[int(trades.side[k])],
            float(trades.entry_price[k]),
            float(trades.exit_price[k]),
            float(trades.quantity[k]),
            float(trades.fees[k]),
            float(trades.pnl[k]),
            float(returns[k]),
            EXIT_REASONS[int(trades.reason[k])],
        ]
        for k in range(len(trades))
    ]


def write_outputs(directory: Path, result: BacktestResult, metrics: dict[str, Any], context: RunContext) -> OutputPaths:
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    paths = OutputPaths(
        directory=directory,
        trades=directory / TRADES_FILE,
        equity=directory / EQUITY_FILE,
        metrics=directory / METRICS_FILE,
        report=directory / REPORT_FILE,
    )
    rows = trade_rows(result)
    with paths.trades.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRADE_COLUMNS)
        writer.writerows(rows)
    drawdowns = drawdown(result.equity, result.params.cash)
    write_equity_csv(paths.equity, result.candles.open_time, result.equity, drawdowns)
    document = {"metrics": metrics, "parameters": parameters(result, context), "spec": context.spec}
    paths.metrics.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    paths.report.write_text(report_html(result, metrics, context, rows=rows, drawdowns=drawdowns))
    return paths


def _trade_markers(result: BacktestResult) -> list[Markers]:
    trades = result.trades
    times = result.candles.open_time.astype(np.float64)
    entry_x, exit_x = times[trades.entry_bar], times[trades.exit_bar]
    long_, short = trades.side == 1, trades.side == -1
    by_reason = {reason: trades.reason == code for code, reason in enumerate(EXIT_REASONS)}
    colors = {
        EXIT_REASONS[0]: "#1565c0",
        EXIT_REASONS[STOP_LOSS]: "#c62828",
        EXIT_REASONS[TAKE_PROFIT]: "#2e7d32",
        EXIT_REASONS[END_OPEN]: "#757575",
    }
    markers = [
        Markers("long entry", "up", "#43a047", entry_x[long_], trades.entry_price[long_]),
        Markers("short entry", "down", "#e53935", entry_x[short], trades.entry_price[short]),
    ]
    for reason, mask in by_reason.items():
        markers.append(Markers(f"exit: {reason}", "dot", colors[reason], exit_x[mask], trades.exit_price[mask]))
    return markers


STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:1100px;
color:#1b1b1b;padding:0 1rem}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
table{border-collapse:collapse;margin:.3rem 0}td,th{padding:.2rem .7rem;border-bottom:1px solid #e3e3e3;text-align:left;
white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}.grid2{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}
figure{margin:.8rem 0}figcaption{font-weight:600;margin-bottom:.2rem}svg{width:100%;height:auto;display:block}
svg .grid{stroke:#eee}svg .frame{stroke:#bbb}svg .tick{font-size:11px;fill:#666}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:12px}small{color:#666}
.neg{color:#c62828}.pos{color:#2e7d32}
"""


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td class='num'>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _parameter_rows(params: dict[str, Any]) -> list[tuple[str, str]]:
    def show(value: Any) -> str:
        return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    return [(key.replace("_", " "), show(value)) for key, value in params.items()]


def report_html(
    result: BacktestResult,
    metrics: dict[str, Any],
    context: RunContext,
    *,
    rows: list[list[Any]] | None = None,
    drawdowns: np.ndarray | None = None,
) -> str:
    rows = trade_rows(result) if rows is None else rows
    drawdowns = drawdown(result.equity, result.params.cash) if drawdowns is None else drawdowns
    params = parameters(result, context)
    times = result.candles.open_time
    title = f"{context.strategy_name} on {context.symbol} ({context.exchange}) {context.timeframe}"
    fills_at = "their own bar's close" if result.params.fill == FILL_CLOSE else "the next bar's open"
    metric_rows = [(label, format_metric(name, metrics.get(name))) for name, (label, _kind) in METRICS.items()]
    charts = [
        line_chart(title="Equity", times_ms=times, values=result.equity, color="#1565c0"),
        line_chart(title="Drawdown", times_ms=times, values=drawdowns, color="#c62828", y_format="pct", area=True),
        line_chart(
            title="Price (close) with entries and exits",
            times_ms=times,
            values=result.candles.close,
            color="#455a64",
            markers=_trade_markers(result),
        ),
    ]
    trade_table = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{value:,.6g}</td>" if isinstance(value, float) else f"<td>{escape(str(value))}</td>"
            for value in row
        )
        + "</tr>"
        for row in rows[:REPORT_TRADE_ROWS]
    )
    more = (
        f"<p><small>First {REPORT_TRADE_ROWS} of {len(rows):,} trades; {TRADES_FILE} has them all.</small></p>"
        if len(rows) > REPORT_TRADE_ROWS
        else ""
    )
    header = "".join(f"<th>{escape(name.replace('_', ' '))}</th>" for name in TRADE_COLUMNS)
    spec_json = escape(json.dumps(context.spec, indent=2))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backtest: {escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>Backtest: {escape(title)}</h1>
<p><small>{escape(str(params["start"]))} to {escape(str(params["end"]))} UTC (bar open times),
{len(times):,} bars. Signals fill at {fills_at}; see the parameters below.</small></p>
<div class="grid2">
<section><h2>Metrics</h2>{_table(metric_rows)}</section>
<section><h2>Parameters</h2>{_table(_parameter_rows(params))}</section>
</div>
<h2>Charts</h2>
{"".join(charts)}
<h2>Trades</h2>
<table><thead><tr>{header}</tr></thead><tbody>{trade_table}</tbody></table>{more}
<h2>Strategy spec</h2>
<pre>{spec_json}</pre>
</body></html>
"""
