// SPDX-License-Identifier: Apache-2.0
/**
 * The sender's half of the parts a control plane holds for a node (http.ts): the hashes of the last compact
 * batch it acknowledged, so that the next batch sends those parts by hash alone, and the one exchange that keeps
 * them right. Shared by the agent (agent/wire_encoding.ts) and the bench's simulated agents
 * (control/bench/ingest-clients.ts), so that both speak the wire exactly alike.
 *
 * Kept in memory only: a sender that restarts holds nothing, so its first batch goes whole. A control plane
 * that restarted (or another replica) answers a batch naming a part it does not hold UNKNOWN_PART_STATUS; the
 * sender then forgets what it held and sends the same batch again at once, whole: one round trip, nothing lost.
 */
import type { Batch } from "../batch.ts";
import type { EncodeOptions } from "./encode.ts";
import { compactBody, type SentHashes } from "./http.ts";

/** A compact POST body: the gzipped bytes, its headers, and the hashes it was written with. */
export type CompactBody = Awaited<ReturnType<typeof compactBody>>;

export class HeldHashes {
  #held: SentHashes = {};

  /** The encoder's options for the next batch: the parts the control plane holds, by hash. */
  get options(): EncodeOptions {
    return { previousInventoryHash: this.#held.inventory, previousPodsHash: this.#held.pods };
  }

  /** Nothing held: the next batch goes whole. */
  get empty(): boolean {
    return this.#held.inventory === undefined && this.#held.pods === undefined;
  }

  /** A compact batch written with `sent` was acknowledged: the control plane holds those parts now. */
  acknowledged(sent: SentHashes): void {
    this.#held = { ...sent };
  }

  /** The control plane does not hold what we thought (UNKNOWN_PART_STATUS): the next batch goes whole. */
  forget(): void {
    this.#held = {};
  }
}

/** What the caller's answer to one POST means to this exchange. */
export type CompactOutcome = "acknowledged" | "unknown part" | "other";

export interface CompactSend<A> {
  /** The answer to the last request made. */
  answer: A;
  /** Bytes of every body sent (two requests after an UNKNOWN_PART_STATUS). */
  bytes: number;
  requests: number;
  /**
   * UNKNOWN_PART_STATUS for a batch sent whole: the control plane contradicts the contract. Not retried; the
   * caller treats it as a refusal of the batch (the agent quarantines it, as a 400).
   */
  protocolError: boolean;
}

/**
 * Sends `batch` compact, the parts `held` names by hash (`post` makes one request, `outcome` reads its answer).
 * On UNKNOWN_PART_STATUS it forgets what it held and sends the same batch again at once, whole, once. Once
 * acknowledged, the hashes sent are what the control plane holds.
 */
export async function sendCompact<A>(
  batch: Batch,
  held: HeldHashes,
  post: (body: CompactBody) => Promise<A>,
  outcome: (answer: A) => CompactOutcome,
): Promise<CompactSend<A>> {
  const whole = held.empty;
  let body = await compactBody(batch, held.options);
  let answer = await post(body);
  let bytes = body.body.byteLength, requests = 1;
  if (outcome(answer) === "unknown part") {
    held.forget();
    if (whole) return { answer, bytes, requests, protocolError: true };
    body = await compactBody(batch);
    answer = await post(body);
    bytes += body.body.byteLength;
    requests++;
  }
  const result = outcome(answer);
  if (result === "acknowledged") held.acknowledged(body.hashes);
  return { answer, bytes, requests, protocolError: result === "unknown part" };
}
