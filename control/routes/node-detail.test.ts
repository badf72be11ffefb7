// SPDX-License-Identifier: Apache-2.0
/** Node health (Ready → Stale → Lost on a fake clock), inventory storage, and GET /api/v1/nodes/:node. */
import { describe, expect, it } from "vitest";
import {
  batch,
  BOOT_A,
  BOOT_B,
  DEFAULT_DESIRED,
  getJson,
  inventory,
  postBatch,
  T0,
  useTestApp,
} from "../test-support.ts";

const s = useTestApp({ settings: { staleAfterMs: 30_000, lostAfterMs: 120_000 } });

const statusOf = async (node = "node-a") => (await getJson(s.app, `/api/v1/nodes/${node}`)).body.status;
const listed = async () => (await getJson(s.app, "/api/v1/nodes")).body;

describe("status by the age of the last batch", () => {
  it("Ready → Stale at EBPF_K8S_STALE_AFTER → Lost at EBPF_K8S_LOST_AFTER → Ready on the next batch", async () => {
    await postBatch(s.app, batch({ seq: 1 }));
    const seen = s.clock.now;
    const at = async (ms: number) => {
      s.clock.now = seen + ms;
      return [await statusOf(), (await listed())[0].status];
    };
    expect(await at(0)).toEqual(["Ready", "Ready"]);
    expect(await at(29_999)).toEqual(["Ready", "Ready"]);
    expect(await at(30_000)).toEqual(["Stale", "Stale"]);
    expect(await at(119_999)).toEqual(["Stale", "Stale"]);
    expect(await at(120_000)).toEqual(["Lost", "Lost"]);
    expect(await at(86_400_000)).toEqual(["Lost", "Lost"]);

    await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000 }));
    expect(await statusOf()).toBe("Ready");
  });

  it("a duplicate does not refresh last seen (it proves nothing new); a late batch of an older boot does", async () => {
    await postBatch(s.app, batch({ bootId: BOOT_A, seq: 1, ts: T0 }));
    await postBatch(s.app, batch({ bootId: BOOT_B, seq: 1, ts: T0 + 10_000 }));
    s.clock.now += 60_000;
    await postBatch(s.app, batch({ bootId: BOOT_B, seq: 1, ts: T0 + 10_000 }));
    expect(await statusOf()).toBe("Stale");
    await postBatch(s.app, batch({ bootId: BOOT_A, seq: 2, ts: T0 + 1_000 }));
    expect(await statusOf()).toBe("Ready");
  });

  it("uses the configured thresholds", async () => {
    s.rebuild({ settings: { staleAfterMs: 5_000, lostAfterMs: 10_000 } });
    await postBatch(s.app, batch());
    s.clock.now += 5_000;
    expect(await statusOf()).toBe("Stale");
    s.clock.now += 5_000;
    expect(await statusOf()).toBe("Lost");
  });
});

describe("inventory", () => {
  it("is stored from the batch and shown in the list and the detail", async () => {
    const inv = inventory();
    await postBatch(s.app, batch({ inventory: inv }));
    expect((await listed())[0]).toMatchObject({ agentVersion: "0.2.0", kernel: "6.12.0-test" });

    const { status, body } = await getJson(s.app, "/api/v1/nodes/node-a");
    expect(status).toBe(200);
    expect(body).toEqual({
      name: "node-a",
      status: "Ready",
      lastSeen: new Date(s.clock.now).toISOString(),
      lastSeenAgoSeconds: 0,
      bootId: BOOT_A,
      interfaces: 1,
      agentVersion: "0.2.0",
      kernel: "6.12.0-test",
      interfaceStates: [expect.objectContaining({ ifname: "veth0" })],
      inventory: inv,
      inventoryReceivedAt: new Date(s.clock.now).toISOString(),
      desired: DEFAULT_DESIRED,
      modules: [
        { name: "ifstats", desired: true, inherited: true, state: "on", error: null, pending: false },
        { name: "flows", desired: true, inherited: true, state: null, error: null, pending: false },
        { name: "tcp", desired: true, inherited: true, state: null, error: null, pending: false },
        { name: "drops", desired: true, inherited: true, state: null, error: null, pending: false },
        { name: "lb", desired: false, inherited: true, state: "off", error: null, pending: false },
        { name: "accel", desired: false, inherited: true, state: "unsupported", error: null, pending: false },
        { name: "gateway", desired: false, inherited: true, state: null, error: null, pending: false },
        { name: "dns", desired: true, inherited: true, state: null, error: null, pending: false },
      ],
      monitoring: {
        agent: null,
        flowKeysCut: 0,
        tcpKeysCut: 0,
        dropKeysCut: 0,
        dnsNameKeysCut: 0,
        dnsServerKeysCut: 0,
        flowDuplicates: 0,
      },
    });
  });

  it("is replaced by a newer batch's, kept when a batch carries none, and never overwritten by a late batch", async () => {
    await postBatch(s.app, batch({ bootId: BOOT_A, seq: 1, ts: T0, inventory: inventory({ agentVersion: "1.0.0" }) }));
    await postBatch(s.app, batch({ bootId: BOOT_A, seq: 2, ts: T0 + 1_000 }));
    expect((await listed())[0].agentVersion).toBe("1.0.0");

    await postBatch(
      s.app,
      batch({ bootId: BOOT_B, seq: 1, ts: T0 + 10_000, inventory: inventory({ agentVersion: "2.0.0" }) }),
    );
    await postBatch(
      s.app,
      batch({ bootId: BOOT_A, seq: 3, ts: T0 + 2_000, inventory: inventory({ agentVersion: "1.0.0" }) }),
    );
    expect((await listed())[0].agentVersion).toBe("2.0.0");
  });

  it("reports module errors with their text", async () => {
    const modules = [{
      name: "accel" as const,
      desired: true,
      state: "error" as const,
      error: "sockmap: kernel lacks BPF_SK_SKB_VERDICT",
    }];
    await postBatch(s.app, batch({ inventory: inventory({ modules }) }));
    const { body } = await getJson(s.app, "/api/v1/nodes/node-a/modules");
    // The agent was asked for accel on; the control plane says off (the default): the switch is pending.
    expect(body.find((m: { name: string }) => m.name === "accel")).toEqual({
      name: "accel",
      desired: false,
      inherited: true,
      state: "error",
      error: "sockmap: kernel lacks BPF_SK_SKB_VERDICT",
      pending: true,
    });
  });

  it("refuses an inventory naming one module twice", async () => {
    const twice = inventory({
      modules: [{ name: "lb", desired: false, state: "off" }, { name: "lb", desired: false, state: "on" }],
    });
    const res = await postBatch(s.app, batch({ inventory: twice }));
    expect(res.status).toBe(400);
    expect((await res.json()).issues).toContainEqual({
      path: "inventory.modules.1.name",
      message: "duplicate module 'lb'",
    });
  });

  it("a node without an inventory shows nulls, not errors", async () => {
    await postBatch(s.app, batch());
    const { body } = await getJson(s.app, "/api/v1/nodes/node-a");
    expect(body).toMatchObject({ agentVersion: null, kernel: null, inventory: null, inventoryReceivedAt: null });
    expect(body.modules.every((m: { state: unknown }) => m.state === null)).toBe(true);
  });
});

describe("GET /api/v1/nodes/:node", () => {
  it("404 for a node that never reported, 400 for a bad name", async () => {
    expect(await getJson(s.app, "/api/v1/nodes/ghost")).toEqual({
      status: 404,
      body: { error: "node 'ghost' not found" },
    });
    expect((await getJson(s.app, "/api/v1/nodes/Bad_Name")).status).toBe(400);
  });
});
