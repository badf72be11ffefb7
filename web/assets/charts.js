// SPDX-License-Identifier: Apache-2.0
/*
 * Draws the pages' time-series charts with uPlot (served locally, like htmx).
 *
 * A chart is an element with a `data-chart` attribute holding a
 * <script type="application/json"> with { unit: "bytes" | "packets",
 * x: [seconds since the epoch], series: [{ label, color, values }] } (null
 * values are gaps) and an empty `.plot` element to draw in
 * (web/components/traffic-chart.tsx). Charts are drawn when the page loads
 * and again whenever htmx swaps new ones in (live refresh, window links),
 * and follow the width of their card. The time axis is in the browser's
 * time zone (uPlot's default), as every time the pages write is
 * (local-time.js).
 */
(function () {
  "use strict";

  const UNITS = {
    bytes: { step: 1024, names: ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"] },
    packets: { step: 1000, names: ["pps", "kpps", "Mpps", "Gpps"] },
  };

  /** 1536 → "1.50 KiB/s", as the pages' tables write rates (web/format.ts). */
  function human(value, unit) {
    if (value === null || value === undefined) return "—";
    const u = UNITS[unit] || UNITS.bytes;
    let v = value;
    let i = 0;
    while (Math.abs(v) >= u.step && i < u.names.length - 1) {
      v /= u.step;
      i++;
    }
    const abs = Math.abs(v);
    const text = i === 0 && Number.isInteger(v) ? String(v) : v.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
    return text + " " + u.names[i];
  }

  let charts = [];

  function draw(el) {
    if (el.getAttribute("data-drawn") !== null || typeof uPlot === "undefined") return;
    const source = el.querySelector('script[type="application/json"]');
    const target = el.querySelector(".plot");
    if (!source || !target) return;
    const data = JSON.parse(source.textContent);
    el.setAttribute("data-drawn", "");
    const format = function (_u, v) {
      return human(v, data.unit);
    };
    const opts = {
      width: Math.max(300, target.clientWidth || el.clientWidth || 600),
      height: 200,
      scales: {
        x: { time: true },
        y: {
          range: function (_u, _min, max) {
            return [0, max > 0 ? max * 1.1 : 1];
          },
        },
      },
      series: [{}].concat(
        data.series.map(function (s) {
          return { label: s.label, stroke: s.color, width: 1.5, value: format, spanGaps: false };
        }),
      ),
      axes: [{}, {
        size: 80,
        values: function (_u, ticks) {
          return ticks.map(function (t) {
            return human(t, data.unit);
          });
        },
      }],
    };
    const columns = [data.x].concat(data.series.map(function (s) {
      return s.values;
    }));
    charts.push({ el: el, target: target, plot: new uPlot(opts, columns, target) });
  }

  function drawIn(root) {
    // Forget charts whose elements a swap removed.
    charts = charts.filter(function (c) {
      if (document.body.contains(c.el)) return true;
      c.plot.destroy();
      return false;
    });
    const found = root.querySelectorAll ? root.querySelectorAll("[data-chart]") : [];
    for (const el of found) draw(el);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawIn(document);
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    drawIn(e.target || document);
  });
  globalThis.addEventListener("resize", function () {
    charts.forEach(function (c) {
      c.plot.setSize({ width: Math.max(300, c.target.clientWidth || c.el.clientWidth), height: 200 });
    });
  });
})();
