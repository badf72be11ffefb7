// SPDX-License-Identifier: Apache-2.0
/**
 * Follows the control plane's services (GET /api/v1/lb/state, long-poll)
 * while the lb module runs: asks for the state after the version applied
 * (the first time without one: the state now), programs each answer as it
 * arrives, and asks again at once. Errors (control plane away, credential
 * refused, a state that could not be programmed) are retried with
 * exponential backoff and jitter, logged when the link changes, not at
 * every retry. A state that failed to program is not taken as applied, so
 * the next poll brings it again.
 */
import type { LbState } from "../../../control/wire/services.ts";
import type { Answer } from "../../control_api.ts";

/** One long-poll: the state after `after` (null: none applied yet), null when unchanged. */
export type LbPoll = (after: number | null, signal: AbortSignal) => Promise<Answer<LbState | null>>;

export interface LbSyncOptions {
  /** Whose log lines these are (default "lb"): each module following the services has its own poll. */
  module?: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class LbSync {
  readonly #abort = new AbortController();
  #loop: Promise<void> | null = null;
  #applied: number | null = null;
  #failures = 0;
  #wake: (() => void) | null = null;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #module: string;

  constructor(
    private readonly poll: LbPoll,
    private readonly apply: (state: LbState) => void,
    private readonly log: (msg: string) => void,
    options: LbSyncOptions = {},
  ) {
    this.#minBackoffMs = options.minBackoffMs ?? 500;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#module = options.module ?? "lb";
  }

  /** The version programmed last (null: none yet). */
  get applied(): number | null {
    return this.#applied;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Ends the poll in flight and the loop; resolves once it has ended. */
  stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    return this.#loop ?? Promise.resolve();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let a: Answer<LbState | null>;
      try {
        a = await this.poll(this.#applied, signal);
      } catch (e) {
        a = { kind: "retry", message: (e as Error).message };
      }
      if (signal.aborted) break;
      if (a.kind === "ok") {
        if (a.value === null) {
          this.#recovered();
          continue;
        }
        try {
          this.apply(a.value);
          this.#applied = a.value.version;
          this.#recovered();
          continue;
        } catch (e) {
          a = { kind: "retry", message: `programming version ${a.value.version} failed: ${(e as Error).message}` };
        }
      }
      this.#failures++;
      const what = a.kind === "unauthorized"
        ? `the credential was refused (${a.message}); the next batch joins again if a join token is configured`
        : a.message;
      if (this.#failures === 1) this.log(`${this.#module}: cannot follow the services: ${what}; retrying with backoff`);
      const backoff = Math.min(this.#maxBackoffMs, this.#minBackoffMs * 2 ** (this.#failures - 1)) *
        (0.5 + Math.random() / 2);
      await this.#sleep(
        a.kind === "retry" && a.retryAfterMs !== undefined ? Math.max(a.retryAfterMs, backoff) : backoff,
      );
    }
  }

  #recovered(): void {
    if (this.#failures) {
      this.log(`${this.#module}: following the services again (version ${this.#applied ?? "none"} programmed)`);
    }
    this.#failures = 0;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.min(ms, this.#maxBackoffMs));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }
}
