// Connects a [data-console] element to its resource's console: asks the page's server for a
// one-time ticket (a POST with the CSRF token), opens the websocket on the same origin with it,
// and relays keystrokes and output between xterm.js and the websocket. Binary frames carry the
// terminal's bytes; text frames carry JSON: resizes from here, and "open", "busy", "unavailable"
// and "ended" (with the reason to show) from the server.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function start(root) {
    var status = root.querySelector("[data-console-status]");
    var takeOver = root.querySelector("[data-console-take-over]");
    var reconnect = root.querySelector("[data-console-reconnect]");
    var terminal = new window.Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000 });
    var fit = new window.FitAddon.FitAddon();
    var encoder = new TextEncoder();
    var socket = null;
    terminal.loadAddon(fit);
    terminal.open(root.querySelector("[data-console-screen]"));
    fit.fit();

    function say(text, state) {
      status.textContent = text;
      status.setAttribute("data-state", state);
      root.setAttribute("data-console-state", state);
    }

    function sendSize() {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "resize", cols: terminal.cols, rows: terminal.rows }));
      }
    }

    function connect(takingOver) {
      takeOver.hidden = true;
      reconnect.hidden = true;
      say("Connecting…", "connecting");
      var body = new URLSearchParams();
      if (takingOver) body.set("take_over", "1");
      fetch(root.getAttribute("data-ticket-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() },
        body: body,
      })
        .then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        })
        .then(function (answer) {
          if (!answer.ok) {
            say(answer.data.message || "The console cannot be opened.", "ended");
            reconnect.hidden = false;
            return;
          }
          open(answer.data.ticket);
        })
        .catch(function () {
          say("The console cannot be opened.", "ended");
          reconnect.hidden = false;
        });
    }

    function open(ticket) {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var url = scheme + window.location.host + root.getAttribute("data-websocket-path") +
        "?ticket=" + encodeURIComponent(ticket);
      var ended = false;
      socket = new WebSocket(url);
      socket.binaryType = "arraybuffer";
      socket.onmessage = function (event) {
        if (typeof event.data !== "string") {
          terminal.write(new Uint8Array(event.data));
          return;
        }
        var message = JSON.parse(event.data);
        if (message.type === "open") {
          say("Connected.", "open");
          sendSize();
          terminal.focus();
        } else if (message.type === "busy") {
          ended = true;
          say(message.message, "busy");
          takeOver.hidden = false;
        } else {
          ended = true;
          say(message.message, "ended");
          reconnect.hidden = false;
        }
      };
      socket.onclose = function () {
        if (!ended) {
          say("The console connection closed.", "ended");
          reconnect.hidden = false;
        }
      };
    }

    terminal.onData(function (data) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
    });
    terminal.onResize(sendSize);
    window.addEventListener("resize", function () { fit.fit(); });
    takeOver.addEventListener("click", function () { connect(true); });
    reconnect.addEventListener("click", function () { connect(false); });
    connect(false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-console]").forEach(start);
  });
})();
