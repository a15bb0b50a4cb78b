// Connects a [data-graphics] element to its VM's display with noVNC: asks the page's server for a
// one-time ticket (a POST with the CSRF token), opens the websocket on the same origin with it, and
// hands noVNC a channel that carries only the websocket's binary frames (RFB). Text frames carry the
// console's JSON ("open", "unavailable", "ended" with the reason to show), read here. The relay on
// the server authenticates to the display itself: no password ever reaches this page.
import RFB from "../vendor/novnc/core/rfb.js";

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch (error) {
    return "";
  }
}

// What noVNC needs of a WebSocket (send, close, the handlers, readyState), seeing only binary frames.
function rfbChannel(socket) {
  return {
    binaryType: "arraybuffer",
    protocol: "",
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    get readyState() { return socket.readyState; },
    send(data) { socket.send(data); },
    close() { socket.close(); },
  };
}

function start(root) {
  const status = root.querySelector("[data-graphics-status]");
  const reconnect = root.querySelector("[data-graphics-reconnect]");
  const screen = root.querySelector("[data-graphics-screen]");
  let rfb = null;

  function say(text, state) {
    status.textContent = text;
    status.setAttribute("data-state", state);
    root.setAttribute("data-graphics-state", state);
  }

  function fail(text) {
    say(text, "ended");
    reconnect.hidden = false;
  }

  function connect() {
    reconnect.hidden = true;
    say("Connecting…", "connecting");
    fetch(root.getAttribute("data-ticket-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    })
      .then((response) => response.json().then((data) => ({ ok: response.ok, data: data })))
      .then((answer) => {
        if (answer.ok) open(answer.data.ticket);
        else fail(answer.data.message || "The graphical console cannot be opened.");
      })
      .catch(() => fail("The graphical console cannot be opened."));
  }

  function open(ticket) {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + window.location.host + root.getAttribute("data-websocket-path") +
      "?ticket=" + encodeURIComponent(ticket);
    const socket = new WebSocket(url);
    const channel = rfbChannel(socket);
    let ended = false;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") {
        if (channel.onmessage) channel.onmessage(event);
        return;
      }
      const message = JSON.parse(event.data);
      if (message.type === "open") {
        rfb = new RFB(screen, channel, { shared: true });
        rfb.scaleViewport = true;
        rfb.addEventListener("connect", () => { say("Connected.", "connected"); rfb.focus(); });
        rfb.addEventListener("disconnect", () => {
          if (!ended) fail("The graphical console connection closed.");
        });
      } else {
        ended = true;
        fail(message.message);
      }
    };
    socket.onerror = (event) => { if (channel.onerror) channel.onerror(event); };
    socket.onclose = (event) => {
      if (channel.onclose) channel.onclose(event);
      else if (!ended) fail("The graphical console connection closed.");
    };
  }

  reconnect.addEventListener("click", connect);
  connect();
}

document.querySelectorAll("[data-graphics]").forEach(start);
