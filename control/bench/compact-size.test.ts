// SPDX-License-Identifier: Apache-2.0
/**
 * Bytes on the wire per flow record, for the bench's batch (simulated-node.ts batchFor: 200 flows, 20 TCP, 3 drop
 * records, 20 pods, 5 interfaces, monitoring stats, inventory): today's JSON against the compact batch
 * (control/wire/compact), each also gzipped with CompressionStream. Reported, not asserted, except what holds by
 * construction: the compact JSON is smaller than today's, and an unchanged inventory sent as its hash smaller still.
 */
import { describe, expect, it } from "vitest";
import { Batch } from "../wire/batch.ts";
import { decodeCompact } from "../wire/compact/decode.ts";
import { encodeCompact } from "../wire/compact/encode.ts";
import { batchFor, inventoryFor } from "./simulated-node.ts";

const SHAPE = { pods: 20, flows: 200, interfaces: 5 };
const NODES = 1_000;

async function gzipped(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** Total ms of each of `fns` over rounds that alternate them, so that a noisy machine slows both alike. */
function sideBySide(...fns: (() => unknown)[]): number[] {
  const totals = fns.map(() => 0);
  for (let round = 0; round < 40; round++) {
    fns.forEach((fn, i) => {
      const start = performance.now();
      fn();
      totals[i]! += performance.now() - start;
    });
  }
  return totals;
}

const bytes = (text: string) => new TextEncoder().encode(text).byteLength;

describe("compact batches on the wire", () => {
  it("reports bytes per flow record for the bench's batch, JSON and gzip", async () => {
    const inventory = inventoryFor(SHAPE.interfaces);
    const batch = batchFor(7, NODES, crypto.randomUUID(), 42, 10, inventory, SHAPE);
    const flows = batch.flows!.length;
    const today = JSON.stringify(batch);
    const first = encodeCompact(batch);
    const steady = encodeCompact(batch, {
      previousInventoryHash: first.inventoryHash,
      previousPodsHash: first.pods!.infoHash,
    });
    const { inventory: _, ...todayWithoutInventory } = batch;
    const forms: Record<string, string> = {
      "today's JSON": today,
      "today's JSON, no inventory": JSON.stringify(todayWithoutInventory),
      "compact, all sent whole": JSON.stringify(first),
      "compact, inventory and pod metadata as hash": JSON.stringify(steady),
      "compact flow columns + dictionary alone": JSON.stringify({ strings: steady.strings, flows: steady.flows }),
    };
    const rows: string[] = [];
    for (const [form, text] of Object.entries(forms)) {
      const [raw, gz] = [bytes(text), await gzipped(text)];
      rows.push(
        `${form.padEnd(42)} ${String(raw).padStart(6)} B  ${(raw / flows).toFixed(1).padStart(6)} B/flow   ` +
          `gzip ${String(gz).padStart(6)} B  ${(gz / flows).toFixed(1).padStart(5)} B/flow`,
      );
    }
    console.log(
      `bytes per flow record, ${flows} flows + ${batch.tcp!.length} TCP + ${batch.drops!.length} drops + ` +
        `${SHAPE.pods} pods + ${SHAPE.interfaces} interfaces:\n${rows.join("\n")}`,
    );

    // What the control plane spends reading it, side by side in this run (a ratio; no timing is asserted).
    const held = {
      knownInventory: { hash: first.inventoryHash!, value: inventory },
      knownPods: { hash: first.pods!.infoHash, value: first.pods!.info! },
    };
    const compactText = forms["compact, inventory and pod metadata as hash"]!;
    const [todayMs, compactMs] = sideBySide(
      () => Batch.parse(JSON.parse(today)),
      () => decodeCompact(JSON.parse(compactText), held),
    );
    console.log(
      `reading a batch (JSON.parse + validation): compact ${(compactMs / todayMs).toFixed(2)}× the time of today's`,
    );

    expect(bytes(forms["compact, all sent whole"]!)).toBeLessThan(bytes(today));
    expect(bytes(forms["compact, inventory and pod metadata as hash"]!)).toBeLessThan(
      bytes(forms["compact, all sent whole"]!),
    );
  });
});
