// SPDX-License-Identifier: Apache-2.0
/**
 * Compact batches (control/wire/compact) over many batches, property-style: every batch the bench's simulated
 * nodes send, of many shapes, nodes and sequence numbers, and every fuzz seed (each optional part of a batch
 * alone, and all together) comes back exactly after encode → JSON → decode, also when the agent sends the
 * inventory and the pods' metadata as hashes the control plane holds from its previous batch. (These tests live
 * here, not in control/wire/compact/, because control/wire may import nothing of the rest of control/.)
 */
import { describe, expect, it } from "vitest";
import { batchFor, inventoryFor } from "../bench/simulated-node.ts";
import { Batch, type Inventory } from "../wire/batch.ts";
import { decodeCompact, type DecodeOptions } from "../wire/compact/decode.ts";
import { encodeCompact, type EncodeOptions } from "../wire/compact/encode.ts";
import type { PodInfo } from "../wire/pods.ts";
import { fuzzSeeds } from "./fuzz-seeds.test-support.ts";

/** One node's link: what the agent last had acknowledged, and what the control plane holds from it. */
class Link {
  sent: EncodeOptions = {};
  held: DecodeOptions = {};
  /** Batches whose inventory, and whose pods' metadata, went as a hash alone. */
  inventoriesByHash = 0;
  podsByHash = 0;

  /** The batch through encode → JSON → decode, then remembered on both ends as if acknowledged. */
  carry(batch: Batch): Batch {
    const compact = encodeCompact(batch, this.sent);
    const out = decodeCompact(JSON.parse(JSON.stringify(compact)), this.held);
    if (compact.inventoryHash && !compact.inventory) this.inventoriesByHash++;
    if (compact.pods && !compact.pods.info) this.podsByHash++;
    this.sent = { previousInventoryHash: compact.inventoryHash, previousPodsHash: compact.pods?.infoHash };
    if (out.inventory) this.held.knownInventory = { hash: compact.inventoryHash!, value: out.inventory as Inventory };
    if (out.pods) {
      const info = out.pods.map(({ rxPackets: _a, rxBytes: _b, txPackets: _c, txBytes: _d, drops: _e, ...i }) => i);
      this.held.knownPods = { hash: compact.pods!.infoHash, value: info as PodInfo[] };
    }
    return out;
  }
}

/** A batch as the control plane reads today's JSON of it (an undefined field is absent; zod fills defaults). */
const asToday = (batch: Batch) => Batch.parse(JSON.parse(JSON.stringify(batch)));

/** A small deterministic generator, so a failure names a shape that can be replayed. */
function shapes(count: number) {
  let x = 0x2545f491;
  const next = (n: number) => ((x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0) % n);
  return Array.from({ length: count }, () => ({
    nodes: 1 + next(3_000),
    shape: { pods: 1 + next(40), flows: 10 * next(40), interfaces: next(8) }, // flows: a multiple of 10, as batchFor needs
    seqs: 1 + next(8),
  }));
}

describe("compact batches over many batches", () => {
  it("every simulated node's batches, of many shapes, come back exactly, whole or with held parts", () => {
    const chains = shapes(30);
    let batches = 0, inventoriesByHash = 0, podsByHash = 0;
    for (const [i, { nodes, shape, seqs }] of chains.entries()) {
      const node = i % nodes, inventory = inventoryFor(shape.interfaces), link = new Link();
      for (let seq = 1; seq <= seqs; seq++) {
        const batch = asToday(batchFor(node, nodes, crypto.randomUUID(), seq, 10, inventory, shape));
        const label = `node ${node} of ${nodes}, ${JSON.stringify(shape)}, seq ${seq}`;
        expect(decodeCompact(JSON.parse(JSON.stringify(encodeCompact(batch)))), label).toStrictEqual(batch);
        expect(link.carry(batch), `${label}, held parts`).toStrictEqual(batch);
        batches++;
      }
      inventoriesByHash += link.inventoriesByHash;
      podsByHash += link.podsByHash;
    }
    // Inventory and pods' metadata stay the same along a chain: each went whole once, then as its hash.
    expect(batches).toBeGreaterThan(100);
    expect([inventoriesByHash, podsByHash]).toEqual([batches - chains.length, batches - chains.length]);
  });

  it("every fuzz seed (each optional part alone, and all of them) comes back exactly", () => {
    const seeds = fuzzSeeds(3);
    expect(Object.keys(seeds)).toEqual(expect.arrayContaining(["everything", "pods", "gateway", "inventory"]));
    for (const [name, seed] of Object.entries(seeds)) {
      const batch = asToday(seed);
      expect(decodeCompact(JSON.parse(JSON.stringify(encodeCompact(batch)))), name).toStrictEqual(batch);
      const link = new Link();
      link.carry(batch);
      expect(link.carry({ ...batch, seq: batch.seq + 1 }), `${name}, second batch`).toStrictEqual({
        ...batch,
        seq: batch.seq + 1,
      });
    }
  });

  it("a changed pod (metadata or set) is sent whole again, and decodes to the new one", () => {
    const inventory = inventoryFor(3), shape = { pods: 5, flows: 20, interfaces: 3 }, link = new Link();
    const first = Batch.parse(batchFor(1, 10, crypto.randomUUID(), 1, 10, inventory, shape));
    link.carry(first);
    const relabelled = {
      ...first,
      seq: 2,
      pods: first.pods!.map((p, i) => (i === 3 ? { ...p, labels: { app: "new" } } : p)),
    };
    expect(encodeCompact(relabelled, link.sent).pods!.info).toHaveLength(5);
    expect(link.carry(relabelled)).toStrictEqual(relabelled);
    const fewer = { ...relabelled, seq: 3, pods: relabelled.pods!.slice(0, 4) };
    expect(link.carry(fewer)).toStrictEqual(fewer);
    const same = { ...fewer, seq: 4 };
    expect(encodeCompact(same, link.sent).pods!.info).toBeUndefined();
    expect(link.carry(same)).toStrictEqual(same);
  });
});
