/*
 * Draws the pages' time-series charts with uPlot (served locally, like htmx).
 *
 * A chart is an element with a `data-chart` attribute holding a
 * <script type="application/json"> with { unit: "bytes" | "packets",
 * x: [seconds since the epoch], series: [{ label, color, values }] } (null
 * values are gaps) and an empty `.plot` element to draw in
 * (web/components/traffic-chart.tsx). Charts are drawn when the page loads
 * and again whenever htmx swaps new ones in (live refresh, window links),
 * and follow the width of their card.
 */
(function () {
  "use strict";

  var UNITS = {
    bytes: { step: 1024, names: ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"] },
    packets: { step: 1000, names: ["pps", "kpps", "Mpps", "Gpps"] },
  };

  /** 1536 → "1.50 KiB/s", as the pages' tables write rates (web/format.ts). */
  function human(value, unit) {
    if (value === null || value === undefined) return "—";
    var u = UNITS[unit] || UNITS.bytes;
    var v = value;
    var i = 0;
    while (Math.abs(v) >= u.step && i < u.names.length - 1) {
      v /= u.step;
      i++;
    }
    var abs = Math.abs(v);
    var text = i === 0 && Number.isInteger(v) ? String(v) : v.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
    return text + " " + u.names[i];
  }

  var charts = [];

  function draw(el) {
    if (el.getAttribute("data-drawn") !== null || typeof uPlot === "undefined") return;
    var source = el.querySelector('script[type="application/json"]');
    var target = el.querySelector(".plot");
    if (!source || !target) return;
    var data = JSON.parse(source.textContent);
    el.setAttribute("data-drawn", "");
    var format = function (u, v) {
      return human(v, data.unit);
    };
    var opts = {
      width: Math.max(300, target.clientWidth || el.clientWidth || 600),
      height: 200,
      scales: {
        x: { time: true },
        y: {
          range: function (u, min, max) {
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
        values: function (u, ticks) {
          return ticks.map(function (t) {
            return human(t, data.unit);
          });
        },
      }],
    };
    var columns = [data.x].concat(data.series.map(function (s) {
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
    var found = root.querySelectorAll ? root.querySelectorAll("[data-chart]") : [];
    for (var i = 0; i < found.length; i++) draw(found[i]);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawIn(document);
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    drawIn(e.target || document);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) {
      c.plot.setSize({ width: Math.max(300, c.target.clientWidth || c.el.clientWidth), height: 200 });
    });
  });
})();
