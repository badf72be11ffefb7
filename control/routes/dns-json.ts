// SPDX-License-Identifier: Apache-2.0
/** /api/v1/dns's JSON (control/routes/monitoring.ts) from the summed rows of control/queries/monitoring/dns.ts. */
import type { StoredEndpoint } from "../monitoring/attribution.ts";
import { summarizeDnsServer } from "../monitoring/dns-summary.ts";
import type { DnsNameSum, DnsResult, DnsServerSum } from "../queries/monitoring/dns.ts";
import { endpointJson } from "./monitoring-json.ts";

/** The pod of a stored key: its Endpoint, or null for "" (the nodes' "other" record). */
type PodOf = (key: string) => StoredEndpoint | undefined;

function serverJson(s: DnsServerSum, podOf: PodOf) {
  const { queries, responses, truncated, timeouts, tcp, latency } = summarizeDnsServer(s.counts);
  return {
    pod: podJson(s.pod, podOf),
    server: s.server,
    port: s.port,
    queries,
    responses,
    truncated,
    timeouts,
    tcp,
    latency,
  };
}

function podJson(key: string, podOf: PodOf) {
  const e = key === "" ? undefined : podOf(key);
  return e === undefined ? null : endpointJson(e);
}

const nameJson = (n: DnsNameSum) => ({ name: n.name, queries: n.queries, nxdomain: n.nxdomain });

export function dnsJson(r: DnsResult, podOf: PodOf) {
  return {
    servers: r.servers.map((s) => serverJson(s, podOf)),
    names: [...r.topNames].map(([pod, lists]) => ({
      pod: podJson(pod, podOf),
      byQueries: lists.byQueries.map(nameJson),
      byNxdomain: lists.byNxdomain.map(nameJson),
    })),
  };
}
