// SPDX-License-Identifier: Apache-2.0
/**
 * The ingest load families of /metrics: this process's admission state
 * (control/ingest/admission.ts). Unlike the rest of /metrics these are not
 * read from the database: they are the replica's own, which is what a
 * scrape per replica (a pod each) wants. Names and meanings: docs/prometheus.md.
 */
import { type AdmissionSnapshot, QUEUE_WAIT_BUCKETS, SHED_REASONS } from "../ingest/admission.ts";
import type { StoreCommits } from "../ingest/store.ts";
import type { Family } from "../wire/exposition.ts";

export function ingestLoadFamilies(s: AdmissionSnapshot, stored: StoreCommits): Family[] {
  return [
    {
      name: "ebpf_k8s_ingest_in_flight",
      help: "Batches holding a slot of this replica now: being read, parsed, or stored",
      type: "gauge",
      samples: [{ value: s.inFlight }],
    },
    {
      name: "ebpf_k8s_ingest_in_flight_limit",
      help: "Slots of this replica (EBPF_K8S_INGEST_MAX_IN_FLIGHT)",
      type: "gauge",
      samples: [{ value: s.settings.maxInFlight }],
    },
    {
      name: "ebpf_k8s_ingest_storing",
      help: "Batches read and valid that handed their slot on and wait to share a commit now " +
        "(at most EBPF_K8S_INGEST_MAX_STORING)",
      type: "gauge",
      samples: [{ value: s.storing }],
    },
    {
      name: "ebpf_k8s_ingest_queued",
      help: "Batches waiting for a slot now (at most EBPF_K8S_INGEST_MAX_QUEUED)",
      type: "gauge",
      samples: [{ value: s.queued }],
    },
    {
      name: "ebpf_k8s_ingest_admitted_total",
      help: "Batches given a slot by this replica since it started",
      type: "counter",
      samples: [{ value: s.admitted }],
    },
    {
      name: "ebpf_k8s_ingest_shed_total",
      help: "Batches refused with 503 and Retry-After (the agent keeps and resends them), by reason: " +
        "queue_full (no slot nor queue place), queue_timeout (no slot within EBPF_K8S_INGEST_QUEUE_TIMEOUT_MS)",
      type: "counter",
      samples: SHED_REASONS.map((reason) => ({ labels: { reason }, value: s.shed[reason] })),
    },
    {
      name: "ebpf_k8s_ingest_admitted_batches_per_second",
      help: "Batches given a slot per second, over the last few seconds: the pace refused batches are asked back at",
      type: "gauge",
      samples: [{ value: s.admitRate }],
    },
    {
      name: "ebpf_k8s_ingest_retry_after_seconds",
      help: "The Retry-After a batch refused now would get: EBPF_K8S_INGEST_RETRY_AFTER, more while refusals run " +
        "(each takes the next retry slot), at most EBPF_K8S_INGEST_MAX_RETRY_AFTER",
      type: "gauge",
      samples: [{ value: s.retryAfterSeconds }],
    },
    {
      name: "ebpf_k8s_ingest_queue_wait_seconds",
      help: "Time a batch waited for a slot (0 when one was free), or until refused for waiting too long",
      type: "histogram",
      samples: [
        ...QUEUE_WAIT_BUCKETS.map((le, i) => ({
          suffix: "_bucket" as const,
          labels: { le: String(le) },
          value: s.queueWait.buckets[i]!,
        })),
        { suffix: "_bucket", labels: { le: "+Inf" }, value: s.queueWait.count },
        { suffix: "_sum", value: s.queueWait.sum },
        { suffix: "_count", value: s.queueWait.count },
      ],
    },
    {
      name: "ebpf_k8s_ingest_commits_total",
      help: "Commits of stored batches by this replica since it started (batches that wait together share one)",
      type: "counter",
      samples: [{ value: stored.commits }],
    },
    {
      name: "ebpf_k8s_ingest_committed_batches_total",
      help: "Batches those commits stored; divided by ebpf_k8s_ingest_commits_total: batches per commit",
      type: "counter",
      samples: [{ value: stored.batches }],
    },
  ];
}
