/* /news/: the rolling news sentiment of the asset picked, next to its market's close price, from
   GET /api/v1/sentiment. The chart follows the page's source, label and date filters, and its
   picker follows the page's asset filter. */
(function () {
  "use strict";
  const panel = document.getElementById("sentiment-chart");
  if (!panel || !panel.querySelector("select")) return;
  const picker = panel.querySelector("select");
  const box = panel.querySelector(".chart");
  const note = panel.querySelector(".chart-note");
  const filters = document.querySelector("form.filters");
  const FOLLOWED = ["asset", "source", "label", "since", "until"];
  let chart = null;
  let request = 0;

  function query() {
    const params = new URLSearchParams({ asset: picker.value });
    for (const name of FOLLOWED.slice(1)) {
      const value = filters && filters.elements[name] ? filters.elements[name].value : "";
      if (value) params.set(name, value);
    }
    return params;
  }

  function missing(data, hasSentiment, hasPrice) {
    const lines = [];
    if (!hasSentiment) lines.push(`No scored headline about ${data.asset} matches these filters.`);
    if (!hasPrice && data.market) {
      const first = data.market.first_close.slice(0, 10);
      const last = data.market.last_close.slice(0, 10);
      lines.push(`No ${data.market.symbol} ${data.timeframe} candle closes in this range (stored: ${first} to ${last}).`);
    } else if (!hasPrice) {
      lines.push(`No market of ${data.asset} holds ${data.timeframe} candles.`);
    }
    return lines.join(" ");
  }

  function draw(data) {
    const hasSentiment = data.points.some((point) => point.sentiment !== null);
    const hasPrice = data.points.some((point) => point.close !== null);
    note.textContent = missing(data, hasSentiment, hasPrice);
    box.hidden = !hasSentiment && !hasPrice;
    if (box.hidden) return;
    chart = TradeOpsCharts.create(box, {
      leftPriceScale: { visible: hasSentiment, scaleMargins: { top: 0.05, bottom: 0.05 } },
      rightPriceScale: { visible: hasPrice },
    });
    if (hasPrice) {
      TradeOpsCharts.addSeries(chart, "Line", TradeOpsCharts.points(data.points, "time", "close"), {
        priceScaleId: "right",
        title: data.market.symbol,
        color: "#1565c0",
        lineWidth: 2,
      });
    }
    if (hasSentiment) {
      // Broken where no headline counts: a missing value is not a neutral one.
      TradeOpsCharts.addBrokenSeries(chart, "Baseline", TradeOpsCharts.points(data.points, "time", "sentiment"), {
        priceScaleId: "left",
        title: "sentiment",
        baseValue: { type: "price", price: 0 },
        autoscaleInfoProvider: TradeOpsCharts.fixedRange(-1, 1),
        priceFormat: { type: "price", precision: 2, minMove: 0.01 },
      });
    }
    chart.timeScale().fitContent();
  }

  async function refresh() {
    const ticket = ++request;
    panel.setAttribute("aria-busy", "true");
    let data = null;
    let error = null;
    try {
      data = await TradeOpsCharts.getJson(`${panel.dataset.url}?${query()}`);
    } catch (caught) {
      error = caught;
    }
    if (ticket !== request) return; // a newer choice is on its way
    if (chart) chart.remove();
    chart = null;
    if (error) {
      box.hidden = true;
      note.textContent = `The sentiment could not be read: ${error.message}`;
    } else {
      draw(data);
    }
    panel.dataset.asset = picker.value;
    panel.removeAttribute("aria-busy");
  }

  picker.addEventListener("change", refresh);
  if (filters) {
    filters.addEventListener("change", (event) => {
      if (!FOLLOWED.includes(event.target.name)) return;
      const asset = filters.elements.asset;
      if (event.target === asset && [...picker.options].some((option) => option.value === asset.value)) {
        picker.value = asset.value;
      }
      refresh();
    });
  }
  refresh();
})();
