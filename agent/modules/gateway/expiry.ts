// SPDX-License-Identifier: Apache-2.0
/**
 * Flow lifetimes of the gateway, like a conntrack's (gw_expire in
 * bpf/gateway.bpf.c): packets stamp their flow with gw_config.clock_ms and
 * record TCP FIN/RST per direction; every sweep interval the agent runs
 * gw_expire once through BPF_PROG_TEST_RUN (it is never attached), which
 * advances that clock and, in the kernel, ends each flow idle longer than
 * its timeout: both table entries, its SNAT port (gw_rev is the record of
 * ports in use) and its copy in the per-CPU flow cache. Timeouts are
 * therefore kept to within a sweep interval (and the flow cache's refresh,
 * under a second): set them well above it.
 *
 * The clock counts time swept, not time passed: one run advances it by the
 * time since the last one, at most PAUSE_SWEEPS sweep intervals. While no
 * agent runs (a restart, a crash, a stopped process) packets keep stamping
 * the clock that stopped, so a flow that talked all through the pause looks
 * idle for all of it; the successor's first sweep would end every live flow
 * whose timeout is shorter than the pause, and free its SNAT port. Counted
 * as at most PAUSE_SWEEPS intervals, a pause delays the end of an idle flow
 * by its length instead (an adopting agent keeps the clock, see loadGateway).
 */
import type { BpfObject } from "../../libbpf/mod.ts";
import { type FlowTimeouts, MAX_FLOW_TIMEOUT_S } from "./timeouts.ts";
export { checkFlowEntries, MAX_FLOW_ENTRIES } from "./timeouts.ts";

export { DEFAULT_FLOW_TIMEOUTS, type FlowTimeouts, MAX_FLOW_TIMEOUT_S, MIN_FLOW_TIMEOUT_S } from "./timeouts.ts";

export const DEFAULT_SWEEP_MS = 1000;
/** A gap between two sweeps counts as this many sweep intervals at most: a late timer counts whole, a pause not. */
export const PAUSE_SWEEPS = 3;

/** gw_config.clock_step_max_ms for a sweep interval. */
export function clockStepMaxMs(sweepMs: number): number {
  return PAUSE_SWEEPS * sweepMs;
}
export const EXPIRE_PROGRAM = "gw_expire";

/** Throws, naming the timeout, unless each is within (0, MAX_FLOW_TIMEOUT_S] and longer than the sweep interval. */
export function checkTimeouts(t: FlowTimeouts, sweepMs: number): void {
  if (!(Number.isFinite(sweepMs) && sweepMs >= 10 && sweepMs <= 60_000)) {
    throw new Error(`gateway: sweep interval ${sweepMs} ms: must be within 10-60000 ms`);
  }
  for (const [name, s] of Object.entries(t)) {
    if (!(Number.isFinite(s) && s * 1000 > sweepMs && s <= MAX_FLOW_TIMEOUT_S)) {
      throw new Error(
        `gateway: flow timeout ${name} ${s} s: must be longer than the sweep interval (${sweepMs} ms) and at most ${MAX_FLOW_TIMEOUT_S} s`,
      );
    }
  }
}

/** test_run needs a frame of at least an Ethernet header; gw_expire never reads it. */
const SWEEP_FRAME = new Uint8Array(14);

/** Runs gw_expire once: advances the flows' clock and ends the idle ones; returns how many flows it ended. */
export function sweepFlows(obj: BpfObject): number {
  return obj.program(EXPIRE_PROGRAM).testRun({ data: SWEEP_FRAME }).retval >>> 0;
}
