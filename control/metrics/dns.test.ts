// SPDX-License-Identifier: Apache-2.0
/**
 * The DNS families of the control plane's /metrics: exact values after DNS batches through /api/v1/ingest,
 * counters that only grow (another batch adds, a resent batch does not, retention pruning the stored levels takes
 * nothing away), and labels bounded by fixed lists whatever the pods, servers and names.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import { dnsName, dnsServer } from "../monitoring-store/dns.test-support.ts";
import { runMaintenance } from "../monitoring-store/maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { batch, postBatch, T0, testApp, useTestDb } from "../test-support.ts";
import { DNS_LATENCY_BOUNDS_US, DNS_QTYPES, DNS_RCODES, type DnsRecords } from "../wire/dns.ts";
import { METRIC_LABELS } from "../wire/metric-labels.ts";
import { parseExposition, type Sample, valueOf } from "./parse.test-support.ts";

const s = useTestDb();

const DNS_LABELS = new Set(["node", "qtype", "rcode", "le"]);

function setup() {
  const { app, clock } = testApp(s.db);
  const seqs = new Map<string, number>();
  return {
    app,
    /** A batch of `node` with these DNS records at agent time ts (the control plane's too); resend: the same seq again. */
    async post(node: string, ts: number, dns: DnsRecords, resend = false) {
      const seq = (seqs.get(node) ?? 0) + (resend ? 0 : 1);
      seqs.set(node, seq);
      clock.now = ts + 500;
      const res = await postBatch(app, batch({ node, seq, ts, dns }));
      expect(res.status, await res.clone().text()).toBe(200);
    },
    async scrape(): Promise<Sample[]> {
      const { samples, types } = parseExposition(await (await app.request("/metrics")).text());
      expect(types.get("ebpf_k8s_dns_queries_total")).toBe("counter");
      expect(types.get("ebpf_k8s_dns_latency_seconds")).toBe("histogram");
      return samples.filter((x) => x.name.startsWith("ebpf_k8s_dns_"));
    },
  };
}

/** node-a: web with two servers and the node's "other" record; node-b: db. */
const FIRST: Record<string, DnsRecords> = {
  "node-a": {
    servers: [
      dnsServer({
        pod: "u-web",
        queries: { A: 3, AAAA: 2 },
        tcp: 1,
        responses: { NOERROR: 4, NXDOMAIN: 1 },
        truncated: 1,
        timeouts: 1,
        latency: { 0: 2, 3: 2, 14: 1 },
        latencySumUs: 3_000_100,
      }),
      dnsServer({
        pod: "u-web",
        server: "10.96.0.11",
        queries: { PTR: 7 },
        responses: { SERVFAIL: 7 },
        latency: { 5: 7 },
        latencySumUs: 28_000,
      }),
      dnsServer({ server: "0.0.0.0", port: 0, queries: { other: 5 }, timeouts: 5 }),
    ],
    names: [dnsName("u-web", "example.com", 5), dnsName("u-web", "nope.test", 1, 1)],
  },
  "node-b": { servers: [dnsServer({ pod: "u-db", queries: { SRV: 2 }, responses: { REFUSED: 2 } })], names: [] },
};

const histogram = (samples: Sample[], node: string) =>
  samples
    .filter((x) => x.name.startsWith("ebpf_k8s_dns_latency_seconds") && x.labels.node === node)
    .map((x) => [x.name.slice("ebpf_k8s_dns_latency_seconds".length), x.labels.le ?? "", x.value]);

describe("DNS in /metrics", () => {
  it("says each node's queries by type, answers by rcode, truncated, timeouts, tcp and latency, exactly", async () => {
    const t = setup();
    for (const [node, dns] of Object.entries(FIRST)) await t.post(node, T0, dns);
    const samples = await t.scrape();
    const q = (node: string, qtype: string) => valueOf(samples, "ebpf_k8s_dns_queries_total", { node, qtype });
    const r = (node: string, rcode: string) => valueOf(samples, "ebpf_k8s_dns_responses_total", { node, rcode });
    expect(DNS_QTYPES.map((qtype) => q("node-a", qtype))).toEqual([3, 2, 0, 7, 0, 0, 0, 0, 0, 0, 0, 5]);
    expect(DNS_QTYPES.map((qtype) => q("node-b", qtype))).toEqual([0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]);
    expect(DNS_RCODES.map((rcode) => r("node-a", rcode))).toEqual([4, 1, 7, 0, 0]);
    expect(DNS_RCODES.map((rcode) => r("node-b", rcode))).toEqual([0, 0, 0, 2, 0]);
    expect(valueOf(samples, "ebpf_k8s_dns_tcp_queries_total", { node: "node-a" })).toBe(1);
    expect(valueOf(samples, "ebpf_k8s_dns_truncated_total", { node: "node-a" })).toBe(1);
    expect(valueOf(samples, "ebpf_k8s_dns_timeouts_total", { node: "node-a" })).toBe(6);
    expect(valueOf(samples, "ebpf_k8s_dns_timeouts_total", { node: "node-b" })).toBe(0);
    // Cumulative buckets: 2 within 100 µs, 2 more within 1 ms, 7 more within 5 ms, 1 past the last bound.
    const cumulative = [2, 2, 2, 4, 4, 11, 11, 11, 11, 11, 11, 11, 11, 11];
    expect(histogram(samples, "node-a")).toEqual([
      ...DNS_LATENCY_BOUNDS_US.map((us, i) => ["_bucket", String(us / 1e6), cumulative[i]]),
      ["_bucket", "+Inf", 12],
      ["_sum", "", 3.0281],
      ["_count", "", 12],
    ]);
    expect(histogram(samples, "node-a").slice(0, 3).map(([, le]) => le)).toEqual(["0.0001", "0.00025", "0.0005"]);
  });

  it("only grows: another batch adds, a resent one does not, and pruning the stored levels takes nothing away", async () => {
    const t = setup();
    for (const [node, dns] of Object.entries(FIRST)) await t.post(node, T0, dns);
    const first = await t.scrape();
    const second = {
      servers: [dnsServer({ pod: "u-web", queries: { A: 10 }, responses: { NXDOMAIN: 10 }, latency: { 1: 10 } })],
      names: [],
    };
    await t.post("node-a", T0 + 10_000, second);
    await t.post("node-a", T0 + 10_000, second, true); // the same seq again: a duplicate, stored once
    const after = await t.scrape();
    expect(valueOf(after, "ebpf_k8s_dns_queries_total", { node: "node-a", qtype: "A" })).toBe(13);
    expect(valueOf(after, "ebpf_k8s_dns_responses_total", { node: "node-a", rcode: "NXDOMAIN" })).toBe(11);
    expect(valueOf(after, "ebpf_k8s_dns_latency_seconds_bucket", { node: "node-a", le: "0.00025" })).toBe(12);
    expect(valueOf(after, "ebpf_k8s_dns_latency_seconds_count", { node: "node-a" })).toBe(22);
    const key = (x: Sample) => `${x.name}${JSON.stringify(x.labels)}`;
    const before = new Map(first.map((x) => [key(x), x.value]));
    expect(after.map(key).sort()).toEqual([...before.keys()].sort());
    for (const x of after) expect(x.value, key(x)).toBeGreaterThanOrEqual(before.get(key(x))!);

    await runMaintenance(s.db, T0 + DEFAULT_RETENTION["1h"] + 7_200_000, DEFAULT_MONITORING_SETTINGS);
    const left = await s.db.$client.execute("SELECT count(*) AS n FROM dns_server_stats");
    expect(left.rows[0]!.n).toBe(0);
    expect(await t.scrape()).toEqual(after);
  });

  it("labels: node and the fixed lists only, the same series whatever the pods, servers and names", async () => {
    const t = setup();
    await t.post("node-a", T0, FIRST["node-a"]!);
    const one = await t.scrape();
    const many = {
      servers: Array.from(
        { length: 50 },
        (_, i) =>
          dnsServer({
            pod: `u-${i}`,
            server: `10.96.${i}.10`,
            port: 5300 + i,
            queries: { A: 1 },
            responses: { NOERROR: 1 },
          }),
      ),
      names: Array.from({ length: 50 }, (_, i) => dnsName(`u-${i}`, `name-${i}.example`, 1)),
    };
    await t.post("node-a", T0 + 10_000, many);
    const after = await t.scrape();
    expect(after.length).toBe(one.length);
    // Per node: 12 query types, 5 rcodes, tcp, truncated, timeouts, and 14 + 1 buckets, _sum and _count.
    expect(after.length).toBe(DNS_QTYPES.length + DNS_RCODES.length + 3 + DNS_LATENCY_BOUNDS_US.length + 3);
    const allowed = new Set<string>(METRIC_LABELS);
    for (const x of after) {
      for (const k of Object.keys(x.labels)) {
        expect(DNS_LABELS, `${x.name} label ${k}`).toContain(k);
        expect(allowed, k).toContain(k);
      }
      expect(Object.values(x.labels).join(" "), x.name).not.toMatch(/u-|10\.96|example|\.test/);
    }
  });
});
