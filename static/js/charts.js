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

  /** A series of `kind` ("Line", "Baseline", "Area", "Histogram", "Candlestick") holding `data`. */
  function addSeries(chart, kind, data, options) {
    const series = chart.addSeries(LWC[kind + "Series"], options || {});
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

  window.TradeOpsCharts = { create, addSeries, addBrokenSeries, points, fixedRange, getJson };
})();
