// Interactive load history: each series of a resource's /history/ JSON drawn with uPlot
// (time axis, hover values, drag to zoom), replacing the graphs the server drew for the last hour.
(function () {
  "use strict";
  var REFRESH_MS = 60000;

  function valueText(unit) {
    return function (chart, value) {
      return value == null ? "–" : value.toFixed(1) + " " + unit;
    };
  }

  function draw(section, payload) {
    var charts = section.querySelector(".history-charts");
    (section._plots || []).forEach(function (plot) { plot.destroy(); });
    charts.textContent = "";
    section._plots = payload.series.map(function (line, position) {
      var figure = document.createElement("figure");
      figure.className = "history-chart history-" + line.key;
      charts.appendChild(figure);
      var width = Math.max(charts.clientWidth / 2 - 16, 280);
      return new uPlot({
        title: line.label + " (" + line.unit + ")",
        width: width,
        height: 160,
        scales: { x: { time: true, min: payload.start, max: payload.end } },
        series: [{}, { label: line.label, stroke: "#2c7be5", width: 1.5, value: valueText(line.unit) }],
        axes: [{}, { size: 56 }],
      }, [payload.data[0], payload.data[position + 1]], figure);
    });
    section.querySelector("[data-history-fallback]").hidden = true;
    charts.hidden = false;
  }

  function load(section) {
    var url = section.dataset.historyUrl + "?window=" + encodeURIComponent(section.dataset.window);
    var status = section.querySelector(".history-status");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.error || "The history could not be read."); }
          return body;
        });
      })
      .then(function (payload) { draw(section, payload); section.dataset.loaded = section.dataset.window; })
      .catch(function (error) { status.textContent = error.message; });
  }

  function setUp(section) {
    section.dataset.window = "1h";
    section.querySelectorAll("[data-window]").forEach(function (button) {
      button.addEventListener("click", function () {
        section.querySelectorAll("[data-window]").forEach(function (other) {
          other.setAttribute("aria-pressed", String(other === button));
        });
        section.dataset.window = button.dataset.window;
        load(section);
      });
    });
    load(section);
    // The last hour moves: refresh it while someone looks; longer windows change too slowly to matter.
    window.setInterval(function () {
      if (document.visibilityState === "visible" && section.dataset.window === "1h") { load(section); }
    }, REFRESH_MS);
  }

  function start() {
    if (typeof uPlot === "undefined") { return; }  // the server's graphs stay
    document.querySelectorAll("[data-history-url]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
