// SPDX-License-Identifier: Apache-2.0
/**
 * GET /api/v1/dns end to end: DNS records posted as batches (wire version 6), answered per pod and server with
 * counters by name, latency quantiles from the summed histogram (the upper bound of the bucket holding each),
 * top names per pod, at raw and rolled-up levels with the same sums; bad parameters are 400s naming them.
 */
import { describe, expect, it } from "vitest";
import { runMaintenance } from "../monitoring-store/maintenance.ts";
import { busyDnsServer, dnsName, dnsServer } from "../monitoring-store/dns.test-support.ts";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { postDns } from "../monitoring/dns-scenario.test-support.ts";
import { DB_POD, NOW, post, postPods } from "../monitoring/scenario.test-support.ts";
import { getJson, T0, useTestApp } from "../test-support.ts";
import { DNS_LATENCY_BOUNDS_US } from "../wire/dns.ts";

const s = useTestApp();

const web = { kind: "pod", label: "default/web", uid: "u-web", namespace: "default", name: "web", node: "node-a" };
const db = { kind: "pod", label: "data/db", uid: "u-db", namespace: "data", name: "db", node: "node-b" };

/** web: 100 answers, 50 within 100 µs, 45 within 1 ms, 4 within 10 ms, 1 slower than the last bound. */
async function scenario() {
  await postPods(s);
  await postDns(s, "node-a", {
    servers: [busyDnsServer("u-web"), dnsServer({ queries: { other: 1 } })],
    names: [dnsName("u-web", "api.example.com", 60), dnsName("u-web", "gone.test", 10, 10)],
  });
  await postDns(s, "node-b", {
    servers: [dnsServer({ pod: DB_POD.uid, server: "10.96.0.11", queries: { SRV: 4 } })],
    names: [],
  });
}

const zeroQueries = {
  A: 0,
  AAAA: 0,
  CNAME: 0,
  PTR: 0,
  MX: 0,
  TXT: 0,
  SRV: 0,
  NS: 0,
  SOA: 0,
  HTTPS: 0,
  ANY: 0,
  other: 0,
};
const zeroResponses = { NOERROR: 0, NXDOMAIN: 0, SERVFAIL: 0, REFUSED: 0, other: 0 };
const buckets = (counts: Record<number, number>) =>
  [...DNS_LATENCY_BOUNDS_US, null].map((leUs, i) => ({ leUs, count: counts[i] ?? 0 }));

const WEB_SERVER = {
  pod: web,
  server: "10.96.0.10",
  port: 53,
  queries: { ...zeroQueries, A: 60, AAAA: 40, HTTPS: 2 },
  responses: { ...zeroResponses, NOERROR: 90, NXDOMAIN: 10 },
  truncated: 1,
  timeouts: 2,
  tcp: 3,
  latency: {
    answered: 100,
    sumUs: 3_100_000,
    meanUs: 31_000,
    // Rank 50 is the 50th answer: in the first bucket; rank 95 in the fourth (≤ 1 ms); rank 99 in the seventh.
    p50Us: 100,
    p95Us: 1_000,
    p99Us: 10_000,
    aboveUs: 2_500_000,
    buckets: buckets({ 0: 50, 3: 45, 6: 4, 14: 1 }),
  },
};
const NO_LATENCY = {
  answered: 0,
  sumUs: 0,
  meanUs: null,
  p50Us: null,
  p95Us: null,
  p99Us: null,
  aboveUs: 2_500_000,
  buckets: buckets({}),
};
const OTHER_SERVER = {
  pod: null,
  server: "10.96.0.10",
  port: 53,
  queries: { ...zeroQueries, other: 1 },
  responses: zeroResponses,
  truncated: 0,
  timeouts: 0,
  tcp: 0,
  latency: NO_LATENCY,
};
const DB_SERVER = { ...OTHER_SERVER, pod: db, server: "10.96.0.11", queries: { ...zeroQueries, SRV: 4 } };
const WEB_NAMES = {
  pod: web,
  byQueries: [{ name: "api.example.com", queries: 60, nxdomain: 0 }, { name: "gone.test", queries: 10, nxdomain: 10 }],
  byNxdomain: [{ name: "gone.test", queries: 10, nxdomain: 10 }],
};

const dns = async (query: string) => {
  const { status, body } = await getJson(s.app, `/api/v1/dns?${query}`);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as { window: { level: string }; servers: unknown[]; names: unknown[] };
};

describe("GET /api/v1/dns", () => {
  it("answers per pod and server with exact sums, quantiles and top names, filtered by node, pod and server", async () => {
    await scenario();
    const all = await dns("since=5m");
    expect(all.window.level).toBe("raw");
    expect(all.servers).toEqual([OTHER_SERVER, DB_SERVER, WEB_SERVER]);
    expect(all.names).toEqual([WEB_NAMES]);
    expect((await dns("pod=default/web")).servers).toEqual([WEB_SERVER]);
    expect((await dns("node=node-b")).servers).toEqual([DB_SERVER]);
    const byServer = await dns("server=10.96.0.11");
    expect(byServer.servers).toEqual([DB_SERVER]);
    // Names carry no server: the filter leaves them.
    expect(byServer.names).toEqual([WEB_NAMES]);
    expect((await dns("pod=default/web&limit=1")).names).toEqual([
      { ...WEB_NAMES, byQueries: WEB_NAMES.byQueries.slice(0, 1) },
    ]);
  });

  it("server= matches an IPv6 server however the address is written (stored as the agent writes it, RFC 5952)", async () => {
    await postPods(s);
    await postDns(s, "node-a", {
      servers: [
        dnsServer({ pod: "u-web", server: "fd00::a", queries: { AAAA: 3 } }),
        dnsServer({ pod: "u-web", server: "10.96.0.53", queries: { A: 1 } }),
      ],
      names: [],
    });
    const cases = [
      ...["fd00::a", "FD00::A", "fd00:0:0:0:0:0:0:a", "fd00:0::000a"].map((w) => [w, "fd00::a"]),
      // An IPv4-mapped address is the IPv4 one (the agent writes it so).
      ...["10.96.0.53", "::ffff:10.96.0.53", "::FFFF:a60:35"].map((w) => [w, "10.96.0.53"]),
    ];
    for (const [written, stored] of cases) {
      const body = await dns(`server=${encodeURIComponent(written!)}`);
      expect(body.servers.map((r) => (r as { server: string }).server), written).toEqual([stored]);
    }
  });

  it("answers the same sums from the 1m and 1h levels", async () => {
    await scenario();
    await runMaintenance(s.db, NOW + 3 * 3_600_000, DEFAULT_MONITORING_SETTINGS);
    s.clock.now = NOW + 3 * 3_600_000;
    for (const [since, level] of [["4h", "1m"], ["3d", "1h"]]) {
      const body = await dns(`since=${since}`);
      expect(body.window.level).toBe(level);
      expect(body.servers).toEqual([OTHER_SERVER, DB_SERVER, WEB_SERVER]);
      expect(body.names).toEqual([WEB_NAMES]);
    }
  });

  it.each([
    ["server=10.96.0", "'server'"],
    ["since=yesterday", "'since'"],
    ["limit=0", "'limit'"],
    ["node=Node_A", "'node'"],
    ["pod=web", "'pod'"],
    ["qtype=A", "'qtype'"],
  ])("%s is a 400 naming %s", async (query, named) => {
    const { status, body } = await getJson(s.app, `/api/v1/dns?${query}`);
    expect(status).toBe(400);
    expect((body as { error: string }).error).toContain(named);
  });

  it("names a pod from its DNS rows alone, also once the pod is gone", async () => {
    await scenario();
    // Both nodes then list no pods: vanished, and past their grace period dropped, within the 1m retention.
    await post(s, { node: "node-a", seq: 3, ts: T0 + 20_000, pods: [] });
    await post(s, { node: "node-b", seq: 3, ts: T0 + 20_000, pods: [] });
    const later = NOW + 3 * 3_600_000;
    await runMaintenance(s.db, later, DEFAULT_MONITORING_SETTINGS);
    expect((await s.db.$client.execute("SELECT count(*) AS n FROM pods")).rows[0]!.n).toBe(0);
    s.clock.now = later;
    const body = await dns("since=4h&pod=default/web");
    expect(body.servers).toEqual([WEB_SERVER]);
  });

  it("is a 404 for a pod nobody knows", async () => {
    await scenario();
    expect((await getJson(s.app, "/api/v1/dns?pod=default/nobody")).status).toBe(404);
  });
});
