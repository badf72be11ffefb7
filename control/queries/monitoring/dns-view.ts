// SPDX-License-Identifier: Apache-2.0
/**
 * DNS as people read it (the pod and node pages' DNS panels, the service map's DNS edges): the summed rows of
 * dns.ts with the asking pods named, each server address named as the pod or service it is, and every server's
 * counters summarized (control/monitoring/dns-summary.ts).
 *
 * The server is stored as the address the pod asked (DNS records carry no endpoint key), so it is named here, at
 * query time, by the rules the ingest names the ends of flows with (PodIndex.resolve, then PodIndex.service): a
 * current pod of that IP, else the service of that frontend (a kube-dns VIP), else the address itself; and,
 * apart, the service that lists the address as a backend (the socket load balancer translated the VIP to a
 * resolver pod before the packet reached the veth). UDP first, as DNS mostly is; then TCP.
 */
import type { Db } from "../../db/client.ts";
import { podDirectoryOf } from "../../monitoring-store/directory.ts";
import {
  OTHER_ENDPOINT,
  type PodIndex,
  resolveStored,
  type ServiceEndpoint,
  serviceOf,
  type StoredEndpoint,
} from "../../monitoring/attribution.ts";
import {
  addDnsCounts,
  type DnsServerSummary,
  summarizeDnsServer,
  zeroDnsCounts,
} from "../../monitoring/dns-summary.ts";
import { IPPROTO } from "../../monitoring/names.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { type DnsFilter, type DnsNameSum, type DnsServerSum, queryDns } from "./dns.ts";
import { decodeEndpoints } from "./endpoints.ts";

/** What a server address (and port) is. */
export interface DnsServerName {
  /** The pod of that IP, else the service of that frontend, else the address ("world"); "other" for a cap's sum. */
  endpoint: StoredEndpoint;
  /** The service the address and port serve: its frontend, or one of its backends. */
  service?: ServiceEndpoint;
}

export interface DnsServerView {
  /** The asking pod; null for a node's "other" record (or, summed over pods, on the pod page: the pod itself). */
  pod: StoredEndpoint | null;
  server: string;
  port: number;
  name: DnsServerName;
  counts: number[];
  summary: DnsServerSummary;
}

export interface DnsNamesView {
  /** As DnsServerView's: null for a node's "other" record, or summed over the pods of the pod page. */
  pod: StoredEndpoint | null;
  byQueries: DnsNameSum[];
  byNxdomain: DnsNameSum[];
}

export interface DnsView {
  servers: DnsServerView[];
  names: DnsNamesView[];
}

const PROTOCOLS = [IPPROTO.UDP, IPPROTO.TCP];

function nameOf(index: PodIndex, server: string, port: number): DnsServerName {
  let endpoint: StoredEndpoint = OTHER_ENDPOINT;
  for (const proto of PROTOCOLS) {
    endpoint = resolveStored(index, server, port, proto);
    if (endpoint.kind !== "world") break;
  }
  const service = PROTOCOLS.map((proto) => serviceOf(index, server, port, proto)).find((s) => s !== undefined);
  return service === undefined ? { endpoint } : { endpoint, service };
}

/** Each row's server named, its pod decoded, its counters summarized. */
export async function namedDnsServers(db: Db, rows: readonly DnsServerSum[]): Promise<DnsServerView[]> {
  const [index, pods] = await Promise.all([
    podDirectoryOf(db, [...new Set(rows.map((r) => r.server))]),
    decodeEndpoints(db, rows.map((r) => r.pod).filter((p) => p !== "")),
  ]);
  return rows.map((r) => ({
    pod: r.pod === "" ? null : pods.get(r.pod) ?? null,
    server: r.server,
    port: r.port,
    name: nameOf(index, r.server, r.port),
    counts: r.counts,
    summary: summarizeDnsServer(r.counts),
  }));
}

/**
 * The DNS of `filter` over `w`: per (pod, server, port), or with `sumPods` per (server, port) over the filter's
 * pods (one pod's page, whose name may have had several uids), and per pod (uid), or with `sumPods` over them as
 * one, its top `topNames` names by queries and by NXDOMAIN.
 */
export async function queryDnsView(
  db: Db,
  w: Window,
  filter: DnsFilter,
  topNames: number,
  sumPods = false,
): Promise<DnsView> {
  const result = await queryDns(db, w, filter, topNames, sumPods);
  const rows = sumPods ? sumByServer(result.servers) : result.servers;
  const [servers, pods] = await Promise.all([
    namedDnsServers(db, rows),
    decodeEndpoints(db, [...result.topNames.keys()].filter((p) => p !== "")),
  ]);
  return {
    servers,
    names: [...result.topNames].map(([pod, l]) => ({ pod: pod === "" ? null : pods.get(pod) ?? null, ...l })),
  };
}

function sumByServer(rows: readonly DnsServerSum[]): DnsServerSum[] {
  const out = new Map<string, DnsServerSum>();
  for (const r of rows) {
    const key = `${r.server}|${r.port}`;
    const had = out.get(key) ?? { pod: "", server: r.server, port: r.port, counts: zeroDnsCounts() };
    addDnsCounts(had.counts, r.counts);
    out.set(key, had);
  }
  return [...out.values()];
}
