// SPDX-License-Identifier: Apache-2.0
/**
 * The lease of the once-only work on /metrics (control/lease/): which
 * replica holds it, read from the database (every replica answers the
 * same), and the answering replica's own side. The `replica` label is a
 * replica's id (its host name, or pod name, and a suffix per start):
 * bounded by the replicas and their restarts, never by traffic.
 */
import type { LeaseView } from "../lease/status.ts";
import type { Family } from "../wire/exposition.ts";

export function leaseFamilies(view: LeaseView): Family[] {
  const self = view.self;
  const mine = (value: number) => (self ? [{ labels: { replica: self.replica }, value }] : []);
  return [
    {
      name: "ebpf_k8s_lease_holder_info",
      help:
        "1 for the replica holding the lease of the once-only work (Kubernetes sync, rollups and retention, alerts); none while nobody holds it",
      type: "gauge",
      samples: view.holder === null ? [] : [{ labels: { replica: view.holder }, value: 1 }],
    },
    {
      name: "ebpf_k8s_lease_held",
      help: "1 when the answering replica holds the lease and runs the once-only work, else 0",
      type: "gauge",
      samples: mine(self?.held ? 1 : 0),
    },
    {
      name: "ebpf_k8s_lease_acquisitions_total",
      help: "Times the answering replica took the lease (renewals not counted)",
      type: "counter",
      samples: mine(self?.acquisitions ?? 0),
    },
    {
      name: "ebpf_k8s_lease_renewal_failures_total",
      help: "Attempts of the answering replica to take or renew the lease that failed with a database error",
      type: "counter",
      samples: mine(self?.failures ?? 0),
    },
  ];
}
