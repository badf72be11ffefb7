// SPDX-License-Identifier: Apache-2.0
/**
 * GET /api/v1/flows as the flow explorer (control/queries/monitoring/
 * flow-explorer.ts) over real libSQL, batches posted through
 * /api/v1/ingest (flow-explorer.test-support.ts): every filter, every sort
 * in both orders paged without a row twice or missed, each verdict from the
 * rows that make it, first and last seen on the raw level and on 1m after
 * maintenance, and 400s naming the parameter.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { runMaintenance } from "../monitoring-store/maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { flow, tcp } from "../monitoring/fixtures.test-support.ts";
import { post } from "../monitoring/scenario.test-support.ts";
import { AS_ADMIN, getJson, send, T0, useTestApp } from "../test-support.ts";
import { BY_BYTES, ECHO, EXPLORER_TOTALS, explorerBatches, VERDICTS } from "./flow-explorer.test-support.ts";

const s = useTestApp();
/** After the last batch (t0 + 45 s, the next minute), still in the default 5-minute window. */
const NOW = T0 + 90_000;
const iso = (ms: number) => new Date(ms).toISOString();

interface Flow {
  source: { label: string };
  destination: { label: string };
  port: number;
  verdict: string;
  connections: Record<string, number>;
  avgSrttUs: number | null;
  firstSeen: string;
  lastSeen: string;
  service: { label: string } | null;
}
const label = (f: Flow) => `${f.source.label} → ${f.destination.label}:${f.port}`;

async function flows(query = "") {
  const { status, body } = await getJson(s.app, `/api/v1/flows${query ? `?${query}` : ""}`);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as { flows: Flow[]; total: number; totals: { packets: number; bytes: number } };
}
const labels = async (query = "") => (await flows(query)).flows.map(label);
const byLabel = async (query = "") => new Map((await flows(query)).flows.map((f) => [label(f), f]));

beforeEach(async () => {
  expect((await send(s.app, "POST", "/api/v1/services", ECHO, AS_ADMIN)).status).toBe(201);
  for (const b of explorerBatches(T0)) await post(s, b);
  s.clock.now = NOW;
});

describe("the flow explorer: GET /api/v1/flows", () => {
  it("lists every flow, most bytes first (ties by key), with the count and totals of all", async () => {
    const all = await flows();
    expect(all.flows.map(label)).toEqual(BY_BYTES);
    expect(all.total).toBe(8);
    expect(all.totals).toEqual(EXPLORER_TOTALS);
    expect(all.flows.find((f) => f.port === 80)!.service).toEqual({
      kind: "service",
      label: "demo/echo",
      namespace: "demo",
      name: "echo",
    });
  });

  it("gives each flow its verdict, with the connections of its TCP rows (the client's, else the server's) beside it", async () => {
    const rows = await byLabel();
    expect(Object.fromEntries([...rows].map(([k, f]) => [k, f.verdict]))).toEqual(VERDICTS);
    const conn = (l: string) => ({ ...rows.get(l)!.connections, avgSrttUs: rows.get(l)!.avgSrttUs });
    const none = { opened: 0, refused: 0, timedOut: 0, failed: 0, resets: 0, avgSrttUs: null };
    expect(conn("default/web → data/db:5432")).toEqual({ ...none, opened: 3, refused: 1, avgSrttUs: 1_000 });
    expect(conn("default/web → demo/echo:80")).toEqual({ ...none, timedOut: 2 });
    expect(conn("default/web → data/db:9000")).toEqual({ ...none, failed: 1 });
    // seen from both ends: the client's row alone, so the connection counts once
    expect(conn("default/cache → default/web:8080")).toEqual({ ...none, opened: 1, avgSrttUs: 200 });
    // only the server reported: its row
    expect(conn("192.168.1.60 → data/db:5432")).toEqual({ ...none, opened: 1, resets: 1 });
    for (const l of ["default/cache → data/db:6379", "192.168.1.50 → default/cache:6379", "default/web → 1.1.1.1:53"]) {
      expect(conn(l), l).toEqual(none);
    }
  });

  it("filters: only failures, node, namespace, pod, service, port, protocol, and all of them together", async () => {
    const failing = BY_BYTES.filter((l) => VERDICTS[l] !== "ok");
    expect(await labels("failures=true")).toEqual(failing);
    expect((await flows("failures=true")).total).toBe(5);
    expect(await labels("failures=false")).toEqual(BY_BYTES);
    // node-b reported db's replies and the world client's packets: the same flows, its share of them
    expect(await labels("node=node-b")).toEqual([
      "default/web → data/db:5432",
      "192.168.1.60 → data/db:5432",
      "default/cache → data/db:6379",
      "default/web → data/db:9000",
    ]);
    const dbRow = (await flows("node=node-b")).flows[0]!;
    expect(dbRow).toMatchObject({ forward: { packets: 0, bytes: 0 }, reverse: { packets: 8, bytes: 4_000 } });
    expect(await labels("namespace=data")).toEqual(BY_BYTES.filter((l) => l.includes("data/db")));
    expect(await labels("namespace=demo")).toEqual(["default/web → demo/echo:80"]);
    expect(await labels("namespace=nowhere")).toEqual([]);
    expect(await labels("pod=default/cache")).toEqual(BY_BYTES.filter((l) => l.includes("default/cache")));
    expect(await labels("service=demo/echo")).toEqual(["default/web → demo/echo:80"]);
    expect(await flows("service=demo/ghost")).toEqual({
      window: expect.anything(),
      flows: [],
      total: 0,
      totals: { packets: 0, bytes: 0 },
    });
    expect(await labels("port=6379")).toEqual(["192.168.1.50 → default/cache:6379", "default/cache → data/db:6379"]);
    expect(await labels("protocol=udp")).toEqual(["default/web → 1.1.1.1:53"]);
    expect(await labels("protocol=17")).toEqual(["default/web → 1.1.1.1:53"]);
    expect(await labels("protocol=tcp")).toEqual(BY_BYTES.filter((l) => !l.endsWith(":53")));
    expect(await labels("protocol=icmp")).toEqual([]);
    // node-a's rows alone: db (node-b) sends its replies, node-b counts them, so no reply here is not "no reply";
    // cache is node-a's own pod, so its missing replies are
    const onA = await flows("node=node-a&port=6379");
    expect(onA.flows.map((f) => [label(f), f.verdict])).toEqual([
      ["192.168.1.50 → default/cache:6379", "no_reply"],
      ["default/cache → data/db:6379", "ok"],
    ]);
    const narrow = await flows("namespace=data&protocol=tcp&port=5432&failures=true&node=node-a");
    expect(narrow.flows.map(label)).toEqual(["default/web → data/db:5432"]);
    expect(narrow.totals).toEqual({ packets: 15, bytes: 1_500 });
  });

  it("sorts by bytes, packets, first and last seen, both ways; pages of any size neither repeat nor miss a row", async () => {
    expect(await labels("sort=bytes&order=asc")).toEqual([
      "default/web → 1.1.1.1:53",
      "default/web → data/db:9000",
      "default/web → demo/echo:80",
      "192.168.1.50 → default/cache:6379",
      "default/cache → data/db:6379",
      "192.168.1.60 → data/db:5432",
      "default/cache → default/web:8080",
      "default/web → data/db:5432",
    ]);
    // first seen: the four of the first batch (ties by key: client, then server), then the four of the second
    expect(await labels("sort=first_seen&order=asc")).toEqual([
      "192.168.1.50 → default/cache:6379",
      "default/web → 1.1.1.1:53",
      "default/web → data/db:5432",
      "default/web → demo/echo:80",
      "192.168.1.60 → data/db:5432",
      "default/cache → data/db:6379",
      "default/cache → default/web:8080",
      "default/web → data/db:9000",
    ]);
    expect((await labels("sort=last_seen"))[0]).toBe("192.168.1.60 → data/db:5432");
    expect((await labels("sort=packets"))[1]).toBe("default/cache → default/web:8080");
    for (const sort of ["bytes", "packets", "first_seen", "last_seen"]) {
      for (const order of ["asc", "desc"]) {
        const whole = await labels(`sort=${sort}&order=${order}`);
        expect(new Set(whole).size).toBe(8);
        for (const size of [1, 3]) {
          const pages: string[] = [];
          for (let offset = 0; offset < 8; offset += size) {
            const page = await flows(`sort=${sort}&order=${order}&limit=${size}&offset=${offset}`);
            expect(page.total).toBe(8);
            expect(page.totals).toEqual(EXPLORER_TOTALS);
            pages.push(...page.flows.map(label));
          }
          expect(pages, `${sort} ${order} by ${size}`).toEqual(whole);
        }
      }
    }
    // past the end: no rows, still the count and totals of all
    expect(await flows("offset=8")).toMatchObject({ flows: [], total: 8, totals: EXPLORER_TOTALS });
    expect(await flows("failures=true&offset=100&limit=2")).toMatchObject({ flows: [], total: 5 });
  });

  it("first and last seen: report times on the raw level, bucket start and end on 1m after maintenance", async () => {
    const seen = async (query: string) =>
      Object.fromEntries((await flows(query)).flows.map((f) => [label(f), [f.firstSeen, f.lastSeen]]));
    const early = iso(T0 + 10_000), late = iso(T0 + 45_000);
    const raw = await seen("");
    expect(raw["default/web → data/db:5432"]).toEqual([early, late]);
    expect(raw["default/web → demo/echo:80"]).toEqual([early, early]);
    expect(raw["default/cache → default/web:8080"]).toEqual([late, late]);

    s.clock.now = T0 + 200_000; // both minutes complete
    // the four batches with rows (the first two carry pods only)
    expect((await runMaintenance(s.db, s.clock.now, DEFAULT_MONITORING_SETTINGS)).rolledBatches).toBe(4);
    const minute = (ms: number) => Math.floor(ms / 60_000) * 60_000;
    const m1 = minute(T0 + 10_000), m2 = minute(T0 + 45_000);
    expect(m2 - m1).toBe(60_000);
    const { window } = (await getJson(s.app, "/api/v1/flows?since=3h")).body;
    expect(window.level).toBe("1m");
    const stored = await seen("since=3h");
    expect(stored["default/web → data/db:5432"]).toEqual([iso(m1), iso(m2 + 60_000)]);
    expect(stored["default/web → demo/echo:80"]).toEqual([iso(m1), iso(m1 + 60_000)]);
    expect(stored["default/cache → default/web:8080"]).toEqual([iso(m2), iso(m2 + 60_000)]);
    // the verdicts and totals are the raw level's
    expect(Object.fromEntries((await flows("since=3h")).flows.map((f) => [label(f), f.verdict]))).toEqual(VERDICTS);
    expect((await flows("since=3h")).totals).toEqual(EXPLORER_TOTALS);
  });

  it("400 names the bad parameter; an unknown pod is 404, an unknown service or namespace an empty list", async () => {
    const bad = async (query: string, param: string) => {
      const { status, body } = await getJson(s.app, `/api/v1/flows?${query}`);
      expect(status, query).toBe(400);
      expect(body.error).toContain(`'${param}'`);
      expect(body.issues.map((i: { path: string }) => i.path)).toEqual([param]);
    };
    await bad("sort=size", "sort");
    await bad("order=up", "order");
    await bad("port=70000", "port");
    await bad("port=http", "port");
    await bad("protocol=tcpx", "protocol");
    await bad("protocol=256", "protocol");
    await bad("failures=yes", "failures");
    await bad("offset=-1", "offset");
    await bad("offset=1.5", "offset");
    await bad("service=echo", "service");
    await bad("service=demo/Echo", "service");
    await bad("namespace=Demo", "namespace");
    expect((await getJson(s.app, "/api/v1/flows?pod=default/ghost")).status).toBe(404);
    expect((await flows("namespace=ghost&service=ghost/ghost")).total).toBe(0);
    // empty values, as a form sends them, are absent
    expect(await labels("node=&namespace=&pod=&service=&port=&protocol=&failures=&sort=&order=&offset=")).toEqual(
      BY_BYTES,
    );
  });

  it("saturates counters summed for a row at Number.MAX_SAFE_INTEGER (resets are two counters)", async () => {
    const MAX = Number.MAX_SAFE_INTEGER;
    await post(s, {
      node: "node-a",
      seq: 10,
      ts: NOW - 5_000,
      flows: [flow({ dst: "10.0.2.2", port: 7777, packets: 1, bytes: MAX })],
      tcp: [tcp({ remote: "10.0.2.2", port: 7777, opened: 1, resetsRx: MAX, resetsTx: MAX })],
    });
    s.clock.now = NOW;
    const row = (await flows("port=7777")).flows[0]!;
    expect([row.connections.opened, row.connections.resets]).toEqual([1, MAX]);
  });

  it("a service filter takes every row of a key, also those stored without the label (an older replica's)", async () => {
    // Raw rows as a control plane of before migration 0015 writes them: no service after the counters.
    const old = (flows: unknown[][]) =>
      s.db.$client.execute({
        sql:
          "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES ('node-a', 'old', ?, ?, '[]', '[]')",
        args: [NOW - 5_000, JSON.stringify(flows)],
      });
    await old([["pod:u-web", "svc:demo/echo", 80, 6, 3, 300, 0, 0, 2], [
      "pod:u-cache",
      "svc:demo/echo",
      80,
      6,
      7,
      700,
      0,
      0,
      2,
    ]]);
    const echo = (await byLabel("port=80")).get("default/web → demo/echo:80")!;
    expect(echo).toMatchObject({ forward: { packets: 6, bytes: 600 }, service: { label: "demo/echo" } });
    const filtered = await byLabel("service=demo/echo");
    expect(filtered.get("default/web → demo/echo:80")).toEqual(echo);
    expect(filtered.get("default/cache → demo/echo:80")).toMatchObject({ forward: { packets: 7, bytes: 700 } });
    expect([...(await byLabel("namespace=demo")).keys()]).toEqual([...filtered.keys()]);

    // The service's map: both clients, their bytes whole.
    const map = (await getJson(s.app, "/api/v1/servicemap?service=demo/echo")).body as {
      edges: { source: string; target: string; bytes: number }[];
    };
    expect(map.edges.map((e) => [e.source, e.target, e.bytes])).toEqual([
      ["pod:u-cache", "svc:demo/echo", 700],
      ["pod:u-web", "svc:demo/echo", 600],
    ]);
  });
});
