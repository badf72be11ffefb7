// SPDX-License-Identifier: Apache-2.0
/**
 * Ready / Stale / Lost, by how long ago the control plane last accepted a
 * batch from a node (its own clock, so an agent's clock skew does not matter).
 */
export type NodeStatus = "Ready" | "Stale" | "Lost";

export interface StatusThresholds {
  /** Stale from this age of the last batch on (EBPF_K8S_STALE_AFTER). */
  staleAfterMs: number;
  /** Lost from this age on (EBPF_K8S_LOST_AFTER). */
  lostAfterMs: number;
}

export function nodeStatus(lastSeen: number, now: number, thresholds: StatusThresholds): NodeStatus {
  const age = now - lastSeen;
  if (age >= thresholds.lostAfterMs) return "Lost";
  if (age >= thresholds.staleAfterMs) return "Stale";
  return "Ready";
}
