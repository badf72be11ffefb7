/** POST /api/v1/ingest end to end: storage, rates, idempotency and boots, seen through the API. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BOOT_A,
  BOOT_B,
  T0,
  batch,
  dumpTables,
  getJson,
  iface,
  openTestDb,
  postBatch,
  testApp,
  type TestDb,
} from "../test-support.ts";

let t: TestDb;
let app: ReturnType<typeof testApp>["app"];
let clock: ReturnType<typeof testApp>["clock"];

beforeEach(async () => {
  t = await openTestDb();
  ({ app, clock } = testApp(t.db));
});
afterEach(() => t.close());

async function ingest(body: unknown) {
  const res = await postBatch(app, body);
  expect(res.status).toBe(200);
  return res.json();
}

const interfacesOf = async (node = "node-a") => (await getJson(app, `/api/v1/nodes/${node}/interfaces`)).body;

describe("ingest", () => {
  it("stores a batch and serves its exact totals", async () => {
    const counters = { rxPackets: 12, rxBytes: 3456, txPackets: 7, txBytes: 890, drops: 2 };
    expect(await ingest(batch({ interfaces: [iface({ ifname: "eth1", ifindex: 3, ...counters }), iface()] }))).toEqual({
      ok: true,
      seq: 1,
      duplicate: false,
    });

    expect(await interfacesOf()).toEqual([
      {
        ifname: "eth1",
        ifindex: 3,
        ...counters,
        rxPacketsPerSec: null,
        rxBytesPerSec: null,
        txPacketsPerSec: null,
        txBytesPerSec: null,
        updatedAt: new Date(clock.now).toISOString(),
      },
      expect.objectContaining({ ifname: "veth0", rxBytes: 0 }),
    ]);
    const { body: nodes } = await getJson(app, "/api/v1/nodes");
    expect(nodes).toEqual([
      { name: "node-a", lastSeen: new Date(clock.now).toISOString(), lastSeenAgoSeconds: 0, bootId: BOOT_A, interfaces: 2 },
    ]);
  });

  it("computes per-second rates from two batches of the same boot", async () => {
    await ingest(batch({ seq: 1, ts: T0, interfaces: [iface({ rxPackets: 100, rxBytes: 10_000, txPackets: 50, txBytes: 4_000 })] }));
    await ingest(
      batch({ seq: 2, ts: T0 + 2_000, interfaces: [iface({ rxPackets: 300, rxBytes: 30_000, txPackets: 51, txBytes: 4_000, drops: 1 })] }),
    );
    const [veth] = await interfacesOf();
    expect(veth).toMatchObject({
      rxPackets: 300,
      rxBytes: 30_000,
      drops: 1,
      rxPacketsPerSec: 100,
      rxBytesPerSec: 10_000,
      txPacketsPerSec: 0.5,
      txBytesPerSec: 0,
    });
  });

  it("keeps rates null when an interface was recreated under the same name", async () => {
    await ingest(batch({ seq: 1, interfaces: [iface({ ifindex: 7, rxBytes: 5_000 })] }));
    await ingest(batch({ seq: 2, ts: T0 + 1_000, interfaces: [iface({ ifindex: 9, rxBytes: 100 })] }));
    const [veth] = await interfacesOf();
    expect(veth).toMatchObject({ ifindex: 9, rxBytes: 100, rxBytesPerSec: null });
  });

  it("acknowledges a resent or older seq as duplicate and changes nothing", async () => {
    await ingest(batch({ seq: 1, interfaces: [iface({ rxBytes: 100 })] }));
    await ingest(batch({ seq: 2, ts: T0 + 1_000, interfaces: [iface({ rxBytes: 200 })] }));
    const before = await dumpTables(t.db);
    clock.now += 10_000;

    for (const seq of [2, 1]) {
      expect(await ingest(batch({ seq, ts: T0 + 5_000, interfaces: [iface({ rxBytes: 999 })] }))).toEqual({
        ok: true,
        seq: 2,
        duplicate: true,
      });
    }
    expect(await dumpTables(t.db)).toEqual(before);
  });

  it("starts over on a new bootId: totals replaced, rates unknown until the next batch", async () => {
    await ingest(batch({ seq: 1, interfaces: [iface({ rxBytes: 1_000 }), iface({ ifname: "old0", ifindex: 8 })] }));
    await ingest(batch({ seq: 2, ts: T0 + 1_000, interfaces: [iface({ rxBytes: 2_000 }), iface({ ifname: "old0", ifindex: 8 })] }));

    // The agent restarted: seq and counters start again.
    expect(await ingest(batch({ bootId: BOOT_B, seq: 1, ts: T0 + 5_000, interfaces: [iface({ rxBytes: 10 })] }))).toEqual({
      ok: true,
      seq: 1,
      duplicate: false,
    });
    expect(await interfacesOf()).toEqual([expect.objectContaining({ ifname: "veth0", rxBytes: 10, rxBytesPerSec: null })]);
    const { body: nodes } = await getJson(app, "/api/v1/nodes");
    expect(nodes[0]).toMatchObject({ bootId: BOOT_B, interfaces: 1 });

    await ingest(batch({ bootId: BOOT_B, seq: 2, ts: T0 + 6_000, interfaces: [iface({ rxBytes: 110 })] }));
    expect((await interfacesOf())[0]).toMatchObject({ rxBytes: 110, rxBytesPerSec: 100 });
  });

  it("keeps a late batch from a replaced boot out of the totals, and still deduplicates it", async () => {
    await ingest(batch({ bootId: BOOT_A, seq: 1, ts: T0, interfaces: [iface({ rxBytes: 1_000 })] }));
    await ingest(batch({ bootId: BOOT_B, seq: 1, ts: T0 + 10_000, interfaces: [iface({ rxBytes: 5 })] }));

    const late = batch({ bootId: BOOT_A, seq: 2, ts: T0 + 1_000, interfaces: [iface({ rxBytes: 2_000 })] });
    expect(await ingest(late)).toEqual({ ok: true, seq: 2, duplicate: false });
    expect(await ingest(late)).toEqual({ ok: true, seq: 2, duplicate: true });

    expect((await interfacesOf())[0]).toMatchObject({ rxBytes: 5 });
    const dump = await dumpTables(t.db);
    expect(dump.nodes).toEqual([expect.objectContaining({ boot_id: BOOT_B, last_seq: 1 })]);
    expect(dump.interface_samples.map((s: any) => [s.boot_id, s.rx_bytes])).toEqual([
      [BOOT_A, 1_000],
      [BOOT_B, 5],
      [BOOT_A, 2_000],
    ]);
  });

  it("writes nothing when any part of storing a batch fails", async () => {
    await ingest(batch({ seq: 1 }));
    const before = await dumpTables(t.db);
    // Make the last write of a batch (its history rows) fail.
    await t.db.$client.execute(
      "CREATE TRIGGER fail_samples BEFORE INSERT ON interface_samples BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    ({ app, clock } = testApp(t.db, { logError: () => {} }));

    const res = await postBatch(app, batch({ seq: 2, ts: T0 + 1_000, interfaces: [iface({ rxBytes: 50 })] }));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "internal error" });
    expect(await dumpTables(t.db)).toEqual(before);
  });

  it("accepts a batch without interfaces as a sign of life", async () => {
    await ingest(batch({ interfaces: [] }));
    expect(await interfacesOf()).toEqual([]);
    expect((await getJson(app, "/api/v1/nodes")).body[0]).toMatchObject({ name: "node-a", interfaces: 0 });
  });

  it("stores the largest batch the wire allows (4096 interfaces)", async () => {
    const many = Array.from({ length: 4096 }, (_, i) => iface({ ifname: `veth${i}`, ifindex: i + 1, rxBytes: i }));
    await ingest(batch({ interfaces: many }));
    await ingest(batch({ seq: 2, ts: T0 + 1_000, interfaces: many.map((x) => ({ ...x, rxBytes: x.rxBytes + 10 })) }));
    const states = await interfacesOf();
    expect(states).toHaveLength(4096);
    expect(states.every((s: any) => s.rxBytesPerSec === 10)).toBe(true);
    expect((await dumpTables(t.db)).interface_samples).toHaveLength(8192);
  });
});

describe("ingest with concurrent requests (file database)", () => {
  let f: TestDb;
  beforeEach(async () => {
    f = await openTestDb("file");
  });
  afterEach(() => f.close());

  it("stores a batch once even when it arrives many times at once", async () => {
    const { app } = testApp(f.db);
    const acks = await Promise.all(
      Array.from({ length: 10 }, async () => (await postBatch(app, batch({ interfaces: [iface({ rxBytes: 100 })] }))).json()),
    );
    expect(acks.filter((a) => !a.duplicate)).toHaveLength(1);
    expect(acks.every((a) => a.ok && a.seq === 1)).toBe(true);
    expect((await dumpTables(f.db)).interface_samples).toHaveLength(1);
  });

  it("stores concurrent batches from many nodes", async () => {
    const { app } = testApp(f.db);
    const names = Array.from({ length: 20 }, (_, i) => `node-${i}`);
    const responses = await Promise.all(names.map((node) => postBatch(app, batch({ node }))));
    expect(responses.map((r) => r.status)).toEqual(names.map(() => 200));
    expect((await getJson(app, "/api/v1/nodes")).body.map((n: any) => n.name).sort()).toEqual([...names].sort());
  });
});
