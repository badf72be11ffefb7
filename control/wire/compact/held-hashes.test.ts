// SPDX-License-Identifier: Apache-2.0
/**
 * The sender's exchange (held-hashes.ts), step by step, against a receiver made of the real codec: the bodies are
 * gunzipped and decoded with what the receiver holds, as the control plane reads them (its route and the agent
 * against it: control/ingest/compact-ingest.test.ts, agent/wire_encoding_test.ts).
 */
import { describe, expect, it } from "vitest";
import { Batch, type Inventory } from "../batch.ts";
import type { PodInfo } from "../pods.ts";
import { decodeCompact, type Held } from "./decode.ts";
import { podInfo } from "./encode.ts";
import { fullBatch } from "./fixtures.test-support.ts";
import { type CompactBody, type CompactOutcome, HeldHashes, sendCompact } from "./held-hashes.ts";
import { gunzipCapped } from "./http.ts";

/** What a control plane holds for the node, and what it received: "whole" or "by hash" and its answer. */
class Receiver {
  inventory?: Held<Inventory>;
  pods?: Held<PodInfo[]>;
  readonly log: string[] = [];
  /** Answers the next requests so, whatever they carry (then as the contract says). */
  readonly scripted: CompactOutcome[] = [];

  post = async (body: CompactBody): Promise<{ outcome: CompactOutcome; batch?: Batch }> => {
    const json = JSON.parse(await gunzipCapped(body.body));
    const form = json.inventory === undefined ? "by hash" : "whole";
    let outcome = this.scripted.shift();
    let batch: Batch | undefined;
    if (!outcome) {
      try {
        batch = decodeCompact(json, { knownInventory: this.inventory, knownPods: this.pods });
        this.inventory = { hash: json.inventoryHash, value: batch.inventory! };
        this.pods = { hash: json.pods.infoHash, value: batch.pods!.map(podInfo) };
        outcome = "acknowledged";
      } catch {
        outcome = "unknown part";
      }
    }
    this.log.push(`${form} ${outcome}`);
    return { outcome, batch };
  };
}

const outcome = (a: { outcome: CompactOutcome }) => a.outcome;

describe("held hashes: what the control plane holds, as the sender tracks it", () => {
  it("whole first, by hash once acknowledged; the receiver reads back exactly the batch", async () => {
    const batch = Batch.parse(fullBatch());
    const held = new HeldHashes(), receiver = new Receiver();
    expect(held.empty).toBe(true);
    const first = await sendCompact(batch, held, receiver.post, outcome);
    const second = await sendCompact({ ...batch, seq: 8 }, held, receiver.post, outcome);
    expect(receiver.log).toEqual(["whole acknowledged", "by hash acknowledged"]);
    expect(second.answer.batch).toStrictEqual({ ...batch, seq: 8 });
    expect(second.bytes).toBeLessThan(first.bytes);
    expect([first.requests, second.requests, second.protocolError]).toEqual([1, 1, false]);
    expect(held.empty).toBe(false);
  });

  it("a receiver that holds nothing (restarted): 412, then the same batch whole at once, and by hash after", async () => {
    const batch = Batch.parse(fullBatch());
    const held = new HeldHashes();
    await sendCompact(batch, held, new Receiver().post, outcome);
    const restarted = new Receiver();
    const sent = await sendCompact({ ...batch, seq: 8 }, held, restarted.post, outcome);
    await sendCompact({ ...batch, seq: 9 }, held, restarted.post, outcome);
    expect(restarted.log).toEqual(["by hash unknown part", "whole acknowledged", "by hash acknowledged"]);
    expect([sent.requests, sent.protocolError]).toEqual([2, false]);
    expect(sent.answer.batch).toStrictEqual({ ...batch, seq: 8 });
  });

  it("412 for a batch sent whole is a protocol error, never a loop; an answer that is no acknowledgement changes nothing", async () => {
    const batch = Batch.parse(fullBatch());
    const held = new HeldHashes(), receiver = new Receiver();
    receiver.scripted.push("unknown part");
    const whole = await sendCompact(batch, held, receiver.post, outcome);
    expect([whole.requests, whole.protocolError, held.empty]).toEqual([1, true, true]);

    await sendCompact(batch, held, receiver.post, outcome); // acknowledged: held
    receiver.scripted.push("unknown part", "unknown part");
    const twice = await sendCompact(batch, held, receiver.post, outcome);
    expect([twice.requests, twice.protocolError, held.empty]).toEqual([2, true, true]);

    await sendCompact(batch, held, receiver.post, outcome);
    const options = held.options;
    receiver.scripted.push("other"); // a 503, say: the control plane took nothing
    await sendCompact(batch, held, receiver.post, outcome);
    expect(held.options).toEqual(options);
    expect(receiver.log.slice(-2)).toEqual(["whole acknowledged", "by hash other"]);
  });
});
