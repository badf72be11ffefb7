// SPDX-License-Identifier: Apache-2.0
/**
 * The Retry-After of a refused batch: spread so that the refused come back
 * about as fast as the control plane admits batches, not all at once.
 *
 * Why: a fixed Retry-After turns overload into a storm. Measured with the
 * ingest bench at 3× capacity (3,000 simulated nodes, 2 s fixed): 23,438
 * refusals in 40 s, 586 a second against 90 admissions, every refused node
 * back within 3 s to be refused again; answering the refusals took the event
 * loop the admitted batches needed (accepted p99 436 ms, refusals up to
 * 2.9 s). Here each refusal takes the next free retry slot: slots are
 * 1 / (admission rate) apart, never sooner than the base Retry-After and
 * never later than the cap, so the retries arrive at about the rate they can
 * be taken. The agent adds its own jitter (control/wire/retry.ts) on top.
 * When the slots reach the cap (more refused than the cap's worth of
 * admissions), every refusal gets the cap, and that jitter, up to half as
 * long again, spreads their return over the following cap / 2 seconds.
 *
 * The admission rate is measured over the last RATE_WINDOW_S seconds of this
 * process's admissions; below one a second it counts as one (a control plane
 * that admits nothing for a while spaces retries a second apart, and the
 * base Retry-After still applies when nothing is waiting).
 */

/** Seconds of admissions the rate is measured over, in one-second buckets. */
export const RATE_WINDOW_S = 5;

export class RetrySchedule {
  /** The next free retry slot, ms on the caller's clock. */
  #nextSlot = 0;
  /** Admissions per second over the window: RATE_WINDOW_S buckets, the one for second `#second` last. */
  readonly #buckets: number[] = new Array(RATE_WINDOW_S).fill(0);
  #second = 0;

  /**
   * @param baseSeconds the shortest Retry-After (and the only one when refusals are rare)
   * @param maxSeconds the longest; when the slots run further out, every refusal gets this
   */
  constructor(readonly baseSeconds: number, readonly maxSeconds: number) {}

  /** Counts one admission at `nowMs`. */
  admitted(nowMs: number): void {
    this.#advance(nowMs);
    this.#buckets[this.#second % RATE_WINDOW_S]!++;
  }

  /** Admissions per second over the window ending at `nowMs`. */
  rate(nowMs: number): number {
    this.#advance(nowMs);
    return this.#buckets.reduce((a, b) => a + b, 0) / RATE_WINDOW_S;
  }

  /** The Retry-After (whole seconds) for a batch refused at `nowMs`; takes its slot. */
  refused(nowMs: number): number {
    const spacingMs = 1000 / Math.max(1, this.rate(nowMs));
    const slot = Math.max(this.#nextSlot, nowMs + this.baseSeconds * 1000);
    this.#nextSlot = Math.min(slot + spacingMs, nowMs + this.maxSeconds * 1000);
    return Math.min(this.maxSeconds, Math.max(this.baseSeconds, Math.ceil((slot - nowMs) / 1000)));
  }

  /** The Retry-After a refusal at `nowMs` would get, without taking a slot. */
  peek(nowMs: number): number {
    const slot = Math.max(this.#nextSlot, nowMs + this.baseSeconds * 1000);
    return Math.min(this.maxSeconds, Math.ceil((slot - nowMs) / 1000));
  }

  /** Moves the window to the second of `nowMs`, emptying the buckets of seconds that passed. */
  #advance(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second <= this.#second) return;
    const passed = Math.min(RATE_WINDOW_S, second - this.#second);
    for (let i = 1; i <= passed; i++) this.#buckets[(this.#second + i) % RATE_WINDOW_S] = 0;
    this.#second = second;
  }
}
