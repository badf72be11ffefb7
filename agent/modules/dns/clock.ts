// SPDX-License-Identifier: Apache-2.0
/**
 * The kernel's CLOCK_MONOTONIC in ns, the clock bpf_ktime_get_ns() reads:
 * what a pending query's sent_ns is compared with to call it timed out.
 * Date.now() would not do (it jumps with the wall clock), nor
 * performance.now() (it starts with the process).
 */
import { libc } from "../../libbpf/ffi.ts";

const CLOCK_MONOTONIC = 1;
const ts = new BigInt64Array(2); // struct timespec on 64-bit Linux: tv_sec, tv_nsec

/** CLOCK_MONOTONIC now, in ns (a bigint, like the u64 sent_ns it is compared with). */
export function monotonicNs(): bigint {
  if (libc().clock_gettime(CLOCK_MONOTONIC, ts) !== 0) throw new Error("clock_gettime(CLOCK_MONOTONIC) failed");
  return ts[0] * 1_000_000_000n + ts[1];
}
