// SPDX-License-Identifier: Apache-2.0
/**
 * Per-interface counters (struct if_counters) as bpf/include/if_counters.bpf.h
 * keeps them: a per-CPU array indexed by ifindex, and a per-CPU hash for the
 * rare ifindex beyond it. Used by ifstats (interfaces) and flows (pod veths).
 */
import type { BpfObject } from "../../libbpf/mod.ts";
import { u32Key } from "../../libbpf/mod.ts";
import { IF_COUNTERS_SIZE, type IfCounters, IFSTATS_ARRAY_SLOTS, sumPerCpu, ZERO_COUNTERS } from "../ifstats/layout.ts";

function mapFor(obj: BpfObject, ifindex: number) {
  return obj.map(ifindex < IFSTATS_ARRAY_SLOTS ? "ifstats" : "ifstats_big");
}

/** Counters of an ifindex summed over CPUs (zero when it has none). */
export function readIfCounters(obj: BpfObject, ifindex: number): IfCounters {
  const slices = mapFor(obj, ifindex).lookupPerCpu(u32Key(ifindex));
  return slices ? sumPerCpu(slices) : ZERO_COUNTERS;
}

/** Starts an ifindex from zero (one struct's size goes to every CPU's copy). */
export function zeroIfCounters(obj: BpfObject, ifindex: number): void {
  mapFor(obj, ifindex).update(u32Key(ifindex), new Uint8Array(IF_COUNTERS_SIZE));
}

/** Frees an ifindex's hash entry when its device is no longer watched (the array's slots need no freeing). */
export function releaseIfCounters(obj: BpfObject, ifindex: number): void {
  if (ifindex >= IFSTATS_ARRAY_SLOTS) obj.map("ifstats_big").delete(u32Key(ifindex));
}
