// SPDX-License-Identifier: Apache-2.0
/**
 * Every label our /metrics series may carry, control plane's and agent's:
 * the bound on cardinality a Prometheus operator can rely on. Each is
 * bounded by something the cluster has few of (nodes, interfaces, services,
 * replicas), never by traffic (no addresses, no ports of clients). The tests
 * of both /metrics (control/metrics/control-metrics.test.ts) and of
 * Prometheus scraping both (scripts/deploy/prometheus.test.ts) hold every
 * series to this list; a new label is added here, with its bound.
 */
export const METRIC_LABELS = [
  "node", // a node of the cluster
  "interface", // a node's interfaces
  "status", // a node's registry status
  "metric", // an alert threshold's metric
  "source", // where a service comes from (api, kubernetes)
  "namespace", // a service's namespace
  "service", // a service
  "port_name", // a service's port
  "state", // a backend's state
  "reason", // a fixed set per series (shed reasons, refusal reasons, a TCP connection's failure)
  "le", // histogram buckets
  "replica", // a control-plane replica (the lease holder)
  "frontend", // a gateway frontend of a service: at most MAX_FRONTEND_SERIES per service, the rest "other"
  "module", // an agent module
  "version", // the agent's version
  "encoding", // how an agent's batches travel: compact or json
  "qtype", // a DNS query type: the fixed DNS_QTYPES of control/wire/dns.ts
  "rcode", // a DNS response code: the fixed DNS_RCODES of control/wire/dns.ts
  "receiver", // an alert notification receiver, as the admin named it (control/notify/)
  "outcome", // a notification's outcome: delivered, failed, gave_up
] as const;

/** What Prometheus adds to every series it scrapes. */
export const PROMETHEUS_LABELS = ["__name__", "instance", "job"] as const;
