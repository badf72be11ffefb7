// SPDX-License-Identifier: Apache-2.0
/** POST /api/v1/ingest end to end: storage, rates, idempotency and boots, seen through the API. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDb } from "../db/client.ts";
import {
  ack,
  batch,
  bearer,
  BOOT_A,
  BOOT_B,
  credentialFor,
  dumpTables,
  getJson,
  iface,
  openTestDb,
  postBatch,
  samplesOf,
  T0,
  testApp,
  type TestDb,
  useTestApp,
} from "../test-support.ts";

const s = useTestApp();

async function ingest(body: unknown) {
  const res = await postBatch(s.app, body);
  expect(res.status).toBe(200);
  return res.json();
}

const interfacesOf = async (node = "node-a") => (await getJson(s.app, `/api/v1/nodes/${node}/interfaces`)).body;

describe("ingest", () => {
  it("stores a batch and serves its exact totals", async () => {
    const counters = { rxPackets: 12, rxBytes: 3456, txPackets: 7, txBytes: 890, drops: 2 };
    expect(await ingest(batch({ interfaces: [iface({ ifname: "eth1", ifindex: 3, ...counters }), iface()] }))).toEqual(
      ack(1),
    );

    expect(await interfacesOf()).toEqual([
      {
        ifname: "eth1",
        ifindex: 3,
        ...counters,
        rxPacketsPerSec: null,
        rxBytesPerSec: null,
        txPacketsPerSec: null,
        txBytesPerSec: null,
        updatedAt: new Date(s.clock.now).toISOString(),
      },
      expect.objectContaining({ ifname: "veth0", rxBytes: 0 }),
    ]);
    const { body: nodes } = await getJson(s.app, "/api/v1/nodes");
    expect(nodes).toEqual([
      {
        name: "node-a",
        status: "Ready",
        lastSeen: new Date(s.clock.now).toISOString(),
        lastSeenAgoSeconds: 0,
        bootId: BOOT_A,
        interfaces: 2,
        agentVersion: null,
        kernel: null,
      },
    ]);
  });

  it("computes per-second rates from two batches of the same boot", async () => {
    await ingest(
      batch({
        seq: 1,
        ts: T0,
        interfaces: [iface({ rxPackets: 100, rxBytes: 10_000, txPackets: 50, txBytes: 4_000 })],
      }),
    );
    await ingest(
      batch({
        seq: 2,
        ts: T0 + 2_000,
        interfaces: [iface({ rxPackets: 300, rxBytes: 30_000, txPackets: 51, txBytes: 4_000, drops: 1 })],
      }),
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
    const before = await dumpTables(s.db);
    s.clock.now += 10_000;

    for (const seq of [2, 1]) {
      expect(await ingest(batch({ seq, ts: T0 + 5_000, interfaces: [iface({ rxBytes: 999 })] }))).toEqual(ack(2, true));
    }
    expect(await dumpTables(s.db)).toEqual(before);
  });

  it("starts over on a new bootId: totals replaced, rates unknown until the next batch", async () => {
    await ingest(batch({ seq: 1, interfaces: [iface({ rxBytes: 1_000 }), iface({ ifname: "old0", ifindex: 8 })] }));
    await ingest(
      batch({ seq: 2, ts: T0 + 1_000, interfaces: [iface({ rxBytes: 2_000 }), iface({ ifname: "old0", ifindex: 8 })] }),
    );

    // The agent restarted: seq and counters start again.
    expect(await ingest(batch({ bootId: BOOT_B, seq: 1, ts: T0 + 5_000, interfaces: [iface({ rxBytes: 10 })] })))
      .toEqual(ack(1));
    expect(await interfacesOf()).toEqual([
      expect.objectContaining({ ifname: "veth0", rxBytes: 10, rxBytesPerSec: null }),
    ]);
    const { body: nodes } = await getJson(s.app, "/api/v1/nodes");
    expect(nodes[0]).toMatchObject({ bootId: BOOT_B, interfaces: 1 });

    await ingest(batch({ bootId: BOOT_B, seq: 2, ts: T0 + 6_000, interfaces: [iface({ rxBytes: 110 })] }));
    expect((await interfacesOf())[0]).toMatchObject({ rxBytes: 110, rxBytesPerSec: 100 });
  });

  it("keeps a late batch from a replaced boot out of the totals, and still deduplicates it", async () => {
    await ingest(batch({ bootId: BOOT_A, seq: 1, ts: T0, interfaces: [iface({ rxBytes: 1_000 })] }));
    await ingest(batch({ bootId: BOOT_B, seq: 1, ts: T0 + 10_000, interfaces: [iface({ rxBytes: 5 })] }));

    const late = batch({ bootId: BOOT_A, seq: 2, ts: T0 + 1_000, interfaces: [iface({ rxBytes: 2_000 })] });
    expect(await ingest(late)).toEqual(ack(2));
    expect(await ingest(late)).toEqual(ack(2, true));

    expect((await interfacesOf())[0]).toMatchObject({ rxBytes: 5 });
    const dump = await dumpTables(s.db);
    expect(dump.nodes).toEqual([expect.objectContaining({ boot_id: BOOT_B, last_seq: 1 })]);
    expect((await samplesOf(s.db)).map((row) => [row.boot_id, row.rx_bytes])).toEqual([
      [BOOT_A, 1_000],
      [BOOT_B, 5],
      [BOOT_A, 2_000],
    ]);
  });

  it("writes nothing when any part of storing a batch fails", async () => {
    await ingest(batch({ seq: 1 }));
    const before = await dumpTables(s.db);
    // Make the last write of a batch (its history rows) fail.
    await s.db.$client.execute(
      "CREATE TRIGGER fail_history BEFORE INSERT ON interface_history BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    s.rebuild({ logError: () => {} });

    const res = await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000, interfaces: [iface({ rxBytes: 50 })] }));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "internal error" });
    expect(await dumpTables(s.db)).toEqual(before);
  });

  it("accepts a batch without interfaces as a sign of life", async () => {
    await ingest(batch({ interfaces: [] }));
    expect(await interfacesOf()).toEqual([]);
    expect((await getJson(s.app, "/api/v1/nodes")).body[0]).toMatchObject({ name: "node-a", interfaces: 0 });
  });

  it("stores the largest batch the wire allows (4096 interfaces)", async () => {
    const many = Array.from({ length: 4096 }, (_, i) => iface({ ifname: `veth${i}`, ifindex: i + 1, rxBytes: i }));
    await ingest(batch({ interfaces: many }));
    await ingest(batch({ seq: 2, ts: T0 + 1_000, interfaces: many.map((x) => ({ ...x, rxBytes: x.rxBytes + 10 })) }));
    const states = await interfacesOf();
    expect(states).toHaveLength(4096);
    expect(states.every((s: { rxBytesPerSec: number }) => s.rxBytesPerSec === 10)).toBe(true);
    expect(await samplesOf(s.db)).toHaveLength(8192);
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
      Array.from(
        { length: 10 },
        async () => (await postBatch(app, batch({ interfaces: [iface({ rxBytes: 100 })] }))).json(),
      ),
    );
    expect(acks.filter((a) => !a.duplicate)).toHaveLength(1);
    expect(acks.every((a) => a.ok && a.seq === 1)).toBe(true);
    expect(await samplesOf(f.db)).toHaveLength(1);
  });

  it("stores concurrent batches from many nodes", async () => {
    const { app } = testApp(f.db);
    const names = Array.from({ length: 20 }, (_, i) => `node-${i}`);
    const responses = await Promise.all(names.map((node) => postBatch(app, batch({ node }))));
    expect(responses.map((r) => r.status)).toEqual(names.map(() => 200));
    expect((await getJson(app, "/api/v1/nodes")).body.map((n: { name: string }) => n.name).sort()).toEqual(
      [...names].sort(),
    );
  });
});

describe("ingest across a control-plane restart", () => {
  it("a batch resent after the restart is a duplicate; a late batch of an older boot is still kept out of the totals", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-restart-"));
    const url = `file:${join(dir, "control.db")}`;
    try {
      const first = await openDb(url);
      const { app: before } = testApp(first);
      const credential = await credentialFor(before, "node-a");
      await postBatch(before, batch({ bootId: BOOT_A, seq: 1, ts: T0, interfaces: [iface({ rxBytes: 100 })] }));
      await postBatch(before, batch({ bootId: BOOT_B, seq: 1, ts: T0 + 10_000, interfaces: [iface({ rxBytes: 7 })] }));
      first.$client.close();

      // A new process: nothing in memory survives, the credential and the boots table do.
      const second = await openDb(url);
      const { app: after } = testApp(second);
      const auth = bearer(credential);
      expect(await (await postBatch(after, batch({ bootId: BOOT_B, seq: 1, ts: T0 + 10_000 }), auth)).json()).toEqual(
        ack(1, true),
      );
      expect(await (await postBatch(after, batch({ bootId: BOOT_A, seq: 1, ts: T0 }), auth)).json()).toEqual(
        ack(1, true),
      );
      const late = batch({ bootId: BOOT_A, seq: 2, ts: T0 + 1_000, interfaces: [iface({ rxBytes: 200 })] });
      expect(await (await postBatch(after, late, auth)).json()).toEqual(ack(2));
      expect((await getJson(after, "/api/v1/nodes/node-a/interfaces")).body[0]).toMatchObject({ rxBytes: 7 });
      expect(await samplesOf(second)).toHaveLength(3);
      second.$client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("history", () => {
  it("keeps each stored batch once, and the interface_samples view gives every column of every interface back", async () => {
    const counters = { rxPackets: 12, rxBytes: 3456, txPackets: 7, txBytes: 890, drops: 2 };
    await ingest(batch({ seq: 1, ts: T0, interfaces: [iface({ ifname: "eth1", ifindex: 3, ...counters })] }));
    await ingest(
      batch({
        seq: 2,
        ts: T0 + 2_000,
        interfaces: [iface({ ifname: "eth1", ifindex: 3, ...counters, rxBytes: 5456 })],
      }),
    );
    expect((await dumpTables(s.db)).interface_history).toHaveLength(2);
    const [, second] = await samplesOf(s.db);
    expect(second).toEqual({
      history_id: 2,
      node: "node-a",
      boot_id: BOOT_A,
      ts: T0 + 2_000,
      ifname: "eth1",
      ifindex: 3,
      rx_packets: 12,
      rx_bytes: 5456,
      tx_packets: 7,
      tx_bytes: 890,
      drops: 2,
      rx_packets_per_sec: 0,
      rx_bytes_per_sec: 1000,
      tx_packets_per_sec: 0,
      tx_bytes_per_sec: 0,
      // Growth since the previous sample and the time it covers: what the rollups sum.
      rx_packets_delta: 0,
      rx_bytes_delta: 2000,
      tx_packets_delta: 0,
      tx_bytes_delta: 0,
      drops_delta: 0,
      interval_ms: 2000,
    });
  });
});
