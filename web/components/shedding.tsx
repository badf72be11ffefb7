// SPDX-License-Identifier: Apache-2.0
/**
 * The overview's line when this replica refused batches recently
 * (control/queries/ingest-load.ts): how many, since when, the latest. Says
 * too that nothing is lost, which is what an operator wants to know first.
 */
import type { RecentShedding } from "../../control/queries/ingest-load.ts";
import { formatAgo, formatCountOf } from "../format.ts";

export function SheddingLine(props: { shedding: RecentShedding | null; now: number }) {
  const s = props.shedding;
  if (s === null) return null;
  const ago = (t: number) => formatAgo(Math.max(0, (props.now - t) / 1000));
  return (
    <p class="alert-banner shedding-line" role="status">
      <strong>Ingest at capacity:</strong> {formatCountOf(s.refused, "batch", "batches")} refused with 503 since{" "}
      {ago(s.since)} (latest {ago(s.lastAt)}). Agents keep them and send them again; nothing is lost. See{" "}
      <code>ebpf_k8s_ingest_shed_total</code> on /metrics.
    </p>
  );
}
