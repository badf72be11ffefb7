// SPDX-License-Identifier: Apache-2.0
/**
 * Sends the spool to the control plane, oldest batch first, stopping at the
 * first batch that cannot be delivered now so that the order is kept: the
 * control plane sees the seqs of a boot strictly increasing. Runs apart from
 * reading: a slow or absent control plane never delays the next read.
 * A batch the control plane refuses is never deleted: refusals.ts. How a
 * batch travels (compact or plain JSON): wire_encoding.ts.
 */
import type { BatchAck } from "../control/wire/batch.ts";
import { jitteredRetryMs } from "../control/wire/retry.ts";
import type { ControlApi } from "./control_api.ts";
import type { Credentials } from "./credentials.ts";
import type { Refusals } from "./refusals.ts";
import type { Spool } from "./spool/spool.ts";
import { WireEncoding } from "./wire_encoding.ts";

/** Longest Retry-After honoured; a larger one is taken as this. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

type Link = "up" | "down" | "unauthorized";

export class Delivery {
  #notBefore = 0;
  #link: Link = "up";

  constructor(
    private readonly spool: Spool,
    private readonly api: ControlApi,
    private readonly credentials: Credentials,
    private readonly onAck: (ack: BatchAck) => void,
    private readonly log: (msg: string) => void,
    readonly refusals: Refusals,
    readonly encoding = new WireEncoding(api),
  ) {}

  /** Sends pending batches until the spool is empty or one cannot be delivered now. */
  async drain(signal?: AbortSignal): Promise<void> {
    if (Date.now() < this.#notBefore) return;
    if (!this.credentials.current && !(await this.#join(signal))) return;
    const due = await this.refusals.check(signal);
    if (due.spool && !(await this.#drainSpool(signal))) return;
    if (due.quarantine) await this.#retryQuarantine(signal);
  }

  /** True when the spool is empty now. */
  async #drainSpool(signal?: AbortSignal): Promise<boolean> {
    let rejoined = false;
    for (let entry = this.spool.oldest(); entry && !signal?.aborted; entry = this.spool.oldest()) {
      const body = this.spool.read(entry);
      if (body === null) continue; // dropped by a full spool meanwhile
      const sent = this.refusals.sendable(body, this.spool.pending);
      if (sent === null) return false; // held: no version the control plane accepts can carry it
      const accepts = (v: number) => this.refusals.accepts(v);
      let { answer: a, compactVersion } = await this.encoding.send(sent, accepts, this.credentials.current!, signal);
      if (a.kind === "rejected" && compactVersion !== undefined) {
        // Refused compact. A control plane rolled back to a version before compact batches: the same batch again,
        // written in a version it accepts (and so plain). Otherwise, or when it cannot say (GET /api/v1/wire may
        // be answered by another replica than the POST, mid-rollout; an encoder and decoder may disagree): the
        // same batch plain, at once, judged on its content. Never quarantined for its encoding.
        const still = await this.refusals.stillAccepts(compactVersion, signal);
        const again = still === false ? "in a version it accepts" : "as plain JSON";
        this.log(`compact batch ${entry.seq} refused (${a.message}): sending it again ${again}`);
        if (still === false) continue;
        compactVersion = undefined;
        a = await this.encoding.plain(sent, this.credentials.current!, signal);
      }
      switch (a.kind) {
        case "ok":
          this.spool.remove(entry); // a duplicate is acknowledged too: it is stored already
          this.#setLink("up", `control plane reachable again; sending ${this.spool.pending} spooled batch(es)`);
          this.refusals.released();
          this.onAck(a.value);
          break;
        case "unsupported":
          if (this.refusals.versionRefused(sent, a.versions, a.message)) break; // the same batch again: rewritten, or held
          return false;
        case "rejected":
          this.refusals.quarantineBatch(entry, a.status, a.message, () => this.spool.remove(entry));
          break;
        case "unauthorized":
          if (this.credentials.canJoin && !rejoined) {
            rejoined = true;
            this.log(`credential refused (${a.message}); joining again with the join token`);
            if (await this.#join(signal)) break; // and retry the same batch
            return false;
          }
          this.#setLink(
            "unauthorized",
            `credential refused (${a.message}); ${
              this.credentials.canJoin ? "a fresh credential was refused too" : "no --join-token to join again"
            }: ` +
              `batches stay spooled (${this.spool.pending}, at most ${this.spool.maxBatches}) until a new credential or join token is configured`,
          );
          return false;
        case "retry":
          // Jittered, so a fleet refused together (a control plane at capacity) does not come back together.
          if (a.retryAfterMs !== undefined) {
            this.#notBefore = Date.now() + jitteredRetryMs(Math.min(a.retryAfterMs, MAX_RETRY_AFTER_MS));
          }
          this.#setLink(
            "down",
            `cannot deliver (${a.message}); spooling (${this.spool.pending} pending), retrying every interval`,
          );
          return false;
      }
    }
    return this.spool.pending === 0;
  }

  /** Sends the quarantined batches again, oldest first, until one is still refused or cannot go now. */
  async #retryQuarantine(signal?: AbortSignal): Promise<void> {
    const q = this.refusals.quarantine;
    for (const entry of [...q.entries()]) {
      if (signal?.aborted) return;
      const body = q.read(entry);
      if (body === null) continue;
      const a = await this.encoding.plain(body, this.credentials.current!, signal); // rare: plain is simple
      if (a.kind !== "ok") return;
      q.remove(entry);
      this.log(`quarantined batch ${q.dir}/${entry.name} accepted by the control plane now: removed`);
      this.onAck(a.value);
    }
  }

  async #join(signal?: AbortSignal): Promise<boolean> {
    if (!this.credentials.canJoin) {
      this.#setLink("unauthorized", "no credential and no --join-token: batches stay spooled");
      return false;
    }
    const r = await this.credentials.join(signal);
    if (r.kind === "joined") return true;
    // The node name is taken (409): Credentials said so once and asks again on its own slow backoff.
    if (r.kind === "taken") return false;
    if (r.kind === "refused") {
      this.#setLink(
        "unauthorized",
        `${r.message}; batches stay spooled (${this.spool.pending}, at most ${this.spool.maxBatches})`,
      );
    } else {
      if (r.retryAfterMs !== undefined) this.#notBefore = Date.now() + Math.min(r.retryAfterMs, MAX_RETRY_AFTER_MS);
      this.#setLink("down", `${r.message}; spooling (${this.spool.pending} pending), retrying every interval`);
    }
    return false;
  }

  /** Logs a change of the link's state once, not at every retry. */
  #setLink(state: Link, message: string): void {
    if (state === this.#link) return;
    this.#link = state;
    this.log(message);
  }
}
