/* TradeOps charts: the few helpers every page that draws a chart shares, over TradingView's
   Lightweight Charts (static/vendor/lightweight-charts-5.3.0, loaded before this file; its global is
   LightweightCharts). Times come from the API as ISO strings in UTC and are drawn in UTC. */
(function () {
  "use strict";
  const LWC = window.LightweightCharts;

  function cssValue(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  /** A chart filling `element` (give it a height), in the page's colours; `options` as the library's. */
  function create(element, options) {
    const border = cssValue("--pico-muted-border-color", "#e0e0e0");
    const chart = LWC.createChart(element, {
      autoSize: true,
      layout: {
        background: { type: LWC.ColorType.Solid, color: "transparent" },
        textColor: cssValue("--pico-muted-color", "#555"),
        fontFamily: getComputedStyle(document.body).fontFamily,
      },
      grid: { vertLines: { color: border }, horzLines: { color: border } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: border },
      leftPriceScale: { borderColor: border },
      rightPriceScale: { borderColor: border },
    });
    chart.applyOptions(options || {});
    return chart;
  }

  /** A series of `kind` ("Line", "Baseline", "Area", "Histogram", "Candlestick") holding `data`,
      in pane `pane` (0, the default, is the top one). */
  function addSeries(chart, kind, data, options, pane) {
    const series = chart.addSeries(LWC[kind + "Series"], options || {}, pane || 0);
    series.setData(data);
    return series;
  }

  /** Like addSeries, but a point without a value breaks the line: the library joins the values on
      either side of a gap (its issue 699), so each run of values is a series of its own (the last one
      carries the title and the value label), and one more holds the gaps, to keep their times on the
      axis. Returns the series. */
  function addBrokenSeries(chart, kind, data, options) {
    const runs = [];
    let run = [];
    for (const point of data) {
      if ("value" in point) {
        run.push(point);
      } else if (run.length) {
        runs.push(run);
        run = [];
      }
    }
    if (run.length) runs.push(run);
    const quiet = { ...options, title: "", lastValueVisible: false, priceLineVisible: false };
    const series = runs.map((points, index) => addSeries(chart, kind, points, index === runs.length - 1 ? options : quiet));
    const gaps = data.filter((point) => !("value" in point));
    if (gaps.length) series.push(addSeries(chart, "Line", gaps, { ...quiet, priceScaleId: options.priceScaleId }));
    return series;
  }

  /** Rows of an API answer as the library's points: `time` in UTC seconds, `value` from `field`;
      a null value leaves a gap instead of a point at zero. */
  function points(rows, timeField, field) {
    return rows.map((row) => {
      const time = Date.parse(row[timeField]) / 1000;
      return row[field] === null ? { time } : { time, value: row[field] };
    });
  }

  /** For a series' autoscaleInfoProvider: always show [min, max] (a score's -1 to 1). */
  function fixedRange(min, max) {
    return () => ({ priceRange: { minValue: min, maxValue: max } });
  }

  /** GET a JSON answer of the API; a refusal throws an Error carrying the answer's detail. */
  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = body && body.detail;
      const text = Array.isArray(detail) ? detail.map((error) => `${error.loc.at(-1)}: ${error.msg}`).join("; ") : detail;
      throw new Error(text || `HTTP ${response.status}`);
    }
    return body;
  }

  /* --- Candle, equity and drawdown charts --------------------------------------------------------
     A page holds <figure data-chart="candles"> or <figure data-chart="equity"> (the partials
     templates/market/_candle_chart.html and templates/traders/_equity_chart.html, and the backtest
     page); each is drawn when the page loads or when htmx swaps it in, and follows the live events
     that static/js/live.js dispatches on the document as `tradeops:event` ({id, type, ts, data}).
     What a chart shows is mirrored on its figure (data-bars, data-markers, data-lines, data-points)
     for people's tools and the browser tests. */

  const COLORS = { up: "#2e7d32", down: "#c62828", entry: "#1565c0", exit: "#ef6c00", equity: "#1565c0" };
  const LINE_STYLES = {
    entry: { color: "#1565c0", title: "entry", lineStyle: 2 },
    stop_loss: { color: "#c62828", title: "SL", lineStyle: 0 },
    take_profit: { color: "#2e7d32", title: "TP", lineStyle: 0 },
  };
  const LEG_NAMES = { entry: "entry", stop_loss: "stop-loss", take_profit: "take-profit", exit: "exit" };
  const live = new Set(); // the charts on the page that follow events: objects with an onEvent(event)

  const seconds = (iso) => Date.parse(iso) / 1000;

  function note(figure, text) {
    const element = figure.querySelector(".chart-note");
    if (element) element.textContent = text;
  }

  function mirror(figure, values) {
    for (const [name, value] of Object.entries(values)) figure.dataset[name] = String(value);
  }

  /** A fill as a marker: a buy below the bar pointing up, a sell above it pointing down. */
  function fillMarker(marker) {
    const buy = marker.side === "buy";
    return {
      time: seconds(marker.time),
      position: buy ? "belowBar" : "aboveBar",
      shape: buy ? "arrowUp" : "arrowDown",
      color: marker.kind === "entry" ? COLORS.entry : COLORS.exit,
      text: `${LEG_NAMES[marker.leg] || marker.leg} ${marker.price}`,
      id: String(marker.execution_id),
    };
  }

  class CandleChart {
    constructor(figure) {
      this.figure = figure;
      this.box = figure.querySelector(".chart");
      this.picker = figure.querySelector("select.chart-timeframe");
      this.timeframe = figure.dataset.timeframe || "";
      this.chart = null;
      this.series = null;
      this.markers = null;
      this.priceLines = [];
      this.data = null;
      this.lastTime = null;
      this.bars = 0;
      this.planIds = new Set(figure.dataset.planId ? [Number(figure.dataset.planId)] : []);
      this.reloading = null;
      if (this.picker) {
        this.picker.addEventListener("change", () => {
          this.timeframe = this.picker.value;
          this.load();
        });
      }
    }

    query() {
      const params = new URLSearchParams();
      for (const [name, key] of [["market_id", "marketId"], ["trader_id", "traderId"], ["plan_id", "planId"]]) {
        if (this.figure.dataset[key]) params.set(name, this.figure.dataset[key]);
      }
      if (this.timeframe) params.set("timeframe", this.timeframe);
      if (this.figure.dataset.limit) params.set("limit", this.figure.dataset.limit);
      return params;
    }

    async load() {
      this.figure.setAttribute("aria-busy", "true");
      try {
        this.draw(await getJson(`${this.figure.dataset.url}?${this.query()}`));
      } catch (error) {
        note(this.figure, `The chart could not be read: ${error.message}`);
      }
      this.figure.removeAttribute("aria-busy");
    }

    /** Reload soon, once for a burst of events (a fill comes with its plan's transition). */
    reloadSoon() {
      clearTimeout(this.reloading);
      this.reloading = setTimeout(() => this.load(), 250);
    }

    draw(data) {
      this.data = data;
      this.timeframe = data.timeframe;
      this.fillPicker(data);
      if (!this.chart) {
        this.chart = create(this.box, { timeScale: { timeVisible: true, secondsVisible: false } });
        this.series = this.chart.addSeries(LWC.CandlestickSeries, {
          upColor: COLORS.up,
          downColor: COLORS.down,
          wickUpColor: COLORS.up,
          wickDownColor: COLORS.down,
          borderVisible: false,
        });
        this.markers = LWC.createSeriesMarkers(this.series, []);
      }
      const tick = Number(data.market.tick);
      this.series.applyOptions({ priceFormat: { type: "price", precision: data.market.precision, minMove: tick } });
      const bars = data.candles.map((candle) => ({
        time: seconds(candle.time),
        open: Number(candle.open),
        high: Number(candle.high),
        low: Number(candle.low),
        close: Number(candle.close),
      }));
      this.series.setData(bars);
      this.bars = bars.length;
      this.lastTime = bars.length ? bars[bars.length - 1].time : null;
      // A finished plan's window ends a little after it, before the feed's horizon: it stays as it is.
      this.frozen = Boolean(data.horizon && this.lastTime !== null && this.lastTime < seconds(data.horizon));
      const markers = data.markers.map(fillMarker).sort((a, b) => a.time - b.time);
      this.markers.setMarkers(markers);
      for (const line of this.priceLines) this.series.removePriceLine(line);
      this.priceLines = data.lines.map((line) =>
        this.series.createPriceLine({
          ...LINE_STYLES[line.kind],
          price: Number(line.price),
          title: `${LINE_STYLES[line.kind].title} #${line.plan_id}`,
          lineWidth: 1,
          axisLabelVisible: true,
        }),
      );
      for (const item of [...data.markers, ...data.lines]) this.planIds.add(item.plan_id);
      this.chart.timeScale().fitContent();
      note(this.figure, bars.length ? "" : `No ${data.timeframe} candles of ${data.market.symbol} to show yet.`);
      mirror(this.figure, {
        bars: this.bars,
        markers: markers.length,
        lines: this.priceLines.length,
        timeframe: data.timeframe,
        lastClose: bars.length ? data.candles[data.candles.length - 1].close : "",
        state: "ready",
      });
    }

    fillPicker(data) {
      if (!this.picker) return;
      const current = [...this.picker.options].map((option) => option.value).join(",");
      if (current !== data.timeframes.join(",")) {
        this.picker.replaceChildren(...data.timeframes.map((timeframe) => new Option(timeframe, timeframe)));
      }
      this.picker.value = data.timeframe;
      this.picker.hidden = data.timeframes.length < 2;
    }

    mine(data) {
      const scope = this.figure.dataset;
      if (!this.data || data.market_id !== this.data.market.id) return false;
      if (scope.planId) return data.plan_id === Number(scope.planId);
      if (scope.traderId) return data.trader_id === Number(scope.traderId);
      return true;
    }

    onEvent(event) {
      if (!this.data) return;
      const data = event.data || {};
      if (event.type === "candle") this.onCandle(data);
      else if (event.type === "plan" && this.mine(data)) {
        this.planIds.add(data.plan_id);
        this.reloadSoon();
      } else if (event.type === "fill" && this.planIds.has(data.plan_id)) this.reloadSoon();
    }

    /** The last bar changes, or a new one follows it; an older bar (a late event) is left alone. */
    onCandle(data) {
      const shown = this.data;
      if (data.market_id !== shown.market.id || data.timeframe !== shown.timeframe) return;
      if (shown.source && data.source !== shown.source) return;
      if (this.frozen) return;
      const bar = {
        time: seconds(data.time),
        open: Number(data.o),
        high: Number(data.h),
        low: Number(data.l),
        close: Number(data.c),
      };
      if (this.lastTime !== null && bar.time < this.lastTime) return;
      if (this.lastTime === null || bar.time > this.lastTime) this.bars += 1;
      this.series.update(bar);
      this.lastTime = bar.time;
      mirror(this.figure, { bars: this.bars, lastClose: data.c });
    }
  }

  /** Equity (top pane) and drawdown in percent (bottom pane). Its first points come from the JSON script
      named by data-points, else from data-url (a backtest's equity, or GET /api/v1/pnl/timeseries). With
      data-live="equity" it follows the equity events: a trader's chart (data-trader-id) puts each of its
      trader's snapshots in the point of its interval (data-interval seconds); the desk's chart reads
      data-url again after an account's snapshot (the desk's equity sums the accounts'). */
  class EquityChart {
    constructor(figure) {
      this.figure = figure;
      this.box = figure.querySelector(".chart");
      this.chart = null;
      this.equity = null;
      this.drawdown = null;
      this.lastTime = null;
      this.points = 0;
      this.reloading = null;
    }

    async load() {
      const source = this.figure.dataset.points && document.getElementById(this.figure.dataset.points);
      if (source && !this.chart) {
        this.draw(JSON.parse(source.textContent));
        return;
      }
      this.figure.setAttribute("aria-busy", "true");
      try {
        const body = await getJson(this.figure.dataset.url);
        this.draw(Array.isArray(body) ? body : body.points);
      } catch (error) {
        note(this.figure, `The equity could not be read: ${error.message}`);
      }
      this.figure.removeAttribute("aria-busy");
    }

    build() {
      this.chart = create(this.box, { rightPriceScale: { scaleMargins: { top: 0.1, bottom: 0.1 } } });
      this.equity = addSeries(this.chart, "Line", [], { color: COLORS.equity, lineWidth: 2, title: "equity" });
      const drawdown = {
        lineColor: COLORS.down,
        topColor: "rgba(198, 40, 40, 0.05)",
        bottomColor: "rgba(198, 40, 40, 0.4)",
        invertFilledArea: true,
        lineWidth: 1,
        title: "drawdown %",
        priceFormat: { type: "price", precision: 2, minMove: 0.01 },
      };
      this.drawdown = addSeries(this.chart, "Area", [], drawdown, 1);
      const panes = this.chart.panes();
      if (panes.length > 1) panes[1].setHeight(Math.round(this.box.clientHeight * 0.3));
    }

    draw(rows) {
      if (!this.chart) this.build();
      const sorted = rows.map((row) => ({ ...row, t: seconds(row.time) })).sort((a, b) => a.t - b.t);
      const unique = sorted.filter((row, index) => index === sorted.length - 1 || sorted[index + 1].t !== row.t);
      this.equity.setData(unique.map((row) => ({ time: row.t, value: Number(row.equity) })));
      this.drawdown.setData(unique.map((row) => ({ time: row.t, value: Number(row.drawdown) * 100 })));
      this.points = unique.length;
      this.lastTime = unique.length ? unique[unique.length - 1].t : null;
      this.chart.timeScale().fitContent();
      note(this.figure, unique.length ? "" : "No equity recorded yet.");
      mirror(this.figure, { points: this.points, state: "ready" });
    }

    onEvent(event) {
      if (event.type !== "equity" || !this.chart || this.figure.dataset.live !== "equity") return;
      const data = event.data || {};
      const trader = this.figure.dataset.traderId;
      if (!trader) {
        if ((data.trader_id ?? null) !== null) return; // a trader's book; the desk sums the accounts'
        clearTimeout(this.reloading);
        this.reloading = setTimeout(() => this.load(), 250);
        return;
      }
      if (data.trader_id !== Number(trader)) return;
      const interval = Number(this.figure.dataset.interval) || 1;
      const raw = seconds(data.time);
      const time = raw - (raw % interval);
      if (this.lastTime !== null && time < this.lastTime) return;
      if (this.lastTime === null || time > this.lastTime) this.points += 1;
      this.equity.update({ time, value: Number(data.equity) });
      this.drawdown.update({ time, value: Number(data.drawdown) * 100 });
      this.lastTime = time;
      note(this.figure, "");
      mirror(this.figure, { points: this.points, lastEquity: data.equity });
    }
  }

  const KINDS = { candles: CandleChart, equity: EquityChart };

  /** Draw every chart figure in `root` (the root itself included: htmx may swap a figure in whole) not drawn yet. */
  function start(root) {
    const figures = [...root.querySelectorAll("[data-chart]")];
    if (root.matches && root.matches("[data-chart]")) figures.push(root);
    for (const figure of figures) {
      const Kind = KINDS[figure.dataset.chart];
      if (!Kind || figure.tradeopsChart) continue;
      figure.tradeopsChart = new Kind(figure);
      live.add(figure.tradeopsChart);
      figure.tradeopsChart.load();
    }
  }

  document.addEventListener("tradeops:event", (event) => {
    for (const chart of live) {
      if (!chart.figure.isConnected) {
        live.delete(chart); // swapped out by htmx
        continue;
      }
      try {
        chart.onEvent(event.detail || {});
      } catch (error) {
        console.warn("A chart could not take an event", event.detail, error);
      }
    }
  });
  document.addEventListener("htmx:load", (event) => start(event.target));
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => start(document));
  else start(document);

  window.TradeOpsCharts = { create, addSeries, addBrokenSeries, points, fixedRange, getJson, start };
})();
