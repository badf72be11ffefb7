// SPDX-License-Identifier: Apache-2.0
/**
 * How a batch travels to the control plane (--wire-encoding). The spool keeps plain JSON of the batch; only at
 * send time is it encoded. A batch of a wire version that may travel compact (COMPACT_SINCE_VERSION on) goes
 * compact when the control plane said it accepts that version (refusals.ts asks): columnar and gzipped, the
 * inventory and the pods' metadata by hash while the control plane holds them (control/wire/compact/
 * held-hashes.ts: the same exchange the bench's simulated agents use). Anything else, quarantine retries, and
 * every batch with `json` (for reading the wire with tcpdump) goes as plain JSON. Bytes sent are counted per
 * encoding for /metrics.
 */
import type { Batch } from "../control/wire/batch.ts";
import { COMPACT_SINCE_VERSION, UNKNOWN_PART_STATUS } from "../control/wire/compact/http.ts";
import { type CompactOutcome, HeldHashes, sendCompact } from "../control/wire/compact/held-hashes.ts";
import type { ControlApi, IngestAnswer } from "./control_api.ts";

export const WIRE_ENCODINGS = ["compact", "json"] as const;
export type WireEncodingName = (typeof WIRE_ENCODINGS)[number];

/** An answer to a batch as the spool's sender sees it: an unknown part is dealt with here. */
export type SendAnswer = Exclude<IngestAnswer, { kind: "unknownPart" }>;

export class WireEncoding {
  /** What the control plane holds for this node. In memory: an agent that restarts sends its first batch whole. */
  readonly held = new HeldHashes();
  /** Since this process started, per encoding: the bytes of the batch bodies sent, and the requests. */
  readonly sent: Record<WireEncodingName, { bytes: number; requests: number }> = {
    compact: { bytes: 0, requests: 0 },
    json: { bytes: 0, requests: 0 },
  };

  constructor(private readonly api: ControlApi, readonly mode: WireEncodingName = "compact") {}

  /**
   * Sends `text` (a batch's JSON): compact when `accepts` says the control plane takes the batch's version and
   * that version may travel so, else plain. `compactVersion` is the version when it went compact.
   */
  async send(
    text: string,
    accepts: (v: number) => boolean,
    credential: string,
    signal?: AbortSignal,
  ): Promise<{ answer: SendAnswer; compactVersion?: number }> {
    const batch = this.mode === "compact" ? parsed(text) : undefined;
    const v = batch?.v;
    if (batch === undefined || v === undefined || v < COMPACT_SINCE_VERSION || !accepts(v)) {
      return { answer: await this.plain(text, credential, signal) };
    }
    let r;
    try {
      r = await sendCompact(batch, this.held, (body) => this.api.ingest(body, credential, signal), outcome);
    } catch {
      // Not encodable (a batch spooled by a broken build?): plain, and the control plane judges it (400: quarantine).
      return { answer: await this.plain(text, credential, signal) };
    }
    this.sent.compact.bytes += r.bytes;
    this.sent.compact.requests += r.requests;
    return { answer: sorted(r.answer, r.protocolError), compactVersion: v };
  }

  /** Sends `text` as plain JSON. */
  async plain(text: string, credential: string, signal?: AbortSignal): Promise<SendAnswer> {
    this.sent.json.bytes += new TextEncoder().encode(text).byteLength;
    this.sent.json.requests++;
    return sorted(await this.api.ingest(text, credential, signal), false);
  }
}

function outcome(a: IngestAnswer): CompactOutcome {
  return a.kind === "ok" ? "acknowledged" : a.kind === "unknownPart" ? "unknown part" : "other";
}

/**
 * An unknown part left over (for a batch sent whole, or to plain JSON) is a control plane contradicting the
 * contract: a refusal of the batch, as a 400 (quarantined, never dropped).
 */
function sorted(a: IngestAnswer, protocolError: boolean): SendAnswer {
  if (a.kind !== "unknownPart") return a;
  const why = protocolError ? "for a batch sent whole" : "for a batch sent as plain JSON";
  return { kind: "rejected", status: UNKNOWN_PART_STATUS, message: `${a.message} (${why}: against the contract)` };
}

/** The spooled batch, or undefined when it is not JSON of an object with a version (the control plane judges it). */
function parsed(text: string): (Batch & { v: number }) | undefined {
  try {
    const b = JSON.parse(text);
    return typeof b === "object" && b !== null && typeof b.v === "number" ? b : undefined;
  } catch {
    return undefined;
  }
}
