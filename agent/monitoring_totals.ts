// SPDX-License-Identifier: Apache-2.0
/**
 * TCP health and kernel drops as the agent's batches counted them, summed since this process started, for
 * /metrics (agent/metrics.ts). Batches carry these as deltas over their interval (control/wire/monitoring.ts), so
 * Prometheus's rate() over these sums is the per-second value the control plane's thresholds judge per node
 * (failedConnectionsPerSec, retransmitsPerSec, dropsPerSec; control/alerts/values.ts), and the alert rules of
 * k8s/alerts/ use them. Counted when a batch is made, like ebpf_k8s_agent_batches_total: a batch merged or held by
 * the spool was still counted once.
 */
import type { Batch } from "../control/wire/batch.ts";

/** The `reason` label of a failed connection, and the TcpRecord counter it sums. */
export const TCP_FAILURES = [
  ["refused", "failedRefused"],
  ["timeout", "failedTimeout"],
  ["other", "failedOther"],
] as const;
export type TcpFailureReason = (typeof TCP_FAILURES)[number][0];

export class MonitoringTotals {
  tcpOpened = 0;
  tcpRetransmits = 0;
  readonly tcpFailed: Record<TcpFailureReason, number> = { refused: 0, timeout: 0, other: 0 };
  dropPackets = 0;

  add(batch: Pick<Batch, "tcp" | "drops">): void {
    for (const r of batch.tcp ?? []) {
      this.tcpOpened += r.opened;
      this.tcpRetransmits += r.retransmits;
      for (const [reason, key] of TCP_FAILURES) this.tcpFailed[reason] += r[key];
    }
    for (const d of batch.drops ?? []) this.dropPackets += d.packets;
  }
}
