// SPDX-License-Identifier: Apache-2.0
/**
 * What the agent does with a batch the control plane refuses: it never
 * deletes it (control/wire/version.ts has the rule).
 *
 *   409 unsupported wire version  the answer says which versions it accepts.
 *       The batch is sent rewritten into the newest of them it can be written
 *       as (by leaving out fields added since); if none, it and every batch
 *       after it stay spooled ("held"), and the agent asks GET /api/v1/wire
 *       every interval (a cheap request) to send them the moment the control
 *       plane accepts their version, e.g. after its upgrade. A control plane
 *       too old to answer that is sent the batch again every HELD_RESEND_MS.
 *   400, 413  invalid or too large for this control plane: the batch moves to
 *       the quarantine (spool/quarantine.ts, with the reason) so that the
 *       batches after it go out, and is resent every QUARANTINE_RETRY_MS and
 *       at once when the control plane has restarted (a fix may have been
 *       deployed): acknowledged, it goes.
 *
 * Every refusal is logged, counted (agent metrics) and the quarantine's size
 * is reported in the inventory.
 *
 * What the control plane accepts is also asked before the first batch and
 * again once that answer is VERSIONS_TTL_MS old: a batch is then written in
 * an accepted version before it is sent (no 409 round trip), and may travel
 * compact only when its version is known to be accepted (wire_encoding.ts).
 */
import {
  downgradeBatch,
  reachableVersion,
  UNSUPPORTED_WIRE_VERSION,
  type WireVersions,
} from "../control/wire/version.ts";
import type { Answer, ControlApi } from "./control_api.ts";
import type { SpoolEntry } from "./spool/spool.ts";
import type { Quarantine } from "./spool/quarantine.ts";

/** While batches are held and the control plane cannot say what it accepts: how often the oldest is sent again. */
export const HELD_RESEND_MS = 60_000;
/** How often quarantined batches are sent again (and at once after a control plane restart). */
export const QUARANTINE_RETRY_MS = 10 * 60_000;
/**
 * What the control plane said it accepts (GET /api/v1/wire, a 409) is trusted this long; then it is asked again
 * (it may have been upgraded or rolled back), and if it cannot say, batches are sent as written.
 */
export const VERSIONS_TTL_MS = 5 * 60_000;

export class Refusals {
  #versions?: { value: WireVersions; at: number };
  /** The oldest spooled batch cannot be written in a version the control plane accepts. */
  #held?: { v: number; resendAt: number };
  #quarantineRetryAt = 0;
  /** The control plane's start time, as GET /api/v1/wire last said, and whether it changed since check() looked. */
  #controlStarted?: number;
  #restarted = false;
  /** Refusals since this agent started, by reason. */
  readonly counts = { version: 0, invalid: 0 };

  constructor(
    readonly quarantine: Quarantine,
    private readonly api: ControlApi,
    private readonly log: (msg: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether spooled batches wait for a control plane that accepts their wire version. */
  get held(): boolean {
    return this.#held !== undefined;
  }

  /**
   * Before sending: asks the control plane what it accepts when something
   * waits on that (held batches, quarantined ones) or when its last answer is
   * older than VERSIONS_TTL_MS (or there is none yet). Returns whether the
   * spool may be sent now and whether the quarantine is due for a retry.
   */
  async check(signal?: AbortSignal): Promise<{ spool: boolean; quarantine: boolean }> {
    if (!this.#held && !this.quarantine.count && this.#fresh()) return { spool: true, quarantine: false };
    const a = await this.#ask(signal);
    const restarted = this.#restarted;
    this.#restarted = false;
    const now = this.now();
    let spool = true;
    if (this.#held) {
      const accepted = a.kind === "ok" && reachableVersion(this.#held.v, a.value.accepts) !== undefined;
      const resend = a.kind !== "ok" && now >= this.#held.resendAt;
      spool = accepted || resend;
      if (accepted) this.released(`the control plane now accepts wire version(s) ${a.value.accepts.join(", ")}`);
      if (resend) {
        // it cannot say what it accepts: send the batch as written; its answer (200 or 409) tells
        this.#held.resendAt = now + HELD_RESEND_MS;
        this.#versions = undefined;
      }
    }
    const quarantine = this.quarantine.count > 0 && (restarted || now >= this.#quarantineRetryAt);
    if (quarantine) this.#quarantineRetryAt = now + QUARANTINE_RETRY_MS;
    return { spool, quarantine };
  }

  /** Whether the control plane said, within VERSIONS_TTL_MS, that it accepts batches of version `v`. */
  accepts(v: number): boolean {
    const learned = this.#versions;
    return learned !== undefined && this.#fresh() && learned.value.accepts.includes(v);
  }

  /**
   * Asks the control plane now whether it still accepts version `v` (after it refused a compact batch: it may
   * have been rolled back). Undefined when it cannot say.
   */
  async stillAccepts(v: number, signal?: AbortSignal): Promise<boolean | undefined> {
    const a = await this.#ask(signal);
    return a.kind === "ok" ? a.value.accepts.includes(v) : undefined;
  }

  #fresh(): boolean {
    return this.#versions !== undefined && this.now() - this.#versions.at <= VERSIONS_TTL_MS;
  }

  /** GET /api/v1/wire: remembers the answer, and whether the control plane restarted since it was last asked. */
  async #ask(signal?: AbortSignal): Promise<Answer<WireVersions>> {
    const a = await this.api.wireVersions(signal);
    if (a.kind === "ok") {
      this.#versions = { value: a.value, at: this.now() };
      if (this.#controlStarted !== undefined && a.value.started !== this.#controlStarted) this.#restarted = true;
      this.#controlStarted = a.value.started;
    }
    return a;
  }

  /**
   * The text to send for a spooled batch: as spooled, or rewritten into a
   * version the control plane said it accepts. Null when it cannot be written
   * in any (then it is held, and said so once).
   */
  sendable(body: string, pending: number): string | null {
    const learned = this.#versions;
    if (!learned) return body;
    if (this.now() - learned.at > VERSIONS_TTL_MS && !this.#held) {
      this.#versions = undefined;
      return body;
    }
    let batch: Record<string, unknown>;
    try {
      batch = JSON.parse(body);
    } catch {
      return body; // the control plane judges it (400: quarantine)
    }
    const v = typeof batch.v === "number" ? batch.v : undefined;
    if (v === undefined || learned.value.accepts.includes(v)) return body;
    const target = reachableVersion(v, learned.value.accepts);
    const rewritten = target === undefined ? undefined : downgradeBatch(batch, target);
    if (rewritten) return JSON.stringify(rewritten);
    if (!this.#held) {
      this.#held = { v, resendAt: this.now() + HELD_RESEND_MS };
      this.log(
        `the control plane accepts wire version(s) ${learned.value.accepts.join(", ")}, and batches of version ${v} ` +
          `cannot be written in those: ${pending} batch(es) stay spooled until it accepts version ${v} ` +
          `(asking GET /api/v1/wire every interval)`,
      );
    }
    return null;
  }

  /** A batch was acknowledged: whatever was held goes out now. */
  released(why = "the control plane acknowledged a batch"): void {
    if (!this.#held) return;
    this.#held = undefined;
    this.log(`${why}: sending the held batches`);
  }

  /**
   * A 409 unsupported wire version: remembers what the control plane accepts.
   * True when the same batch should be tried again at once (it can now be
   * rewritten); false when the version sent was one it claims to accept
   * (a control plane contradicting itself: retried later, not in a loop).
   */
  versionRefused(sent: string, versions: WireVersions, message: string): boolean {
    this.counts.version++;
    this.#versions = { value: versions, at: this.now() };
    let v: unknown;
    try {
      v = JSON.parse(sent).v;
    } catch { /* sent as spooled */ }
    if (typeof v === "number" && versions.accepts.includes(v)) {
      this.log(
        `${UNSUPPORTED_WIRE_VERSION} although version ${v} is among those it accepts (${message}); retrying later`,
      );
      return false;
    }
    return true;
  }

  /** 400/413: moves the batch from the spool into the quarantine, with the reason. */
  quarantineBatch(entry: SpoolEntry, status: number, message: string, forget: () => void): void {
    this.counts.invalid++;
    this.#quarantineRetryAt = this.now() + QUARANTINE_RETRY_MS; // not at once: the same control plane would refuse it again
    const path = this.quarantine.admit(entry.file, { status, message });
    forget();
    this.log(
      `batch ${entry.seq} of boot ${entry.bootId} refused (${message}): kept in ${path} with the reason, ` +
        `resent every ${QUARANTINE_RETRY_MS / 60_000} min and after a control plane restart`,
    );
  }
}
