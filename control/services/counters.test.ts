// SPDX-License-Identifier: Apache-2.0
/** lb counters from batches: exact sums per minute over nodes, duplicates once, unknown ids nowhere; the distribution shown; retention. */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import { batch, BOOT_B, getJson, postBatch, T0, useTestApp } from "../test-support.ts";
import type { LbCounters } from "../wire/services.ts";
import { pruneLb } from "./counters.ts";
import { backends, service } from "./fixtures.test-support.ts";
import { createService, deleteService, replaceService } from "./model.ts";

const s = useTestApp();

const WEB = service("web", "10.96.0.10", { backends: backends({ ip: "10.244.1.5", weight: 3 }, "10.244.2.7") });

/** T0 is 20 s into its minute: these two batches fall into the minute starting at T0 − 20 s, the third into the next. */
const MINUTE = T0 - 20_000;

async function rows() {
  const result = await s.db.$client.execute(
    "SELECT bucket, service_id, backend_id, connections, refused FROM lb_stats ORDER BY bucket, service_id, backend_id",
  );
  return result.rows.map((r) => ({ ...r }));
}

function lb(services: LbCounters["services"], backends: LbCounters["backends"], version = 1): LbCounters {
  return { version, services, backends };
}

describe("counters at ingest", () => {
  it("sums per minute over nodes; a resent batch counts once; ids naming nothing count nowhere", async () => {
    await createService(s.db, WEB, T0);
    const a1 = batch({ node: "node-a", seq: 1, ts: T0 + 10_000, lb: lb([[1, 40, 2]], [[1, 30], [2, 10]]) });
    expect((await postBatch(s.app, a1)).status).toBe(200);
    expect((await postBatch(s.app, a1)).status).toBe(200); // the agent resends after a lost ack: a duplicate
    await postBatch(
      s.app,
      batch({ node: "node-b", seq: 1, ts: T0 + 20_000, lb: lb([[1, 8, 0], [77, 5, 5]], [[1, 5], [2, 3], [999, 4]]) }),
    );
    await postBatch(s.app, batch({ node: "node-a", seq: 2, ts: T0 + 50_000, lb: lb([[1, 4, 1]], [[2, 4]]) }));
    // A batch without lb counters, and one whose rows are all zero, add nothing.
    await postBatch(s.app, batch({ node: "node-b", seq: 2, ts: T0 + 51_000 }));
    await postBatch(s.app, batch({ node: "node-b", seq: 3, ts: T0 + 52_000, lb: lb([[1, 0, 0]], [[1, 0]]) }));

    expect(await rows()).toEqual([
      { bucket: MINUTE, service_id: 1, backend_id: 0, connections: 48, refused: 2 },
      { bucket: MINUTE, service_id: 1, backend_id: 1, connections: 35, refused: 0 },
      { bucket: MINUTE, service_id: 1, backend_id: 2, connections: 13, refused: 0 },
      { bucket: MINUTE + 60_000, service_id: 1, backend_id: 0, connections: 4, refused: 1 },
      { bucket: MINUTE + 60_000, service_id: 1, backend_id: 2, connections: 4, refused: 0 },
    ]);

    s.clock.now = T0 + 60_000;
    const view = (await getJson(s.app, "/api/v1/services?since=1h")).body.services[0];
    expect({ connections: view.connections, refused: view.refused }).toEqual({ connections: 52, refused: 3 });
    expect(
      view.backends.map((
        b: { id: number; connections: number; share: number; expectedShare: number },
      ) => [b.id, b.connections, b.share, b.expectedShare]),
    ).toEqual([
      [1, 35, 35 / 52, 0.75],
      [2, 17, 17 / 52, 0.25],
    ]);
    // The window is whole minutes: since=10s (T0 + 50 s) covers all of the minute T0 + 50 s fell into.
    const recent = (await getJson(s.app, "/api/v1/services?since=10s")).body;
    expect(recent.window).toMatchObject({ since: new Date(MINUTE + 60_000).toISOString() });
    expect(recent.services[0].connections).toBe(4);
  });

  it("a batch resent from an older boot still counts once, and a late one adds into its own minute", async () => {
    await createService(s.db, WEB, T0);
    await postBatch(s.app, batch({ node: "node-a", seq: 1, ts: T0 + 70_000, lb: lb([[1, 1, 0]], []) }));
    const late = batch({ node: "node-a", bootId: BOOT_B, seq: 1, ts: T0, lb: lb([[1, 2, 0]], []) });
    await postBatch(s.app, late);
    await postBatch(s.app, late);
    expect((await rows()).map((r) => [r.bucket, r.connections])).toEqual([
      [MINUTE, 2],
      [MINUTE + 60_000, 1],
    ]);
  });

  it("a node counting under a version older than an id's ignores it: the id belonged to something else then", async () => {
    await createService(s.db, WEB, T0); // version 1: service 1, backends 1 and 2
    await replaceService(s.db, { namespace: "default", name: "web", portName: "" }, {
      ...WEB,
      backends: [WEB.backends[0]!, { ...WEB.backends[1]!, ip: "10.244.3.3" }],
    }, T0); // version 2: backend 2 is 10.244.3.3
    await postBatch(s.app, batch({ node: "node-a", seq: 1, ts: T0 + 1_000, lb: lb([[1, 5, 0]], [[1, 3], [2, 2]], 1) }));
    await postBatch(s.app, batch({ node: "node-b", seq: 1, ts: T0 + 1_000, lb: lb([[1, 1, 0]], [[2, 1]], 2) }));
    expect(await rows()).toEqual([
      { bucket: MINUTE, service_id: 1, backend_id: 0, connections: 6, refused: 0 },
      { bucket: MINUTE, service_id: 1, backend_id: 1, connections: 3, refused: 0 },
      { bucket: MINUTE, service_id: 1, backend_id: 2, connections: 1, refused: 0 },
    ]);
  });

  it("a deleted service or backend takes its counters along (its id may be handed out again)", async () => {
    await createService(s.db, WEB, T0);
    await postBatch(s.app, batch({ seq: 1, ts: T0 + 1_000, lb: lb([[1, 5, 0]], [[1, 3], [2, 2]]) }));
    await replaceService(s.db, { namespace: "default", name: "web", portName: "" }, {
      ...WEB,
      backends: [WEB.backends[0]!],
    }, T0);
    expect((await rows()).map((r) => r.backend_id)).toEqual([0, 1]);
    await deleteService(s.db, { namespace: "default", name: "web", portName: "" }, T0);
    expect(await rows()).toEqual([]);
  });
});

describe("gateway counters at ingest", () => {
  const gw = (services: [number, number, number, number, number][], version = 1) => ({
    version,
    services,
    flows: 3,
    evicted: 0,
    noBackend: 0,
  });
  const gatewayRows = async () =>
    (await s.db.$client.execute(
      "SELECT bucket, service_id, packets_in, bytes_in, packets_out, bytes_out FROM gateway_stats ORDER BY bucket, service_id",
    )).rows.map((r) => ({ ...r }));

  it("sums packets and bytes per service and minute over nodes, once per batch; unknown ids nowhere; shown with the service; deleted with it", async () => {
    await createService(s.db, { ...WEB, type: "LoadBalancer", nodePort: 30080, externalIPs: ["203.0.113.7"] }, T0);
    const a = batch({
      node: "node-a",
      seq: 1,
      ts: T0 + 10_000,
      gateway: gw([[1, 10, 1000, 8, 4000], [42, 1, 1, 1, 1]]),
    });
    await postBatch(s.app, a);
    await postBatch(s.app, a); // resent: once
    await postBatch(s.app, batch({ node: "node-b", seq: 1, ts: T0 + 20_000, gateway: gw([[1, 5, 500, 5, 600]]) }));
    await postBatch(s.app, batch({ node: "node-b", seq: 2, ts: T0 + 50_000, gateway: gw([[1, 1, 60, 1, 70]]) }));
    expect(await gatewayRows()).toEqual([
      { bucket: MINUTE, service_id: 1, packets_in: 15, bytes_in: 1500, packets_out: 13, bytes_out: 4600 },
      { bucket: MINUTE + 60_000, service_id: 1, packets_in: 1, bytes_in: 60, packets_out: 1, bytes_out: 70 },
    ]);
    s.clock.now = T0 + 60_000;
    const view = (await getJson(s.app, "/api/v1/services?since=1h")).body.services[0];
    expect(view.gateway).toMatchObject({ packetsIn: 16, bytesIn: 1560, packetsOut: 14, bytesOut: 4670, frontends: [] });
    await deleteService(s.db, { namespace: "default", name: "web", portName: "" }, T0);
    expect(await gatewayRows()).toEqual([]);
  });

  it("lb and gateway counters saturate at 2^53 - 1 instead of failing the batch, and are shown", async () => {
    await createService(s.db, WEB, T0);
    // 1,025 rows at the most a counter holds: their sum passes 2^63 (SQLite's sum() fails) and 2^53 (not readable).
    const many = <T>(row: T) => Array<T>(1_025).fill(row);
    const max = Number.MAX_SAFE_INTEGER;
    for (const seq of [1, 2]) {
      const res = await postBatch(
        s.app,
        batch({
          seq,
          ts: T0 + seq * 1_000,
          lb: lb(many([1, max, max]), many([1, max])),
          gateway: gw(many([1, max, max, max, max])),
        }),
      );
      expect(res.status, await res.text()).toBe(200);
    }
    expect(await rows()).toEqual([
      { bucket: MINUTE, service_id: 1, backend_id: 0, connections: max, refused: max },
      { bucket: MINUTE, service_id: 1, backend_id: 1, connections: max, refused: 0 },
    ]);
    expect(await gatewayRows()).toEqual([
      { bucket: MINUTE, service_id: 1, packets_in: max, bytes_in: max, packets_out: max, bytes_out: max },
    ]);
    s.clock.now = T0 + 60_000;
    const view = (await getJson(s.app, "/api/v1/services?since=1h")).body.services[0];
    expect(view).toMatchObject({ connections: max, refused: max, gateway: { packetsIn: max, bytesOut: max } });
  });
});

describe("retention", () => {
  it("drops minutes older than the 1-minute retention, and nodes that stopped polling as long ago", async () => {
    await createService(s.db, WEB, T0);
    await postBatch(s.app, batch({ seq: 1, ts: T0, lb: lb([[1, 1, 0]], []) }));
    await postBatch(s.app, batch({ seq: 2, ts: T0 + 60_000, lb: lb([[1, 2, 0]], []) }));
    await s.db.$client.execute({
      sql: "INSERT INTO lb_nodes (node, applied_version, polled_at) VALUES ('node-a', 1, ?), ('node-b', 1, ?)",
      args: [T0, T0 + 60_000],
    });
    const retention = { ...DEFAULT_RETENTION, "1m": 3_600_000 };
    // At T0 + 1 h + 40 s, the minute ending at T0 + 40 s is exactly out of the retention; the next is not.
    expect(await pruneLb(s.db, MINUTE + 60_000 + 3_600_000, retention)).toEqual({
      deletedBuckets: 1,
      forgottenNodes: 1,
    });
    expect((await rows()).map((r) => r.connections)).toEqual([2]);
    expect((await s.db.$client.execute("SELECT count(*) AS n FROM gateway_stats")).rows[0]!.n).toBe(0);
  });
});
