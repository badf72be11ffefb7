// SPDX-License-Identifier: Apache-2.0
/**
 * How a client waits after a Retry-After (429, or 503 from a control plane
 * at capacity): at least what was asked, plus up to half as much again at
 * random. Without the random part, every agent refused in the same second
 * would come back in the same second and be refused together again.
 * The agent (agent/delivery.ts) and the benchmark's simulated agents
 * (control/bench/) wait the same way.
 */

/** The random extra, as a share of the Retry-After. */
export const RETRY_JITTER = 0.5;

/** Milliseconds to wait after a Retry-After of `retryAfterMs`; `random` in [0, 1). */
export function jitteredRetryMs(retryAfterMs: number, random: () => number = Math.random): number {
  return retryAfterMs + Math.floor(random() * retryAfterMs * RETRY_JITTER);
}
