// SPDX-License-Identifier: Apache-2.0
/**
 * Services on the monitoring pages: the service map draws a service node
 * between its clients and its backends and filters by service; a service's
 * page lists its clients and backends with bytes, connections, failures and
 * RTT from the flows and tcp modules, and the drops that named it.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { drop, flow, tcp } from "../control/monitoring/fixtures.test-support.ts";
import { DB_POD, post, report, WEB } from "../control/monitoring/scenario.test-support.ts";
import { dbService } from "../control/services/fixtures.test-support.ts";
import { AS_ADMIN, send, T0, useTestApp } from "../control/test-support.ts";
import { pageRequests } from "./pages.test-support.ts";

const s = useTestApp();
const { page } = pageRequests(s);

/** data/db on 10.96.0.30:5432, its backend the db pod (10.0.2.2:5432); web connects to it, 4 times (1 refused). */
async function scenario() {
  expect((await send(s.app, "POST", "/api/v1/services", dbService(), AS_ADMIN)).status).toBe(201);
  await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
  await post(s, {
    node: "node-a",
    seq: 1,
    ts: T0 + 10_000,
    pods: [report(WEB, 1)],
    flows: [flow({ dst: "10.0.2.2", port: 5432, packets: 3, bytes: 3_000 })],
    tcp: [tcp({ remote: "10.0.2.2", port: 5432, opened: 4, failedRefused: 1, srttUsSum: 2_000, srttSamples: 4 })],
  });
  s.clock.now = T0 + 30_000;
}

describe("services on the service map and the service page", () => {
  beforeEach(scenario);

  it("the map has a service node between client and backend, linked to the service's page", async () => {
    const html = await page("/servicemap?since=5m");
    expect(html).toContain('<g class="node node-service"><title>data/db</title>');
    // The edge table: web → data/db (the service) → data/db (the pod), each with the same bytes and connections.
    const edgeTable = html.slice(html.indexOf('<table class="edges">'));
    const rows = [
      ...edgeTable.matchAll(
        /<tr[^>]*>\s*<td>(.*?)<span class="sub">(\w+)<\/span><\/td>\s*<td>(.*?)<span class="sub">(\w+)<\/span><\/td>\s*<td[^>]*>([^<]*)<\/td>\s*<td>([^<]*)<\/td>\s*<td[^>]*>([^<]*)<\/td>\s*<td[^>]*>([^<]*)<\/td>/g,
      ),
    ]
      .map((m) => m.slice(1).map((c) => c.replace(/<[^>]+>/g, "")));
    expect(rows).toEqual([
      ["default/web", "pod", "data/db", "service", "2.93 KiB", "4", "1", "500 µs"],
      ["data/db", "service", "data/db", "pod", "2.93 KiB", "4", "1", "500 µs"],
    ]);
    expect(html).toContain('<a href="/services/data/db">data/db</a>');

    const other = await page("/servicemap?since=5m&service=data/other");
    expect(other).toContain("No traffic of service data/other");
    expect(await page("/servicemap?service=nope", {}, 400)).toContain("service");
  });

  it("the service page lists its clients and its backends, over its own window (1 h by default)", async () => {
    s.clock.now = T0 + 20 * 60_000; // past the monitoring API's default window of 5 min
    const html = await page("/services/data/db");
    const traffic = html.slice(html.indexOf('id="traffic"'));
    expect(traffic).toMatch(/<th>Clients<\/th>[\s\S]*<td>default\/web<\/td>\s*<td[^>]*>2.93 KiB<\/td>\s*<td>4<\/td>/);
    expect(traffic).toMatch(/<th>Backends<\/th>[\s\S]*<td>data\/db<\/td>\s*<td[^>]*>2.93 KiB<\/td>\s*<td>4<\/td>/);
    expect(traffic).toContain('href="/flows?service=data%2Fdb&amp;since=1h"');
    expect(traffic).toContain("No dropped packets named this service since");
  });

  it("the service page lists the drops that named it, per reason and pod; the pod's drop table names the service", async () => {
    const named = { pod: "u-web", ifname: "veth-web", service: "data/db" };
    await post(s, {
      node: "node-a",
      seq: 2,
      ts: T0 + 20_000,
      drops: [
        drop({ ...named, reason: "NETFILTER_DROP", packets: 3, bytes: 3_072 }),
        drop({ ...named, ifname: "eth0", reason: "NETFILTER_DROP", packets: 2, bytes: 2_048 }), // same pod and reason
        drop({ ...named, reason: "TCP_CSUM", packets: 1, bytes: 60 }),
        drop({ pod: "u-web", ifname: "veth-web", reason: "NO_SOCKET", packets: 9, bytes: 900 }), // no service
      ],
    });
    s.clock.now = T0 + 30_000;
    const html = await page("/services/data/db");
    const drops = html.slice(html.indexOf('id="service-drops"'));
    const rows = [
      ...drops.matchAll(
        /<tr><td class="reason"><code title="[^"]+">(\w+)<\/code><\/td><td><a[^>]*>([^<]*)<\/a>.*?<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g,
      ),
    ]
      .map((m) => m.slice(1));
    expect(rows).toEqual([["NETFILTER_DROP", "default/web", "5", "5.00 KiB"], [
      "TCP_CSUM",
      "default/web",
      "1",
      "60 B",
    ]]);
    expect(html).not.toContain("NO_SOCKET");

    const pod = await page("/pods/default/web?since=5m");
    expect(pod).toContain('<td><a href="/services/data/db">data/db</a><span class="sub">service</span></td>');
    expect(pod).toMatch(/<code title="[^"]+">NO_SOCKET<\/code><\/td><td class="na">—<\/td>/);
  });
});
