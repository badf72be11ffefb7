// SPDX-License-Identifier: Apache-2.0
/** Every field of today's Batch survives encodeCompact → JSON → decodeCompact exactly. */
import { describe, expect, it } from "vitest";
import { Batch } from "../batch.ts";
import { OTHER_DROP_REASON, OTHER_PEER, OTHER_POD_PEER } from "../monitoring.ts";
import { decodeCompact, type DecodeOptions } from "./decode.ts";
import { encodeCompact, type EncodeOptions } from "./encode.ts";
import { fullBatch, interfacesOnly, inventory, otherFlows } from "./fixtures.test-support.ts";
import { contentHash } from "./content-hash.ts";

/** Through the wire as it travels: JSON text. */
function roundTrip(batch: Batch, encode: EncodeOptions = {}, decode: DecodeOptions = {}): Batch {
  return decodeCompact(JSON.parse(JSON.stringify(encodeCompact(batch, encode))), decode);
}

/** The batch as the control plane reads it today (zod fills defaults), to compare against. */
const valid = (b: Batch) => Batch.parse(b);

describe("compact batches round-trip", () => {
  it("a batch with every field, optional ones present and absent", () => {
    const batch = valid(fullBatch());
    const before = structuredClone(batch);
    expect(roundTrip(batch)).toStrictEqual(batch);
    expect(batch).toStrictEqual(before); // the encoder changes nothing of what it was given
  });

  it("an empty batch, and one whose record arrays are present but empty (not the same as absent)", () => {
    const empty = valid({ ...interfacesOnly(), interfaces: [] });
    expect(roundTrip(empty)).toStrictEqual(empty);
    const emptyArrays = valid({ ...empty, pods: [], flows: [], tcp: [], drops: [] });
    expect(roundTrip(emptyArrays)).toStrictEqual(emptyArrays);
  });

  it("a late column (drops' service, wire version 5) is left out when no record has it, and read so", () => {
    const batch = valid(fullBatch());
    expect(encodeCompact(batch).drops!.service).toBeDefined();
    const without = valid({ ...batch, drops: batch.drops!.map(({ service: _, ...d }) => d) });
    const compact = encodeCompact(without);
    // What a control plane of version 4 reads: its strict schema has no service column.
    expect(Object.keys(compact.drops!)).toEqual(["pod", "ifname", "reason", "packets", "bytes"]);
    expect(roundTrip(without)).toStrictEqual(without);
    // Columns of fields older than compact batches stay, absent or not.
    expect(Object.keys(encodeCompact(valid({ ...batch, drops: [{ reason: "X", packets: 1, bytes: 1 }] })).drops!))
      .toEqual(["pod", "ifname", "reason", "packets", "bytes"]);
  });

  it("a batch with only interfaces", () => {
    const batch = valid(interfacesOnly());
    expect(roundTrip(batch)).toStrictEqual(batch);
  });

  it('"other" records keep their reserved ends, port 0 and protocol 0', () => {
    const batch = valid({
      ...interfacesOnly(),
      flows: otherFlows(),
      drops: [{ reason: OTHER_DROP_REASON, packets: 1, bytes: 2 }],
    });
    const out = roundTrip(batch);
    expect(out).toStrictEqual(batch);
    expect(out.flows!.map((f) => [f.src, f.dst, f.port, f.proto])).toEqual([
      ["10.0.1.2", OTHER_PEER, 0, 0],
      [OTHER_POD_PEER, "10.0.1.2", 0, 0],
      [OTHER_PEER, OTHER_PEER, 0, 0],
    ]);
  });

  it("carries each repeated string once, integers as integers, booleans and enums as small integers", () => {
    const compact = encodeCompact(valid(fullBatch()));
    expect(new Set(compact.strings).size).toBe(compact.strings.length);
    expect(compact.strings.filter((s) => s === "10.0.1.2")).toHaveLength(1);
    expect(compact.flows!.toServer.slice(0, 3)).toEqual([1, 0, 1]);
    expect(compact.flows!.obs.slice(0, 3)).toEqual([0, 1, 2]); // the order of FlowRecord's enum: tx, rx, host
    expect(compact.flows!.bytes.slice(0, 3)).toEqual([360, 3600, 80]);
    expect(compact.tcp!.pod).toEqual([compact.strings.indexOf("u-web"), -1]);
  });
});

describe("the inventory and the pods' metadata travel as their hash when the control plane holds them", () => {
  const batch = valid(fullBatch());
  const inventoryHash = contentHash(batch.inventory!);
  const info = batch.pods!.map(({ rxPackets: _a, rxBytes: _b, txPackets: _c, txBytes: _d, drops: _e, ...i }) => i);
  const podsHash = contentHash(info);
  const unchanged = { previousInventoryHash: inventoryHash, previousPodsHash: podsHash };

  it("whole with their hash when changed or unknown; the hash alone when unchanged", () => {
    const first = encodeCompact(batch);
    expect(first).toMatchObject({ inventory: batch.inventory, inventoryHash, pods: { info, infoHash: podsHash } });
    const changed = encodeCompact(batch, { previousInventoryHash: "0123456789abcdef", previousPodsHash: "0" });
    expect(changed).toMatchObject({ inventory: batch.inventory, pods: { info } });
    const steady = encodeCompact(batch, unchanged);
    expect(steady.inventory).toBeUndefined();
    expect(steady.pods!.info).toBeUndefined();
    expect(steady).toMatchObject({ inventoryHash, pods: { infoHash: podsHash } });
  });

  it("unchanged parts decode to the ones the control plane holds", () => {
    const known = {
      knownInventory: { hash: inventoryHash, value: batch.inventory! },
      knownPods: { hash: podsHash, value: info },
    };
    expect(roundTrip(batch, unchanged, known)).toStrictEqual(batch);
    expect(known.knownPods.value).toStrictEqual(info); // not changed by decoding
  });

  it("a hash the control plane does not hold is refused, so the agent sends the part whole", () => {
    const steady = JSON.parse(JSON.stringify(encodeCompact(batch, unchanged)));
    expect(() => decodeCompact(steady)).toThrow(`inventoryHash: ${inventoryHash} is not what is held for this node`);
    const other = inventory("0.5.0");
    const knownInventory = { hash: contentHash(other), value: other };
    expect(() => decodeCompact(steady, { knownInventory })).toThrow("inventoryHash: ");
    const withInventory = { knownInventory: { hash: inventoryHash, value: batch.inventory! } };
    expect(() => decodeCompact(steady, withInventory)).toThrow(`pods.infoHash: ${podsHash} is not what is held`);
    const fewerPods = { ...withInventory, knownPods: { hash: podsHash, value: info.slice(1) } };
    expect(() => decodeCompact(steady, fewerPods)).toThrow("pods.info: 1 pods, the counter columns have 2");
  });

  it("the hash depends on the content, not on the order keys were written in", () => {
    const inv = batch.inventory!;
    const reordered = Object.fromEntries(Object.entries(inv).reverse()) as typeof inv;
    expect(contentHash(reordered)).toBe(inventoryHash);
    expect(contentHash(inventory("0.4.1"))).not.toBe(contentHash(inventory("0.4.0")));
    expect(contentHash({ ...inv, spool: { ...inv.spool, pending: 2 } })).not.toBe(inventoryHash);
    expect(contentHash([info[1], info[0]])).not.toBe(podsHash);
    expect(inventoryHash).toMatch(/^[0-9a-f]{16}$/);
  });
});
