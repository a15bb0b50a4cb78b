// Fills a [data-top] table from its websocket: each "rows" message replaces the rows of one host
// (a team's page may watch several), then the table is drawn again in the order the person chose
// by clicking a heading (a second click on the same heading reverses it). No library needed.
(function () {
  "use strict";

  var UNITS = ["B/s", "KiB/s", "MiB/s", "GiB/s"];

  function rate(value) {
    if (value === null || value === undefined) return "—";
    var unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit ? value.toFixed(1) : String(value)) + " " + UNITS[unit];
  }

  function mib(kib) {
    return kib === null || kib === undefined ? "—" : Math.round(kib / 1024) + " MiB";
  }

  function cells(row) {
    return [
      row.name,
      row.state,
      row.cpu_percent === null || row.cpu_percent === undefined ? "—" : row.cpu_percent.toFixed(1),
      mib(row.memory_used_kib) + " / " + mib(row.memory_max_kib),
      rate(row.disk_read_bps),
      rate(row.disk_write_bps),
      rate(row.net_rx_bps),
      rate(row.net_tx_bps),
    ];
  }

  function compare(key, numeric) {
    return function (a, b) {
      var x = a[key];
      var y = b[key];
      // Missing values sort last whichever the direction, as a blank says nothing.
      if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
      if (y === null || y === undefined) return -1;
      return numeric ? x - y : String(x).localeCompare(String(y));
    };
  }

  function start(root) {
    var status = root.querySelector("[data-top-status]");
    var body = root.querySelector("[data-top-rows]");
    var headings = root.querySelectorAll("th[data-sort]");
    var byHost = {};
    var sortKey = "name";
    var descending = false;

    function rows() {
      var all = [];
      Object.keys(byHost).forEach(function (host) {
        all = all.concat(byHost[host]);
      });
      var numeric = root.querySelector('th[data-sort="' + sortKey + '"]').getAttribute("data-kind") === "number";
      var order = compare(sortKey, numeric);
      all.sort(function (a, b) {
        var missing = a[sortKey] === null || a[sortKey] === undefined || b[sortKey] === null || b[sortKey] === undefined;
        var result = order(a, b);
        return descending && !missing ? -result : result;
      });
      return all;
    }

    function draw() {
      var fragment = document.createDocumentFragment();
      rows().forEach(function (row) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-uuid", row.uuid);
        cells(row).forEach(function (text) {
          var td = document.createElement("td");
          td.textContent = text;
          tr.appendChild(td);
        });
        fragment.appendChild(tr);
      });
      body.replaceChildren(fragment);
    }

    headings.forEach(function (heading) {
      heading.querySelector("button").addEventListener("click", function () {
        var key = heading.getAttribute("data-sort");
        descending = key === sortKey ? !descending : heading.getAttribute("data-kind") === "number";
        sortKey = key;
        headings.forEach(function (other) {
          other.removeAttribute("aria-sort");
        });
        heading.setAttribute("aria-sort", descending ? "descending" : "ascending");
        draw();
      });
    });

    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + root.getAttribute("data-websocket-path"));
    socket.addEventListener("message", function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "rows") {
        byHost[message.host] = message.rows;
        status.textContent = "Updated " + new Date().toLocaleTimeString();
        draw();
      } else if (message.type === "error") {
        status.textContent = "Host " + message.host + " does not answer: " + message.message;
      } else if (message.type === "ended") {
        status.textContent = message.message;
      }
    });
    socket.addEventListener("close", function () {
      if (status.textContent.indexOf("Updated") === 0 || status.textContent === "Connecting…") {
        status.textContent = "Disconnected. Reload the page to watch again.";
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-top]").forEach(start);
  });
})();
