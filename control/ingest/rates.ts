// SPDX-License-Identifier: Apache-2.0
/**
 * Rates from two cumulative samples of the same interface and boot:
 * (cur - prev) / seconds between the agent's reads.
 */
import type { InterfaceCounters } from "../wire/batch.ts";

export interface Rates {
  rxPacketsPerSec: number | null;
  rxBytesPerSec: number | null;
  txPacketsPerSec: number | null;
  txBytesPerSec: number | null;
}

/** A sample as far as rates care: counters plus the agent time they were read. */
export type TimedCounters = Omit<InterfaceCounters, "ifname"> & { ts: number };

export const NO_RATES: Rates = {
  rxPacketsPerSec: null,
  rxBytesPerSec: null,
  txPacketsPerSec: null,
  txBytesPerSec: null,
};

/**
 * `prev` must come from the same boot (the caller knows). Even then no rate is
 * given when it would be meaningless: time did not advance (agent clock
 * stepped back), the ifindex changed (the interface was deleted and recreated
 * under the same name, so its counters restarted), or a counter went down.
 */
export function ratesBetween(prev: TimedCounters | undefined, cur: TimedCounters): Rates {
  if (prev === undefined || cur.ts <= prev.ts || cur.ifindex !== prev.ifindex) return NO_RATES;
  if (
    cur.rxPackets < prev.rxPackets ||
    cur.rxBytes < prev.rxBytes ||
    cur.txPackets < prev.txPackets ||
    cur.txBytes < prev.txBytes
  ) {
    return NO_RATES;
  }
  const seconds = (cur.ts - prev.ts) / 1000;
  return {
    rxPacketsPerSec: (cur.rxPackets - prev.rxPackets) / seconds,
    rxBytesPerSec: (cur.rxBytes - prev.rxBytes) / seconds,
    txPacketsPerSec: (cur.txPackets - prev.txPackets) / seconds,
    txBytesPerSec: (cur.txBytes - prev.txBytes) / seconds,
  };
}

/** How much each counter grew since the previous sample, and the ms that covers: what rollups sum. */
export interface Deltas {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
  intervalMs: number;
}

export const NO_DELTAS: Deltas = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0, intervalMs: 0 };

/**
 * `prev` must be the previous sample of the same interface name and boot
 * (the caller knows), undefined when there is none. Counters count from
 * zero from the moment they were attached, so without a previous sample
 * (the boot's first report, or an interface new in it) or when the
 * ifindex changed (the interface was recreated), the counters themselves
 * are the growth; so is a counter that went down (it restarted; the others
 * keep their growth): nothing is lost, nothing is negative. The time
 * covered is the agent's clock since `prev` (never negative, should it step
 * back), or the batch's interval when there is no `prev`.
 */
export function deltasBetween(prev: TimedCounters | undefined, cur: TimedCounters, intervalMs: number): Deltas {
  const fresh = prev === undefined || cur.ifindex !== prev.ifindex;
  const grown = (
    key: Exclude<keyof Deltas, "intervalMs">,
  ) => (fresh || cur[key] < prev[key] ? cur[key] : cur[key] - prev[key]);
  return {
    rxPackets: grown("rxPackets"),
    rxBytes: grown("rxBytes"),
    txPackets: grown("txPackets"),
    txBytes: grown("txBytes"),
    drops: grown("drops"),
    intervalMs: prev === undefined ? intervalMs : Math.max(0, cur.ts - prev.ts),
  };
}
