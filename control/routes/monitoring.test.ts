// SPDX-License-Identifier: Apache-2.0
/**
 * The monitoring read API end to end: batches from two nodes posted through
 * /api/v1/ingest, exact numbers read back from /pods, /flows, /tcp, /drops,
 * /servicemap and /nodes/:node, on the raw level and after the rollup.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { runMaintenance } from "../monitoring-store/maintenance.ts";
import { drop, flow, tcp } from "../monitoring/fixtures.test-support.ts";
import { CACHE, DB_POD, NOW, post, report, VANISHED_AT, WEB } from "../monitoring/scenario.test-support.ts";
import { getJson, T0, useTestApp } from "../test-support.ts";
import type { MonitoringStats } from "../wire/monitoring.ts";

const s = useTestApp();

const AGENT: MonitoringStats = {
  flowEntries: 3,
  flowTableSize: 4096,
  flowsCreated: 5,
  flowsEvicted: 0,
  flowCreateFailed: 0,
  flowRecordsCut: 0,
  tcpRecordsCut: 0,
  dropRecordsCut: 0,
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Pods first on both nodes (so each knows the other's pods when records
 * arrive), then records: web (node-a) ↔ db (node-b) on 5432, web → 1.1.1.1
 * DNS, a world client → cache; each pod-to-pod packet is seen at both ends
 * and must count once. node-a's third batch no longer lists cache.
 */
async function scenario() {
  await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1), report(CACHE, 1)] });
  await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
  await post(s, {
    node: "node-a",
    seq: 2,
    ts: T0 + 10_000,
    pods: [report(WEB, 2), report(CACHE, 2)],
    flows: [
      flow({ packets: 10, bytes: 1_000, tcpFlags: 0x12 }),
      // db's reply entering web: the duplicate of node-b's "tx", dropped
      flow({ src: "10.0.2.2", dst: "10.0.1.2", toServer: false, obs: "rx", packets: 8, bytes: 4_000, tcpFlags: 0x11 }),
      flow({ dst: "1.1.1.1", port: 53, proto: 17, packets: 2, bytes: 120 }),
      flow({ src: "192.168.1.50", dst: "10.0.1.3", port: 6379, obs: "rx", packets: 4, bytes: 400, tcpFlags: 0x02 }),
    ],
    tcp: [
      tcp({
        opened: 3,
        closed: 2,
        durationMs: 500,
        failedRefused: 1,
        retransmits: 1,
        srttUsSum: 3_000,
        srttSamples: 3,
      }),
    ],
    drops: [
      drop({ pod: "u-web", ifname: "veth-web", packets: 2, bytes: 120 }),
      drop({ reason: "NO_SOCKET", packets: 5, bytes: 300 }),
    ],
    monitoring: AGENT,
  });
  await post(s, {
    node: "node-b",
    seq: 2,
    ts: T0 + 10_000,
    pods: [report(DB_POD, 2)],
    flows: [
      flow({ src: "10.0.2.2", dst: "10.0.1.2", toServer: false, obs: "tx", packets: 8, bytes: 4_000, tcpFlags: 0x11 }),
      // web's request entering db: the duplicate of node-a's "tx", dropped
      flow({ obs: "rx", packets: 10, bytes: 1_000, tcpFlags: 0x12 }),
    ],
    tcp: [
      tcp({
        pod: "u-db",
        local: "10.0.2.2",
        remote: "10.0.1.2",
        role: "server",
        opened: 3,
        closed: 2,
        durationMs: 600,
        resetsTx: 1,
      }),
    ],
    drops: [drop({ pod: "u-db", reason: "TCP_CSUM", packets: 1, bytes: 60 })],
  });
  await post(s, {
    node: "node-a",
    seq: 3,
    ts: T0 + 20_000,
    pods: [report(WEB, 3)],
    flows: [flow({ packets: 5, bytes: 500, tcpFlags: 0x10 })],
  });
  s.clock.now = NOW;
}

/** The flow explorer's own fields (firstSeen, verdict, …, total) are flow-explorer.test.ts's: left out here. */
const EXPLORER_FIELDS = ["firstSeen", "lastSeen", "verdict", "connections", "avgSrttUs"];
const withoutExplorer = (r: { status: number; body: Record<string, unknown> }) => {
  if (!Array.isArray(r.body.flows)) return r;
  const { total: _total, ...body } = r.body;
  const flows = (r.body.flows as Record<string, unknown>[]).map((f) =>
    Object.fromEntries(Object.entries(f).filter(([k]) => !EXPLORER_FIELDS.includes(k)))
  );
  return { ...r, body: { ...body, flows } };
};
const get = async (path: string) =>
  path.startsWith("/api/v1/flows") ? withoutExplorer(await getJson(s.app, path)) : getJson(s.app, path);

const ep = {
  web: { kind: "pod", label: "default/web", uid: "u-web", namespace: "default", name: "web", node: "node-a" },
  cache: { kind: "pod", label: "default/cache", uid: "u-cache", namespace: "default", name: "cache", node: "node-a" },
  db: { kind: "pod", label: "data/db", uid: "u-db", namespace: "data", name: "db", node: "node-b" },
  dns: { kind: "world", label: "1.1.1.1", ip: "1.1.1.1" },
  client: { kind: "world", label: "192.168.1.50", ip: "192.168.1.50" },
};

/** The default window at NOW: the last 5 minutes, raw. */
const RAW_WINDOW = { since: iso(NOW - 300_000), until: iso(NOW), level: "raw", seconds: 300 };

/** Summed over both nodes: web → db counted once (forward by node-a, reverse by node-b). */
const WEB_DB = {
  source: ep.web,
  destination: ep.db,
  service: null,
  port: 5432,
  proto: 6,
  protocol: "tcp",
  forward: { packets: 15, bytes: 1_500 },
  reverse: { packets: 8, bytes: 4_000 },
  tcpFlags: ["FIN", "SYN", "ACK"],
  bytesPerSec: 5_500 / 300,
};
const CLIENT_CACHE = {
  source: ep.client,
  destination: ep.cache,
  service: null,
  port: 6379,
  proto: 6,
  protocol: "tcp",
  forward: { packets: 4, bytes: 400 },
  reverse: { packets: 0, bytes: 0 },
  tcpFlags: ["SYN"],
  bytesPerSec: 400 / 300,
};
const WEB_DNS = {
  source: ep.web,
  destination: ep.dns,
  service: null,
  port: 53,
  proto: 17,
  protocol: "udp",
  forward: { packets: 2, bytes: 120 },
  reverse: { packets: 0, bytes: 0 },
  tcpFlags: [],
  bytesPerSec: 120 / 300,
};
const FLOWS = { flows: [WEB_DB, CLIENT_CACHE, WEB_DNS], totals: { packets: 29, bytes: 6_020 } };

const CLIENT_ROW = {
  local: ep.web,
  remote: ep.db,
  service: null,
  port: 5432,
  role: "client",
  opened: 3,
  failed: { refused: 1, timeout: 0, other: 0 },
  closed: 2,
  avgDurationMs: 250,
  retransmits: 1,
  resets: { received: 0, sent: 0 },
  avgSrttUs: 1_000,
};
const SERVER_ROW = {
  local: ep.db,
  remote: ep.web,
  service: null,
  port: 5432,
  role: "server",
  opened: 3,
  failed: { refused: 0, timeout: 0, other: 0 },
  closed: 2,
  avgDurationMs: 300,
  retransmits: 0,
  resets: { received: 0, sent: 1 },
  avgSrttUs: null,
};
/** The connections once: the server's row of a pod-to-pod connection is not counted again. */
const TCP = {
  connections: [CLIENT_ROW, SERVER_ROW],
  totals: { opened: 3, failed: 1, closed: 2, retransmits: 1, resets: 0 },
};

const DROPS = {
  drops: [
    { node: "node-a", pod: null, ifname: null, reason: "NO_SOCKET", service: null, packets: 5, bytes: 300 },
    {
      node: "node-a",
      pod: ep.web,
      ifname: "veth-web",
      reason: "NETFILTER_DROP",
      service: null,
      packets: 2,
      bytes: 120,
    },
    { node: "node-b", pod: ep.db, ifname: null, reason: "TCP_CSUM", service: null, packets: 1, bytes: 60 },
  ],
  byReason: [
    { reason: "NO_SOCKET", packets: 5, bytes: 300 },
    { reason: "NETFILTER_DROP", packets: 2, bytes: 120 },
    { reason: "TCP_CSUM", packets: 1, bytes: 60 },
  ],
};

const SERVICE_MAP = {
  nodes: [
    { id: "ip:1.1.1.1", label: "1.1.1.1", kind: "world" },
    { id: "ip:192.168.1.50", label: "192.168.1.50", kind: "world" },
    { id: "pod:u-cache", label: "default/cache", kind: "pod", namespace: "default" },
    { id: "pod:u-db", label: "data/db", kind: "pod", namespace: "data" },
    { id: "pod:u-web", label: "default/web", kind: "pod", namespace: "default" },
  ],
  edges: [
    { source: "ip:192.168.1.50", target: "pod:u-cache", bytes: 400, connections: 0, failures: 0, avgSrttUs: null },
    { source: "pod:u-web", target: "ip:1.1.1.1", bytes: 120, connections: 0, failures: 0, avgSrttUs: null },
    { source: "pod:u-web", target: "pod:u-db", bytes: 5_500, connections: 3, failures: 1, avgSrttUs: 1_000 },
  ],
  /** No DNS in this scenario (monitoring-dns.test.ts has the DNS edges). */
  dns: [],
};

describe("monitoring API on the raw level", () => {
  beforeEach(scenario);

  it("GET /pods: current and vanished pods with totals and rates, by namespace and name", async () => {
    const { status, body } = await get("/api/v1/pods");
    expect(status).toBe(200);
    expect(body.pods.map((p: { namespace: string; name: string; state: string }) => [p.namespace, p.name, p.state]))
      .toEqual([
        ["data", "db", "current"],
        ["default", "cache", "vanished"],
        ["default", "web", "current"],
      ]);
    expect(body.pods[2]).toEqual({
      uid: "u-web",
      namespace: "default",
      name: "web",
      node: "node-a",
      ips: ["10.0.1.2"],
      labels: { app: "web", tier: "front" },
      owner: { kind: "ReplicaSet", name: "web-7d9f" },
      hostNetwork: false,
      hostVeth: "veth-web",
      state: "current",
      firstSeen: iso(T0),
      lastSeen: iso(T0 + 20_000),
      vanishedAt: null,
      rxPackets: 300,
      rxBytes: 30_000,
      txPackets: 350,
      txBytes: 35_000,
      drops: 3,
      rxPacketsPerSec: 10,
      rxBytesPerSec: 1_000,
      txPacketsPerSec: 10,
      txBytesPerSec: 1_000,
    });
    expect(body.pods[1]).toMatchObject({
      uid: "u-cache",
      state: "vanished",
      vanishedAt: iso(VANISHED_AT),
      lastSeen: iso(T0 + 10_000),
      hostVeth: null,
      owner: null,
    });
  });

  it("GET /pods filters by node and namespace; GET /pods/:namespace/:name is one pod", async () => {
    const names = async (q: string) => (await get(`/api/v1/pods${q}`)).body.pods.map((p: { name: string }) => p.name);
    expect(await names("?node=node-b")).toEqual(["db"]);
    expect(await names("?namespace=default")).toEqual(["cache", "web"]);
    expect(await names("?node=node-b&namespace=default")).toEqual([]);
    const { status, body } = await get("/api/v1/pods/data/db");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      uid: "u-db",
      node: "node-b",
      state: "current",
      rxPackets: 200,
      rxPacketsPerSec: 10,
      lastSeen: iso(T0 + 10_000),
    });
  });

  it("a vanished pod is listed until the grace period is over, then 404", async () => {
    const grace = DEFAULT_MONITORING_SETTINGS.podGraceMs;
    s.clock.now = VANISHED_AT + grace - 1;
    expect((await get("/api/v1/pods/default/cache")).body.state).toBe("vanished");
    s.clock.now = VANISHED_AT + grace;
    expect(await get("/api/v1/pods/default/cache")).toEqual({
      status: 404,
      body: { error: "pod 'default/cache' not found" },
    });
    expect((await get("/api/v1/pods")).body.pods.map((p: { name: string }) => p.name)).toEqual(["db", "web"]);
    // Maintenance drops its row; its flows keep its name (endpoints table), and pod= still finds them.
    await runMaintenance(s.db, s.clock.now, DEFAULT_MONITORING_SETTINGS);
    const { body } = await get("/api/v1/flows?pod=default/cache&since=10m");
    expect(body.flows.map((f: { destination: unknown }) => f.destination)).toEqual([ep.cache]);
  });

  it("GET /flows: each packet once, summed over nodes, most bytes first", async () => {
    expect(await get("/api/v1/flows")).toEqual({ status: 200, body: { window: RAW_WINDOW, ...FLOWS } });
  });

  it("GET /flows?pod= keeps the pod's flows on either side; limit cuts rows, not totals", async () => {
    expect((await get("/api/v1/flows?pod=default/web")).body).toEqual({
      window: RAW_WINDOW,
      flows: [WEB_DB, WEB_DNS],
      totals: { packets: 25, bytes: 5_620 },
    });
    expect((await get("/api/v1/flows?pod=data/db")).body.flows).toEqual([WEB_DB]);
    expect((await get("/api/v1/flows?limit=1")).body).toEqual({
      window: RAW_WINDOW,
      flows: [WEB_DB],
      totals: FLOWS.totals,
    });
  });

  it("GET /flows?node= shows what that node reported", async () => {
    const a = (await get("/api/v1/flows?node=node-a")).body;
    expect(a.flows).toEqual([
      { ...WEB_DB, reverse: { packets: 0, bytes: 0 }, tcpFlags: ["SYN", "ACK"], bytesPerSec: 1_500 / 300 },
      CLIENT_CACHE,
      WEB_DNS,
    ]);
    expect(a.totals).toEqual({ packets: 21, bytes: 2_020 });
    const b = (await get("/api/v1/flows?node=node-b")).body;
    expect(b.flows).toEqual([{
      ...WEB_DB,
      forward: { packets: 0, bytes: 0 },
      tcpFlags: ["FIN", "ACK"],
      bytesPerSec: 4_000 / 300,
    }]);
    expect(b.totals).toEqual({ packets: 8, bytes: 4_000 });
  });

  it("windows: until excludes later batches, since is exclusive, ISO times work, the future is not counted", async () => {
    // (T0 + 10 s, now]: only node-a's third batch.
    const late = (await get(`/api/v1/flows?since=${iso(T0 + 10_000)}`)).body;
    expect(late.window).toEqual({ since: iso(T0 + 10_000), until: iso(NOW), level: "raw", seconds: 20 });
    expect(late.flows).toEqual([{
      ...WEB_DB,
      forward: { packets: 5, bytes: 500 },
      reverse: { packets: 0, bytes: 0 },
      tcpFlags: ["ACK"],
      bytesPerSec: 500 / 20,
    }]);
    // (.., T0 + 15 s]: everything but it; "15s" back from now.
    const early = (await get("/api/v1/flows?until=15s")).body;
    expect(early.window.until).toBe(iso(NOW - 15_000));
    expect(early.totals).toEqual({ packets: 24, bytes: 5_520 });
    // An until in the future stops at now.
    expect((await get("/api/v1/flows?until=2099-01-01T00:00:00Z")).body).toEqual({ window: RAW_WINDOW, ...FLOWS });
  });

  it("GET /tcp: both views listed, totals count each connection once; pod= is the pod's own view", async () => {
    expect(await get("/api/v1/tcp")).toEqual({ status: 200, body: { window: RAW_WINDOW, ...TCP } });
    expect((await get("/api/v1/tcp?pod=data/db")).body).toEqual({
      window: RAW_WINDOW,
      connections: [SERVER_ROW],
      totals: { opened: 3, failed: 0, closed: 2, retransmits: 0, resets: 1 },
    });
    expect((await get("/api/v1/tcp?pod=default/web")).body.connections).toEqual([CLIENT_ROW]);
    expect((await get("/api/v1/tcp?node=node-b")).body.connections).toEqual([SERVER_ROW]);
    expect((await get("/api/v1/tcp?pod=default/cache")).body).toEqual({
      window: RAW_WINDOW,
      connections: [],
      totals: { opened: 0, failed: 0, closed: 0, retransmits: 0, resets: 0 },
    });
  });

  it("GET /drops: per node, pod, interface and reason, with totals per reason", async () => {
    expect(await get("/api/v1/drops")).toEqual({ status: 200, body: { window: RAW_WINDOW, ...DROPS } });
    expect((await get("/api/v1/drops?pod=data/db")).body.drops).toEqual([DROPS.drops[2]]);
    expect((await get("/api/v1/drops?node=node-a")).body).toEqual({
      window: RAW_WINDOW,
      drops: DROPS.drops.slice(0, 2),
      byReason: DROPS.byReason.slice(0, 2),
    });
  });

  it("GET /servicemap: edges with bytes, connections once and failures; namespace keeps edges touching it", async () => {
    expect(await get("/api/v1/servicemap")).toEqual({ status: 200, body: { window: RAW_WINDOW, ...SERVICE_MAP } });
    expect((await get("/api/v1/servicemap?namespace=data")).body).toEqual({
      window: RAW_WINDOW,
      nodes: [SERVICE_MAP.nodes[3], SERVICE_MAP.nodes[4]],
      edges: [SERVICE_MAP.edges[2]],
      dns: [],
    });
    expect((await get("/api/v1/servicemap?namespace=nowhere")).body).toMatchObject({ nodes: [], edges: [] });
  });

  it("GET /toptalkers: pods with everything they sent and received, or client → server pairs", async () => {
    const rate = (bytes: number) => bytes / 300;
    expect(await get("/api/v1/toptalkers")).toEqual({
      status: 200,
      body: {
        window: RAW_WINDOW,
        by: "pods",
        talkers: [
          { pod: ep.web, bytes: 5_620, packets: 25, bytesPerSec: rate(5_620) },
          { pod: ep.db, bytes: 5_500, packets: 23, bytesPerSec: rate(5_500) },
          { pod: ep.cache, bytes: 400, packets: 4, bytesPerSec: rate(400) },
        ],
      },
    });
    expect((await get("/api/v1/toptalkers?by=pairs&limit=2")).body.talkers).toEqual([
      { source: ep.web, destination: ep.db, bytes: 5_500, packets: 23, bytesPerSec: rate(5_500) },
      { source: ep.client, destination: ep.cache, bytes: 400, packets: 4, bytesPerSec: rate(400) },
    ]);
  });

  it("GET /nodes/:node has the node's monitoring counters", async () => {
    expect((await get("/api/v1/nodes/node-a")).body.monitoring).toEqual({
      agent: AGENT,
      flowKeysCut: 0,
      tcpKeysCut: 0,
      dropKeysCut: 0,
      dnsNameKeysCut: 0,
      dnsServerKeysCut: 0,
      flowDuplicates: 1,
    });
    expect((await get("/api/v1/nodes/node-b")).body.monitoring).toEqual({
      agent: null,
      flowKeysCut: 0,
      tcpKeysCut: 0,
      dropKeysCut: 0,
      dnsNameKeysCut: 0,
      dnsServerKeysCut: 0,
      flowDuplicates: 1,
    });
  });
});

describe("monitoring API on the rollup levels", () => {
  beforeEach(scenario);

  /** Whole minutes and hours around the batches, as windowOn widens them. */
  const minute = (ms: number) => Math.floor(ms / 60_000) * 60_000;
  const hour = (ms: number) => Math.floor(ms / 3_600_000) * 3_600_000;

  const sameNumbers = async (since: string, level: string, from: number, to: number) => {
    const seconds = (NOW - from) / 1000;
    const window = { since: iso(from), until: iso(to), level, seconds };
    const perSec = <F extends object>(f: F, bytes: number) => ({ ...f, bytesPerSec: bytes / seconds });
    expect((await get(`/api/v1/flows?since=${since}`)).body).toEqual({
      window,
      flows: [perSec(WEB_DB, 5_500), perSec(CLIENT_CACHE, 400), perSec(WEB_DNS, 120)],
      totals: FLOWS.totals,
    });
    expect((await get(`/api/v1/tcp?since=${since}`)).body).toEqual({ window, ...TCP });
    expect((await get(`/api/v1/drops?since=${since}`)).body).toEqual({ window, ...DROPS });
    expect((await get(`/api/v1/servicemap?since=${since}`)).body).toEqual({ window, ...SERVICE_MAP });
  };

  it("after maintenance, 1m (since 3h) and 1h (since 7d) give the raw level's numbers", async () => {
    const result = await runMaintenance(s.db, NOW, DEFAULT_MONITORING_SETTINGS);
    expect(result.rolledBatches).toBe(3);
    await sameNumbers("3h", "1m", minute(NOW - 3 * 3_600_000), minute(NOW) + 60_000);
    await sameNumbers("7d", "1h", hour(NOW - 7 * 86_400_000), hour(NOW) + 3_600_000);
    // and the filters work there too
    expect((await get("/api/v1/flows?since=3h&pod=data/db")).body.flows.map((f: { forward: unknown }) => f.forward))
      .toEqual([WEB_DB.forward]);
    expect((await get("/api/v1/tcp?since=3h&node=node-b")).body.connections.map((c: { role: string }) => c.role))
      .toEqual(["server"]);
    expect((await get("/api/v1/drops?since=3h&pod=default/web")).body.drops).toEqual([DROPS.drops[1]]);
  });

  it("before maintenance, the rows not rolled up yet are counted; a batch arriving after the rollup counts once", async () => {
    await sameNumbers("3h", "1m", minute(NOW - 3 * 3_600_000), minute(NOW) + 60_000);
    await runMaintenance(s.db, NOW, DEFAULT_MONITORING_SETTINGS);
    await post(s, {
      node: "node-b",
      seq: 3,
      ts: T0 + 25_000,
      drops: [drop({ reason: "NO_SOCKET", packets: 7, bytes: 70 })],
    });
    s.clock.now = NOW;
    const before = (await get("/api/v1/drops?since=3h")).body.byReason;
    await runMaintenance(s.db, NOW, DEFAULT_MONITORING_SETTINGS);
    const after = (await get("/api/v1/drops?since=3h")).body.byReason;
    expect(before).toEqual(after);
    expect(after[0]).toEqual({ reason: "NO_SOCKET", packets: 12, bytes: 370 });
  });
});

describe("monitoring API parameters", () => {
  beforeEach(scenario);

  const bad = async (path: string, param: string) => {
    const { status, body } = await get(path);
    expect(status, JSON.stringify(body)).toBe(400);
    expect(body.error).toContain(`'${param}'`);
    expect(body.issues.map((i: { path: string }) => i.path)).toEqual([param]);
  };

  it("400 names the bad parameter", async () => {
    await bad("/api/v1/toptalkers?by=nodes", "by");
    await bad("/api/v1/flows?since=yesterday", "since");
    await bad("/api/v1/flows?until=2024-05-01T12:00", "until"); // a time without its zone
    await bad("/api/v1/tcp?since=1m&until=5m", "since");
    await bad(`/api/v1/drops?since=${iso(NOW)}&until=${iso(NOW - 1)}`, "since");
    await bad("/api/v1/flows?pod=web", "pod");
    await bad("/api/v1/tcp?pod=default/web/x", "pod");
    await bad("/api/v1/flows?limit=0", "limit");
    await bad("/api/v1/flows?limit=5001", "limit");
    await bad("/api/v1/tcp?limit=ten", "limit");
    await bad("/api/v1/pods?node=Node_A", "node");
    await bad("/api/v1/servicemap?namespace=Bad!", "namespace");
    await bad("/api/v1/drops?limit=5", "limit"); // drops take no limit
    await bad("/api/v1/drops?service=db", "service");
    await bad("/api/v1/flows?nod=node-a", "nod");
    await bad("/api/v1/pods/default/Web", "name");
    expect((await get("/api/v1/tcp?since=1m&until=5m")).body.error).toBe(
      "invalid query parameter 'since': must not be after until",
    );
  });

  it("accepts the limits of limit, empty parameters, and durations in every unit", async () => {
    expect((await get("/api/v1/flows?limit=5000")).status).toBe(200);
    expect((await get("/api/v1/flows?node=&pod=")).body.totals).toEqual(FLOWS.totals);
    for (const since of ["90s", "5m", "2h", "7d", "1.5h", "2023-05-01"]) {
      expect((await get(`/api/v1/flows?since=${since}`)).status).toBe(200);
    }
  });

  it("404 for a node that never reported and a pod nobody knows", async () => {
    expect(await get("/api/v1/flows?node=ghost")).toEqual({ status: 404, body: { error: "node 'ghost' not found" } });
    expect(await get("/api/v1/pods?node=ghost")).toEqual({ status: 404, body: { error: "node 'ghost' not found" } });
    expect(await get("/api/v1/tcp?pod=default/ghost")).toEqual({
      status: 404,
      body: { error: "pod 'default/ghost' not found" },
    });
    expect(await get("/api/v1/pods/default/ghost")).toEqual({
      status: 404,
      body: { error: "pod 'default/ghost' not found" },
    });
  });
});

describe("monitoring API access", () => {
  it("reads follow EBPF_K8S_READ_AUTH", async () => {
    s.rebuild({ settings: { readAuth: "token" } });
    expect((await get("/api/v1/flows")).status).toBe(401);
    expect((await get("/api/v1/pods")).status).toBe(401);
  });
});
