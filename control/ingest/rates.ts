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
