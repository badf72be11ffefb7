// SPDX-License-Identifier: Apache-2.0
/**
 * The live flows' families of /metrics: this replica's followers of
 * GET /api/v1/flows/stream (control/flows-stream/hub.ts). Like the ingest load,
 * the replica's own, not the database's. Names and meanings: docs/prometheus.md.
 */
import type { FlowStreamSnapshot } from "../flows-stream/hub.ts";
import { DROP_REASONS } from "../flows-stream/record.ts";
import type { Family } from "../wire/exposition.ts";

/** A family of one unlabelled sample. */
const single = (name: string, type: Family["type"], help: string, value: number): Family => ({
  name,
  help,
  type,
  samples: [{ value }],
});

export function flowStreamFamilies(s: FlowStreamSnapshot): Family[] {
  return [
    single(
      "ebpf_k8s_flow_stream_followers",
      "gauge",
      "Followers of this replica's live flows (GET /api/v1/flows/stream, the /flows page's live mode) now",
      s.followers,
    ),
    single(
      "ebpf_k8s_flow_stream_followers_limit",
      "gauge",
      "Followers this replica takes at once (EBPF_K8S_STREAM_MAX_FOLLOWERS)",
      s.maxFollowers,
    ),
    single(
      "ebpf_k8s_flow_stream_queued",
      "gauge",
      "Flow records waiting for followers that read slower than records come (each follower at most " +
        "EBPF_K8S_STREAM_MAX_QUEUED)",
      s.queued,
    ),
    single(
      "ebpf_k8s_flow_stream_published_total",
      "counter",
      "Flow rows of batches this replica committed since it started: the sequence numbers streamed records carry",
      s.published,
    ),
    single(
      "ebpf_k8s_flow_stream_records_total",
      "counter",
      "Flow records written to followers' connections since this replica started (a record per follower)",
      s.streamed,
    ),
    single(
      "ebpf_k8s_flow_stream_refused_total",
      "counter",
      "Followers refused with 503 and Retry-After because this replica had EBPF_K8S_STREAM_MAX_FOLLOWERS",
      s.refused,
    ),
    {
      name: "ebpf_k8s_flow_stream_dropped_total",
      help: "Followers dropped with a final line, by reason: slow_reader (EBPF_K8S_STREAM_MAX_QUEUED records " +
        "waited), shutdown (the replica stopped)",
      type: "counter",
      samples: DROP_REASONS.map((reason) => ({ labels: { reason }, value: s.dropped[reason] })),
    },
  ];
}
