// SPDX-License-Identifier: Apache-2.0
/**
 * Interface reports of one node with every case the deltas must get right,
 * shared by the rollup, series API and page tests. A sample's counters all
 * follow from one number n (rxBytes n, rxPackets n/10, txBytes 2n,
 * txPackets n/5, drops n/100), so every expected sum follows from the
 * growth of n:
 *
 *   boot A  H+10 s  eth0 (ifindex 2) n=1000                 first report of a boot: +1000 (covers its 10 s interval)
 *           H+20 s  eth0 n=3000, veth1 (ifindex 5) n=100    +2000; veth1 new: +100
 *           H+30 s  eth0 recreated (ifindex 3) n=500, veth1 n=400      restarted: +500; +300
 *   boot B  H+70 s  eth0 n=7000                             a boot never seen: +7000
 *           H+80 s  eth0 n=9000                             +2000
 *   boot A  H+40 s  eth0 n=800, veth1 n=400  (LATE: arrives after boot B's)   +300 over A's H+30 s; +0
 *
 * Minute H: eth0 3800 over 40 s, veth1 400 over 30 s, node 4200 over 40 s;
 * minute H+1: eth0 (and node) 9000 over 20 s; hour H: eth0 12800, veth1 400, node 13200 over 60 s.
 */
import { batch, T0 } from "../test-support.ts";
import type { Batch, InterfaceCounters } from "../wire/batch.ts";

const HOUR = 3_600_000;
/** The hour the scenario starts in. */
export const H = Math.floor(T0 / HOUR) * HOUR;

export const SCENARIO_BOOT_A = "a0000000-0000-4000-8000-00000000000a";
export const SCENARIO_BOOT_B = "b0000000-0000-4000-8000-00000000000b";

/** A sample whose counters follow from n (see above). */
export function sample(ifname: string, ifindex: number, n: number): InterfaceCounters {
  return { ifname, ifindex, rxBytes: n, rxPackets: n / 10, txBytes: 2 * n, txPackets: n / 5, drops: n / 100 };
}

/** The growth of n as the counters it makes, for expectations. */
export function grown(n: number) {
  return { rxBytes: n, rxPackets: n / 10, txBytes: 2 * n, txPackets: n / 5, drops: n / 100 };
}

const at = (bootId: string, seq: number, s: number, interfaces: InterfaceCounters[]): Batch =>
  batch({ node: "node-a", bootId, seq, ts: H + s * 1000, interval: 10, interfaces });

/** In the order they are stored; the late one last. */
export const ON_TIME: Batch[] = [
  at(SCENARIO_BOOT_A, 1, 10, [sample("eth0", 2, 1000)]),
  at(SCENARIO_BOOT_A, 2, 20, [sample("eth0", 2, 3000), sample("veth1", 5, 100)]),
  at(SCENARIO_BOOT_A, 3, 30, [sample("eth0", 3, 500), sample("veth1", 5, 400)]),
  at(SCENARIO_BOOT_B, 1, 70, [sample("eth0", 3, 7000)]),
  at(SCENARIO_BOOT_B, 2, 80, [sample("eth0", 3, 9000)]),
];
export const LATE: Batch = at(SCENARIO_BOOT_A, 4, 40, [sample("eth0", 3, 800), sample("veth1", 5, 400)]);
