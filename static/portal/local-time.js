// Shows every <time data-local datetime="..."> in the browser's own time zone, with "2 min ago"
// for the last hour. The server writes UTC (it does not know the reader's zone); this runs on
// page load and after every htmx swap, so polled job logs stay readable too.
(function () {
  "use strict";

  function ago(seconds) {
    if (seconds < 10) return "just now";
    if (seconds < 60) return seconds + " s ago";
    return Math.floor(seconds / 60) + " min ago";
  }

  function render(root) {
    root.querySelectorAll("time[data-local]").forEach(function (element) {
      var when = new Date(element.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var seconds = Math.round((Date.now() - when.getTime()) / 1000);
      var clock = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
      element.textContent = seconds >= 0 && seconds < 3600 ? clock + " (" + ago(seconds) + ")" : clock;
      element.title = when.toLocaleString();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSwap", function (event) { render(event.target); });
})();
