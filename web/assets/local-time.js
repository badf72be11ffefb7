// SPDX-License-Identifier: Apache-2.0
/*
 * Shows every time on a page in the browser's time zone, as the charts do
 * (uPlot draws local time). The server writes each time in UTC
 * (web/components/time.tsx: <time datetime="ISO" title="UTC …"
 * data-local="datetime|time">); this rewrites the text into local time with
 * a fixed format (2026-12-07 05:38:50 GMT+5:30, or 05:38:50 for a
 * time of day), leaving the UTC in the title for hover. Runs on load and on
 * whatever htmx swaps in.
 */
(function () {
  "use strict";

  const DATE_TIME = new Intl.DateTimeFormat("en-US", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });

  function parts(date) {
    const p = {};
    for (const part of DATE_TIME.formatToParts(date)) p[part.type] = part.value;
    return p;
  }

  function localText(date, format) {
    const p = parts(date);
    const clock = p.hour + ":" + p.minute + ":" + p.second;
    return format === "time" ? clock : p.year + "-" + p.month + "-" + p.day + " " + clock + " " + p.timeZoneName;
  }

  function localize(root) {
    if (!root || !root.querySelectorAll) return;
    for (const el of root.querySelectorAll("time[data-local]")) {
      const date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date.getTime())) el.textContent = localText(date, el.getAttribute("data-local"));
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
  });
  document.addEventListener("htmx:load", function (e) {
    localize(e.target);
  });
})();
