/* Live events for logged-in pages (templates/base.html loads it when the page came through daphne).

   htmx's ws extension holds the socket of #live-socket (ws-connect="/ws/live/?after=<id>", the newest
   event id when the page was rendered). Each frame is HTML: a hidden #live-event marker carrying the
   event's JSON, then out-of-band fragments the extension swaps into the page. After the swap this
   script dispatches `tradeops:event` on document with {id, type, ts, data}, for charts and other
   scripts. A reconnect asks for the events after the last id seen; when the server answers that they
   are no longer all kept, the page reloads. The nav's #live-status shows the connection's state. */
(function () {
  "use strict";

  var RETRIED_BY_HTMX = [1006, 1011, 1012, 1013]; // the extension reconnects after these close codes
  var LOGGED_OUT = [4401, 4403]; // the server refused the user: reconnecting cannot help
  var lastId = 0;

  function setStatus(state, title) {
    var status = document.getElementById("live-status");
    if (!status) return;
    status.dataset.state = state;
    status.title = "Live updates: " + title;
    status.querySelector(".label").textContent = state === "connected" ? "live" : state;
  }

  function withLastId(url) {
    var address = new URL(url, window.location.href);
    address.searchParams.set("after", String(lastId));
    return address.toString();
  }

  function eventOf(marker) {
    try {
      return JSON.parse(marker.dataset.event);
    } catch (error) {
      return null;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var socket = document.getElementById("live-socket");
    if (!socket || !window.htmx) return;
    lastId = Number(new URL(socket.getAttribute("ws-connect"), window.location.href).searchParams.get("after")) || 0;

    // Every (re)connect goes to the same address with the last id this page has seen.
    window.htmx.createWebSocket = function (url) {
      var sock = new WebSocket(withLastId(url), []);
      sock.binaryType = window.htmx.config.wsBinaryType;
      return sock;
    };

    socket.addEventListener("htmx:wsConnecting", function () {
      setStatus("reconnecting", "connecting…");
    });
    socket.addEventListener("htmx:wsOpen", function () {
      setStatus("connected", "connected");
    });
    socket.addEventListener("htmx:wsClose", function (evt) {
      var code = evt.detail.event.code;
      if (LOGGED_OUT.indexOf(code) >= 0) {
        setStatus("offline", "not logged in; reload the page after logging in");
        return;
      }
      setStatus("reconnecting", "connection lost, reconnecting…");
      if (RETRIED_BY_HTMX.indexOf(code) < 0) {
        // A clean close (a server restart says 1001): the extension would stop here; try again.
        var wrapper = evt.detail.socketWrapper;
        window.setTimeout(wrapper.reconnect, 500 + Math.random() * 1500);
      }
    });
    socket.addEventListener("htmx:wsAfterMessage", function () {
      var marker = document.getElementById("live-event");
      if (!marker) return;
      if (marker.dataset.refresh) {
        window.location.reload(); // too much was missed to replay: start from a fresh page
        return;
      }
      var event = eventOf(marker);
      if (!event) return;
      lastId = Math.max(lastId, event.id);
      document.dispatchEvent(new CustomEvent("tradeops:event", { detail: event }));
    });
  });
})();
