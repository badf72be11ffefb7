// SPDX-License-Identifier: Apache-2.0
/**
 * GET /api/v1/servicemap's DNS (issue 20): an edge per pod → DNS server with exact queries, answers by rcode,
 * errors, error rate, timeouts and p95; a server named as the service of its VIP, a resolver pod reached through
 * its service like a connection (pod → kube-dns → pod); the totals on each node DNS reaches; the namespace and
 * service filters keep the DNS edges touching them; the flows' edges are untouched.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { dnsScenario } from "../monitoring/dns-scenario.test-support.ts";
import { getJson, useTestApp } from "../test-support.ts";

const s = useTestApp();

const rcodes = (r: Partial<Record<"NOERROR" | "NXDOMAIN" | "SERVFAIL" | "REFUSED" | "other", number>>) => ({
  NOERROR: 0,
  NXDOMAIN: 0,
  SERVFAIL: 0,
  REFUSED: 0,
  other: 0,
  ...r,
});

const WEB = "pod:u-web", CACHE = "pod:u-cache", DB = "pod:u-db", KUBE_DNS = "svc:kube-system/kube-dns";

// web's VIP row and its row to the db pod (a kube-dns backend) both pass through kube-dns.
const WEB_KUBE_DNS = {
  source: WEB,
  target: KUBE_DNS,
  queries: 107,
  responses: rcodes({ NOERROR: 92, NXDOMAIN: 10, SERVFAIL: 2, REFUSED: 1 }),
  errors: 13,
  errorRate: 13 / 105,
  timeouts: 2,
  answered: 105,
  // 105 answers: rank 100 is the last of the ≤ 1 ms bucket (50 + 5 + 45).
  p95Us: 1_000,
};
const CACHE_KUBE_DNS = {
  source: CACHE,
  target: KUBE_DNS,
  queries: 4,
  responses: rcodes({ NOERROR: 4 }),
  errors: 0,
  errorRate: 0,
  timeouts: 0,
  answered: 4,
  p95Us: 250,
};
const KUBE_DNS_DB = {
  source: KUBE_DNS,
  target: DB,
  queries: 5,
  responses: rcodes({ NOERROR: 2, SERVFAIL: 2, REFUSED: 1 }),
  errors: 3,
  errorRate: 0.6,
  timeouts: 0,
  answered: 5,
  p95Us: 500,
};
const WEB_WORLD = {
  source: WEB,
  target: "ip:8.8.8.8",
  queries: 3,
  responses: rcodes({}),
  errors: 0,
  errorRate: null,
  timeouts: 3,
  answered: 0,
  p95Us: null,
};
/** As the map sorts its edges: by source, then target. */
const sorted = (...edges: { source: string; target: string }[]) =>
  edges.sort((a, b) => a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : 1);
const OTHER_KUBE_DNS = {
  source: "other",
  target: KUBE_DNS,
  queries: 1,
  responses: rcodes({ NOERROR: 1 }),
  errors: 0,
  errorRate: 0,
  timeouts: 0,
  answered: 0,
  p95Us: null,
};
const totals = ({ source: _s, target: _t, ...rest }: typeof WEB_KUBE_DNS | typeof WEB_WORLD) => rest;

async function map(query = "") {
  const { status, body } = await getJson(s.app, `/api/v1/servicemap${query}`);
  expect(status).toBe(200);
  return body as {
    nodes: { id: string; label: string; kind: string; namespace?: string; dns?: object }[];
    edges: unknown[];
    dns: object[];
  };
}

describe("GET /api/v1/servicemap with DNS", () => {
  beforeEach(() => dnsScenario(s));

  it("draws each pod → DNS server edge with exact counts, through the server's service, sorted by source, target", async () => {
    const m = await map();
    expect(m.dns).toEqual(sorted(KUBE_DNS_DB, WEB_WORLD, CACHE_KUBE_DNS, WEB_KUBE_DNS, OTHER_KUBE_DNS));
    expect(m.edges).toEqual([]); // DNS is not traffic of the flows and tcp modules: their edges are apart
  });

  it("puts on every node DNS reaches the totals of what reached it; clients carry none", async () => {
    const m = await map();
    const node = (id: string) => m.nodes.find((n) => n.id === id);
    expect(node(KUBE_DNS)).toEqual({
      id: KUBE_DNS,
      label: "kube-system/kube-dns",
      kind: "service",
      namespace: "kube-system",
      dns: {
        queries: 112,
        responses: rcodes({ NOERROR: 97, NXDOMAIN: 10, SERVFAIL: 2, REFUSED: 1 }),
        errors: 13,
        errorRate: 13 / 110,
        timeouts: 2,
        answered: 109,
        // 109 answers timed (the other record's one is not): rank 104 is the last within 1 ms (50 + 4 + 5 + 45).
        p95Us: 1_000,
      },
    });
    expect(node(DB)).toEqual({
      id: DB,
      label: "data/db",
      kind: "pod",
      namespace: "data",
      dns: totals(KUBE_DNS_DB),
    });
    expect(node("ip:8.8.8.8")).toEqual({ id: "ip:8.8.8.8", label: "8.8.8.8", kind: "world", dns: totals(WEB_WORLD) });
    expect(node(WEB)).toEqual({ id: WEB, label: "default/web", kind: "pod", namespace: "default" });
    expect(node("other")).toEqual({ id: "other", label: "other (over the cap)", kind: "other" });
  });

  it("namespace keeps the DNS edges with a pod or service of it at one end; service keeps the service's", async () => {
    expect((await map("?namespace=data")).dns).toEqual([KUBE_DNS_DB]);
    expect((await map("?namespace=default")).dns).toEqual(
      sorted(WEB_WORLD, CACHE_KUBE_DNS, WEB_KUBE_DNS),
    );
    expect((await map("?service=kube-system/kube-dns")).dns).toEqual(
      sorted(KUBE_DNS_DB, CACHE_KUBE_DNS, WEB_KUBE_DNS, OTHER_KUBE_DNS),
    );
    const none = await map("?namespace=nowhere");
    expect(none.dns).toEqual([]);
    expect(none.nodes).toEqual([]);
  });

  it("the same numbers from the 1-minute level", async () => {
    expect((await map("?since=3h")).dns).toEqual((await map()).dns);
  });
});
