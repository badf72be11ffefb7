// SPDX-License-Identifier: Apache-2.0
/**
 * The overview (totals, pod counts, RX/TX now, sparklines, top talkers) and
 * a node's traffic (charts over a window, per interface, its TCP health
 * and drops), rendered from the interface scenario
 * (control/monitoring-store/interface-scenario.test-support.ts) with pods.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { storeBatch } from "../control/ingest/store.ts";
import { drop, tcp } from "../control/monitoring/fixtures.test-support.ts";
import { CACHE, DB_POD, report, WEB } from "../control/monitoring/scenario.test-support.ts";
import { H, LATE, ON_TIME } from "../control/monitoring-store/interface-scenario.test-support.ts";
import { batch, useTestApp } from "../control/test-support.ts";
import type { Batch } from "../control/wire/batch.ts";
import type { ChartData } from "./components/traffic-chart.tsx";
import { formatByteRate } from "./format.ts";

const s = useTestApp();
const MIN = 60_000;

const store = (b: Batch) => storeBatch(s.db, b, b.ts + 500);

/** node-a: the interface scenario, with web and cache reported by boot B (1,000 B/s each way each); node-b: db, no interfaces. */
beforeEach(async () => {
  const [a1, a2, a3, b1, b2] = ON_TIME as [Batch, Batch, Batch, Batch, Batch];
  for (const b of [a1, a2, a3]) await store(b);
  await store({ ...b1, pods: [report(WEB, 1), report(CACHE, 1)] });
  await store({
    ...b2,
    pods: [report(WEB, 2), report(CACHE, 2)],
    tcp: [tcp({ opened: 2, closed: 1, retransmits: 4 })],
    drops: [drop({ pod: "u-web", ifname: "veth-web", packets: 3, bytes: 180 })],
  });
  await storeBatch(s.db, LATE, H + 85_000); // received after boot B's
  await store(batch({ node: "node-b", seq: 1, ts: H + 70_000, interfaces: [], pods: [report(DB_POD, 1)] }));
  await store(batch({ node: "node-b", seq: 2, ts: H + 80_000, interfaces: [], pods: [report(DB_POD, 3)] }));
  s.clock.now = H + 90_000;
});

async function html(path: string, status = 200) {
  const res = await s.app.request(`http://control.test${path}`);
  const body = await res.text();
  expect(res.status, body).toBe(status);
  return body;
}

/** Every chart's embedded data, in page order. */
function charts(page: string): ChartData[] {
  return [...page.matchAll(/<figure class="chart" data-chart="">.*?<script type="application\/json">(.*?)<\/script>/gs)]
    .map((m) => JSON.parse(m[1]!));
}

/** The <tr> holding a link to `href`. */
function rowOf(page: string, href: string): string {
  const at = page.indexOf(`<a href="${href}">`);
  expect(at, href).toBeGreaterThan(0);
  return page.slice(page.lastIndexOf("<tr", at), page.indexOf("</tr>", at));
}

describe("overview", () => {
  it("shows cluster totals: nodes by status, pods, RX/TX now", async () => {
    const page = await html("/");
    const totals = page.slice(
      page.indexOf('<section class="totals"'),
      page.indexOf("</section>", page.indexOf('<section class="totals"')),
    );
    expect(totals).toContain('<span class="big">2</span> nodes');
    expect(totals).toContain('<span class="status-ready">2 Ready</span>');
    expect(totals).toContain('<span class="big">3</span> pods');
    // node-a's eth0 at its last report: 2,000 bytes over 10 s; node-b has no interfaces.
    expect(totals).toContain("<th>RX now</th><td>200 B/s");
    expect(totals).toContain("<th>TX now</th><td>400 B/s");
  });

  it("a row per node: pods, RX/TX now, and the last hour's sparkline (RX and TX per minute)", async () => {
    const page = await html("/");
    const a = rowOf(page, "/nodes/node-a");
    expect(a).toContain("<td>2</td>"); // web and cache
    expect(a).toContain("200 B/s");
    // Minutes H and H+1 are the 59th and 60th of the hour drawn; peaks 9,000 B over 20 s RX, twice that TX.
    expect(a).toContain('<svg class="spark" viewBox="0 0 60 20" preserveAspectRatio="none" role="img">');
    expect(a).toContain("<title>Last hour per minute: RX peak 450 B/s, TX peak 900 B/s</title>");
    expect(a).toContain('<path class="spark-rx" d="M59 16.9L60 10"></path>');
    expect(a).toContain('<path class="spark-tx" d="M59 14.8L60 1"></path>');
    const b = rowOf(page, "/nodes/node-b");
    expect(b).toContain("<td>1</td>");
    expect(b).toContain("no data in the last hour");
  });

  it("lists the pods talking most now, busiest first", async () => {
    const page = await html("/fragments/nodes");
    const talkers = page.slice(page.indexOf('<table class="talkers">'));
    // db grew by two reports' worth (20,000 B in 10 s: 1.95 KiB/s), web and cache by one.
    const order = ["/pods/data/db", "/pods/default/cache", "/pods/default/web"].map((href) =>
      talkers.indexOf(`<a href="${href}">`)
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(rowOf(talkers, "/pods/data/db")).toContain("1.95 KiB/s");
  });

  it("says so when no pod is talking", async () => {
    s.clock.now += 1;
    await s.db.$client.execute("UPDATE pods SET rx_bytes_per_sec = NULL, tx_bytes_per_sec = 0");
    expect(await html("/")).toContain("No pod is sending or receiving right now.");
  });
});

describe("overview of many nodes", () => {
  /** 50 more nodes, n-00 … n-49, with 100 B/s RX per number (n-49: 5,000 B/s); n-07 reported last 60 s ago (Stale). */
  beforeEach(async () => {
    for (let i = 0; i < 50; i++) {
      const node = `n-${String(i).padStart(2, "0")}`;
      const at = (seq: number, rx: number) =>
        batch({
          node,
          seq,
          ts: H + 60_000 + seq * 10_000,
          interval: 10,
          interfaces: [{ ifname: "eth0", ifindex: 2, rxPackets: 0, rxBytes: rx, txPackets: 0, txBytes: 0, drops: 0 }],
        });
      await storeBatch(s.db, at(1, 0), i === 7 ? H + 29_000 : H + 70_500);
      await storeBatch(s.db, at(2, (i + 1) * 1000), i === 7 ? H + 30_000 : H + 80_500);
    }
  });

  it("shows fifty a page, worst status first, and says which", async () => {
    const first = await html("/");
    const rows = [...first.matchAll(/<tr><td><a href="\/nodes\/([^"]+)">/g)].map((m) => m[1]);
    expect(rows.length).toBe(50);
    expect(rows.slice(0, 3)).toEqual(["n-07", "n-00", "n-01"]);
    expect(first).toContain('<span class="status-stale">1 Stale</span>');
    expect(first).toContain("Nodes 1–50 of 52");
    expect(first).toContain('<a href="/?page=2" rel="next">next →</a>');
    const second = await html("/?page=2");
    expect([...second.matchAll(/<tr><td><a href="\/nodes\/([^"]+)">/g)].map((m) => m[1])).toEqual(["node-a", "node-b"]);
    expect(second).toContain("Nodes 51–52 of 52");
    expect(second).toContain('<a href="/" rel="prev">← previous</a>');
    // The refresh keeps the page; a page past the last shows the last.
    expect(second).toContain('hx-get="/fragments/nodes?page=2"');
    expect(await html("/?page=9")).toContain("Nodes 51–52 of 52");
  });

  it("shows no rate for a node that stopped reporting, and leaves it out of the totals", async () => {
    const page = await html("/");
    // n-07 (Stale) last reported 8,000 B over 10 s: that is not traffic now
    expect(rowOf(page, "/nodes/n-07")).toContain('<td class="na" title="rate known after the next report">—</td>');
    expect(rowOf(page, "/nodes/n-08")).toContain("900 B/s");
    // node-a's 200 B/s plus n-00 … n-49 at 100 B/s per number, without n-07's 800
    const rx = 200 + (50 * 51 / 2) * 100 - 800;
    const totals = page.slice(
      page.indexOf('<section class="totals"'),
      page.indexOf("</section>", page.indexOf('<section class="totals"')),
    );
    expect(totals).toContain(`<th>RX now</th><td>${formatByteRate(rx)}<`); // 124 KiB/s; with n-07, 125
    expect(formatByteRate(rx + 800)).not.toBe(formatByteRate(rx));
  });

  it("finds nodes by a part of their name, keeping the search in the sort links, the pages and the refresh", async () => {
    const page = await html("/?q=N-4&sort=rx");
    const rows = [...page.matchAll(/<tr><td><a href="\/nodes\/([^"]+)">/g)].map((m) => m[1]);
    expect(rows).toEqual(["n-49", "n-48", "n-47", "n-46", "n-45", "n-44", "n-43", "n-42", "n-41", "n-40"]);
    expect(page).toContain("Nodes 1–10 of 10 whose name contains “n-4”");
    // The search form sits outside what htmx refreshes, and keeps the order.
    expect(page).toContain('<input type="search" name="q" value="n-4"');
    expect(page).toContain('<input type="hidden" name="sort" value="rx"/>');
    expect(page.indexOf('role="search"')).toBeLessThan(page.indexOf('<div id="nodes"'));
    expect(page).toContain('hx-get="/fragments/nodes?q=n-4&amp;sort=rx"');
    expect(page).toContain('<a href="/?q=n-4&amp;sort=pods">Pods</a>');
    expect(page).toContain('<a href="/?sort=rx">every node</a>');
    // Totals stay the cluster's.
    expect(page).toContain('<span class="big">52</span> nodes');
    // A page past the last shows the last: here the only one.
    expect(await html("/fragments/nodes?q=n-&page=2")).toContain("Nodes 1–50 of 50 whose name contains “n-”");
  });

  it("says so when no node name contains the text", async () => {
    const page = await html("/?q=nothing-like-it");
    expect(page).toContain("No node name contains “nothing-like-it” (52 nodes in all).");
    expect(page).toContain('<a href="/">Show every node</a>');
    expect(page).toContain('<span class="big">52</span> nodes');
  });

  it("sorts by pods: the most first, ties by name", async () => {
    const page = await html("/?sort=pods");
    const rows = [...page.matchAll(/<tr><td><a href="\/nodes\/([^"]+)">/g)].map((m) => m[1]);
    expect(rows.slice(0, 4)).toEqual(["node-a", "node-b", "n-00", "n-01"]);
  });

  it("sorts by any column: the most RX first", async () => {
    const page = await html("/?sort=rx");
    const rows = [...page.matchAll(/<tr><td><a href="\/nodes\/([^"]+)">/g)].map((m) => m[1]);
    expect(rows.slice(0, 3)).toEqual(["n-49", "n-48", "n-47"]);
    expect(page).toContain('<th aria-sort="descending"><a href="/?sort=rx">RX rate ▼</a></th>');
    expect(page).toContain('<a href="/?sort=rx&amp;page=2" rel="next">');
    expect(page).toContain('hx-get="/fragments/nodes?sort=rx"');
  });
});

describe("node page: traffic", () => {
  it("charts the node's total over the last 5 minutes by default, every report, with a gap where no report covers the time", async () => {
    const page = await html("/nodes/node-a");
    expect(page).toContain('<script src="/assets/uPlot.iife.min.js" defer=""></script>');
    expect(page).toContain('<script src="/assets/charts.js" defer=""></script>');
    expect(page).toContain('hx-get="/fragments/nodes/node-a/traffic?since=5m"');
    const [bytes, packets] = charts(page);
    // Boot B's first report covers (H+60 s, H+70 s]: nothing covers H+40 s to H+60 s.
    const x = [10, 20, 30, 40, 60, 70, 80].map((sec) => (H + sec * 1000) / 1000);
    expect(bytes).toEqual({
      unit: "bytes",
      x,
      series: [
        { label: "RX", color: "#2563eb", values: [100, 210, 80, 30, null, 700, 200] },
        { label: "TX", color: "#16a34a", values: [200, 420, 160, 60, null, 1400, 400] },
      ],
    });
    expect(packets!.series.map((s) => s.label)).toEqual(["RX", "TX", "drops"]);
    expect(packets!.series[2]!.values).toEqual([1, 2.1, 0.8, 0.3, null, 7, 2]);
  });

  it("window links keep the interface; interface links keep the window", async () => {
    const page = await html("/nodes/node-a?since=1h&ifname=eth0");
    expect(page).toContain('<a href="/nodes/node-a?since=5m&amp;ifname=eth0">5 min</a>');
    expect(page).toContain('<a href="/nodes/node-a?since=1h&amp;ifname=eth0" aria-current="page">1 h</a>');
    expect(page).toContain('<a href="/nodes/node-a?since=24h&amp;ifname=eth0">24 h</a>');
    expect(page).toContain('<a href="/nodes/node-a?since=1h">node total</a>');
    expect(page).toContain('<a href="/nodes/node-a?since=1h&amp;ifname=eth0" aria-current="page">eth0</a>');
    expect(page).toContain("eth0 on node-a");
  });

  it("24 h: one point per minute of the window, from the 1-minute sums", async () => {
    const page = await html("/fragments/nodes/node-a/traffic?since=24h");
    expect(page).not.toContain("<html");
    expect(page).toContain("from 1-minute sums");
    const [bytes] = charts(page);
    const from = Math.floor((H + 90_000 - 24 * 60 * MIN) / MIN) * MIN;
    expect(bytes!.x.length).toBe((H + 2 * MIN - from) / MIN);
    expect(bytes!.x[0]).toBe(from / 1000);
    const rx = bytes!.series[0]!.values;
    expect(rx.slice(-2)).toEqual([105, 450]); // 4,200 B over 40 s, 9,000 B over 20 s
    expect(rx.slice(0, -2).every((v) => v === null)).toBe(true);
  });

  it("shows the node's TCP health and drops over the same window", async () => {
    const page = await html("/nodes/node-a");
    expect(page).toContain("2 opened · 0 failed · 4 retransmits");
    expect(page).toContain("3 packets dropped");
    expect(page).toContain("veth-web");
    const quiet = await html(`/nodes/node-a?since=${new Date(H + 85_000).toISOString()}`);
    expect(quiet).toContain("No TCP activity for node node-a, since");
    expect(quiet).toContain("No drops for node node-a");
  });

  it("explains an empty chart in words", async () => {
    const page = await html("/nodes/node-b");
    expect(page).toContain("No interface traffic reported by node-b since 5 min ago.");
    expect(charts(page)).toEqual([]);
  });

  it("a bad window or interface name is refused in words", async () => {
    expect(await html("/nodes/node-a?since=soon", 400)).toContain(
      "The parameter &#39;since&#39; must be an ISO 8601 time",
    );
    expect(await html("/fragments/nodes/node-a/traffic?ifname=a%2Fb", 400)).toContain(
      "The parameter &#39;ifname&#39; must be a Linux interface name.",
    );
  });

  it("serves uPlot and the chart script locally", async () => {
    for (const name of ["uPlot.iife.min.js", "uPlot.min.css", "charts.js"]) {
      const res = await s.app.request(`/assets/${name}`);
      expect(res.status, name).toBe(200);
    }
    expect(await (await s.app.request("/assets/charts.js")).text()).toContain("htmx:afterSettle");
  });
});
