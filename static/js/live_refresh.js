/* Live events on every page: the dashboard's out-of-band fragments only where their targets are, and
   the parts of other pages that follow events instead of polling.

   A websocket frame carries out-of-band fragments for the dashboard's panels (apps/dashboard/live.py);
   the same frame goes to every page, and htmx logs an error for a fragment whose id is not on the page.
   The `live-fragments` extension (hx-ext on <body>) drops those before the ws extension swaps the rest.
   It only touches websocket frames: htmx hands ordinary answers to transformResponse with their xhr.

   An element with `hx-get` and `data-live-on="plan fill"` (event types, space separated) asks its URL
   again when static/js/live.js dispatches a `tradeops:event` of one of those types, through htmx's `live-refresh` trigger (give it
   `hx-trigger="live-refresh"`). `data-live-where="plan_id=12"` (pairs, space separated) narrows it to
   events whose data carries those values. A burst of events (a fill, then the plan's transition, then
   the next leg) makes one request: each element waits DEBOUNCE_MS after the last matching event. */
(function () {
  "use strict";
  const DEBOUNCE_MS = 300;

  htmx.defineExtension("live-fragments", {
    transformResponse: function (text, xhr) {
      if (xhr) return text;
      const frame = document.createElement("template");
      frame.innerHTML = text;
      for (const element of Array.from(frame.content.children)) {
        if (element.id && !document.getElementById(element.id)) element.remove();
      }
      return frame.innerHTML;
    },
  });

  const timers = new WeakMap();

  function words(value) {
    return (value || "").split(/\s+/).filter(Boolean);
  }

  function matches(element, event) {
    if (!words(element.dataset.liveOn).includes(event.type)) return false;
    const data = event.data || {};
    return words(element.dataset.liveWhere).every(function (pair) {
      const [key, value] = pair.split("=");
      return data[key] !== undefined && data[key] !== null && String(data[key]) === value;
    });
  }

  function refresh(element) {
    // Swapped out meanwhile (its own refresh, a filter): the new element follows the next events.
    if (element.isConnected) htmx.trigger(element, "live-refresh");
  }

  document.addEventListener("tradeops:event", function (domEvent) {
    const event = domEvent.detail;
    if (!event || !event.type) return;
    for (const element of document.querySelectorAll("[data-live-on][hx-get]")) {
      if (!matches(element, event)) continue;
      clearTimeout(timers.get(element));
      timers.set(element, setTimeout(refresh, DEBOUNCE_MS, element));
    }
  });
})();
