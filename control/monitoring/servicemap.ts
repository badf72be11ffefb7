// SPDX-License-Identifier: Apache-2.0
/**
 * The service map: who talks to whom, with services in the middle.
 *
 * A flow or connection that names a service (FlowRow.service, TcpRow.service:
 * addressed to its VIP, or to one of its backends) makes two edges, client →
 * service and service → backend, each with the same bytes and connections;
 * one addressed to the VIP itself, whose backend the records cannot see,
 * makes only the first. Anything else is one edge, client → server. Edges
 * carry the bytes of both directions (flow rows), connections opened and
 * failed and the smoothed RTT (TCP rows, each connection once, see
 * connectionView).
 *
 * DNS is drawn apart (`dns`): a pod's queries to a DNS server (its summed
 * DNS counters, control/queries/monitoring/dns-view.ts) make an edge pod →
 * server carrying queries, answers by rcode, errors (answers other than
 * NOERROR), error rate, timeouts and the p95 latency, through the server's
 * service like a connection (pod → kube-dns → resolver pod) when the server
 * address is a service's backend; every node DNS edges lead to carries the
 * totals of what reached it (MapNode.dns).
 *
 * Addresses outside the pods are grouped when there are many (groupWorld):
 * by subnet, then as one "world" node, so a map of a public service stays
 * readable; the group's label says how many addresses it holds.
 */
import type { DnsRcode } from "../wire/dns.ts";
import { endpointKey, endpointLabel, type ServiceEndpoint, type StoredEndpoint } from "./attribution.ts";
import { addDnsCounts, summarizeDnsServer, zeroDnsCounts } from "./dns-summary.ts";
import type { FlowRow } from "./flows.ts";
import { avgSrttUs, connectionView, failures, type TcpRow } from "./tcp.ts";

export interface MapNode {
  id: string;
  label: string;
  kind: StoredEndpoint["kind"];
  /** Pods and services. */
  namespace?: string;
  /** A node DNS edges lead to (a DNS server, or its service): what reached it. */
  dns?: DnsTotals;
}

/** A DNS edge's or server's numbers (control/monitoring/dns-summary.ts). */
export interface DnsTotals {
  queries: number;
  /** Answers by rcode. */
  responses: Record<DnsRcode, number>;
  /** Answers other than NOERROR. */
  errors: number;
  /** errors / answers; null without answers. */
  errorRate: number | null;
  /** Queries never answered (in neither errors nor the rate). */
  timeouts: number;
  /** Answers matched to their query (timed): with p95Us null, 0 says none, more says slower than the last bound. */
  answered: number;
  /** Upper bound of the latency bucket holding the 95th percentile; null: above the last bound, or no answers. */
  p95Us: number | null;
}

export interface MapDnsEdge extends DnsTotals {
  source: string;
  target: string;
}

/** One asking pod's summed DNS with one server (control/queries/monitoring/dns-view.ts). */
export interface DnsMapInput {
  /** The asking pod; "other" for a node's summed record. */
  client: StoredEndpoint;
  /** The server as named: pod, service (VIP), address, or "other". */
  server: StoredEndpoint;
  /** The service the server's address and port serve, when known. */
  service?: ServiceEndpoint;
  /** In DNS_SERVER_COUNTERS' order. */
  counts: readonly number[];
}

export interface MapEdge {
  source: string;
  target: string;
  bytes: number;
  connections: number;
  failures: number;
  /** Mean smoothed RTT of the edge's connections, µs; null without samples. */
  avgSrttUs: number | null;
}

export interface ServiceMap {
  nodes: MapNode[];
  edges: MapEdge[];
  /** DNS edges, sorted by (source, target); empty when DNS was not asked for or not seen. */
  dns: MapDnsEdge[];
}

export interface ServiceMapFilter {
  /** Only edges with a pod or service of this namespace at one end. */
  namespace?: string;
  /** Only the edges of this service: its clients and its backends. */
  service?: Pick<ServiceEndpoint, "namespace" | "name">;
  /** Addresses outside the pods drawn one by one up to this many (default MAX_WORLD_NODES); beyond, grouped. */
  maxWorldNodes?: number;
}

/** Addresses outside the pods drawn one by one up to this many; beyond, grouped (groupWorld). */
export const MAX_WORLD_NODES = 20;

interface Acc extends Omit<MapEdge, "avgSrttUs"> {
  srttUsSum: number;
  srttSamples: number;
}
const ZERO = { bytes: 0, connections: 0, failures: 0, srttUsSum: 0, srttSamples: 0 };

interface DnsAcc {
  source: string;
  target: string;
  counts: number[];
}

function mapNode(e: StoredEndpoint): MapNode {
  const node: MapNode = { id: endpointKey(e), label: endpointLabel(e), kind: e.kind };
  if ((e.kind === "pod" && e.namespace !== "") || e.kind === "service") node.namespace = e.namespace;
  return node;
}

/** Edges sorted by (source, target); nodes by id. */
export function serviceMap(
  flows: readonly FlowRow[],
  tcp: readonly TcpRow[],
  filter: ServiceMapFilter = {},
  dns: readonly DnsMapInput[] = [],
): ServiceMap {
  const nodes = new Map<string, MapNode>();
  const edges = new Map<string, Acc>();
  const dnsEdges = new Map<string, DnsAcc>();
  /** The accumulator of client → server in `into`, made by `zero` when new; both ends become nodes. */
  const edgeIn =
    <A>(into: Map<string, A>, zero: (source: string, target: string) => A) =>
    (client: StoredEndpoint, server: StoredEndpoint): A => {
      for (const e of [client, server]) nodes.set(endpointKey(e), mapNode(e));
      const source = endpointKey(client), target = endpointKey(server);
      const id = `${source}→${target}`;
      let had = into.get(id);
      if (had === undefined) into.set(id, had = zero(source, target));
      return had;
    };
  const edge = edgeIn(edges, (source, target) => ({ ...ZERO, source, target }));
  const dnsEdge = edgeIn(dnsEdges, (source, target) => ({ source, target, counts: zeroDnsCounts() }));
  for (const r of flows) {
    for (const [c, s] of path(r.client, r.server, r.service)) edge(c, s).bytes += r.fwdBytes + r.revBytes;
  }
  for (const r of connectionView(tcp)) {
    const [client, server] = r.role === "server" ? [r.remote, r.local] : [r.local, r.remote];
    for (const [c, s] of path(client, server, r.service)) {
      const e = edge(c, s);
      e.connections += r.opened;
      e.failures += failures(r);
      e.srttUsSum += r.srttUsSum;
      e.srttSamples += r.srttSamples;
    }
  }
  for (const d of dns) {
    for (const [c, s] of path(d.client, d.server, d.service)) addDnsCounts(dnsEdge(c, s).counts, d.counts);
  }
  const shown = filterEdges(nodes, edges, dnsEdges, filter);
  const grouped = groupWorld(shown, filter.maxWorldNodes ?? MAX_WORLD_NODES);
  return finish(grouped);
}

/** The hops a client → server exchange adds to: through its service when it names one (and is not it). */
function path(
  client: StoredEndpoint,
  server: StoredEndpoint,
  service: ServiceEndpoint | undefined,
): [StoredEndpoint, StoredEndpoint][] {
  if (service === undefined) return [[client, server]];
  return endpointKey(service) === endpointKey(server) ? [[client, service]] : [[client, service], [service, server]];
}

interface Drawn {
  nodes: Map<string, MapNode>;
  edges: Map<string, Acc>;
  dns: Map<string, DnsAcc>;
}

function dnsTotals(counts: readonly number[]): DnsTotals {
  const s = summarizeDnsServer(counts);
  return {
    queries: s.queriesTotal,
    responses: s.responses,
    errors: s.errors,
    errorRate: s.errorRate,
    timeouts: s.timeouts,
    answered: s.latency.answered,
    p95Us: s.latency.p95Us,
  };
}

function finish({ nodes, edges, dns }: Drawn): ServiceMap {
  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  // What reached each node DNS edges lead to.
  const reached = new Map<string, number[]>();
  for (const e of dns.values()) {
    let counts = reached.get(e.target);
    if (counts === undefined) reached.set(e.target, counts = zeroDnsCounts());
    addDnsCounts(counts, e.counts);
  }
  return {
    nodes: [...nodes.values()]
      .map((n) => {
        const counts = reached.get(n.id);
        return counts === undefined ? n : { ...n, dns: dnsTotals(counts) };
      })
      .sort((a, b) => byId(a.id, b.id)),
    edges: [...edges.values()]
      .map(({ srttUsSum, srttSamples, ...e }) => ({ ...e, avgSrttUs: avgSrttUs({ srttUsSum, srttSamples }) }))
      .sort((a, b) => byId(a.source, b.source) || byId(a.target, b.target)),
    dns: [...dns.values()]
      .map(({ source, target, counts }) => ({ source, target, ...dnsTotals(counts) }))
      .sort((a, b) => byId(a.source, b.source) || byId(a.target, b.target)),
  };
}

/** The subnet an address falls in for grouping: IPv4 /24, IPv6 /64. */
export function subnetOf(ip: string): string {
  if (!ip.includes(":")) return `${ip.split(".").slice(0, 3).join(".")}.0/24`;
  const [head = "", tail] = ip.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  // "::" stands for as many zero groups as the two sides leave out of eight.
  const full = tail === undefined ? groups(head) : [
    ...groups(head),
    ...Array(Math.max(0, 8 - groups(head).length - groups(tail).length)).fill("0"),
    ...groups(tail),
  ];
  return `${full.slice(0, 4).map((g) => g || "0").join(":")}::/64`;
}

/**
 * Over `max` addresses outside the pods: one node per subnet ("net:<cidr>"),
 * or, with still too many subnets, a single "world" node. Edges that meet in
 * a group are summed.
 */
function groupWorld(drawn: Drawn, max: number): Drawn {
  const { nodes, edges } = drawn;
  const world = [...nodes.values()].filter((n) => n.kind === "world");
  if (world.length <= max) return drawn;
  const subnets = new Map<string, string[]>();
  for (const n of world) {
    const net = subnetOf(n.label);
    subnets.set(net, [...(subnets.get(net) ?? []), n.id]);
  }
  const groupOf = new Map<string, MapNode>();
  if (subnets.size <= max) {
    for (const [net, ids] of subnets) {
      const group: MapNode = { id: `net:${net}`, label: `${net} (${ids.length} addresses)`, kind: "world" };
      for (const id of ids) groupOf.set(id, group);
    }
  } else {
    const group: MapNode = { id: "world", label: `outside the cluster (${world.length} addresses)`, kind: "world" };
    for (const n of world) groupOf.set(n.id, group);
  }
  const grouped = new Map<string, MapNode>();
  for (const n of nodes.values()) {
    const to = groupOf.get(n.id) ?? n;
    grouped.set(to.id, to);
  }
  /** `from`'s edges between the groups, those that meet summed by `add` into what `zero` made. */
  const regroup = <A extends { source: string; target: string }>(
    from: Map<string, A>,
    zero: (source: string, target: string) => A,
    add: (into: A, e: A) => void,
  ) => {
    const merged = new Map<string, A>();
    for (const e of from.values()) {
      const source = groupOf.get(e.source)?.id ?? e.source, target = groupOf.get(e.target)?.id ?? e.target;
      const id = `${source}→${target}`;
      const acc = merged.get(id) ?? zero(source, target);
      add(acc, e);
      merged.set(id, acc);
    }
    return merged;
  };
  return {
    nodes: grouped,
    edges: regroup(edges, (source, target) => ({ ...ZERO, source, target }), (acc, e) => {
      acc.bytes += e.bytes;
      acc.connections += e.connections;
      acc.failures += e.failures;
      acc.srttUsSum += e.srttUsSum;
      acc.srttSamples += e.srttSamples;
    }),
    dns: regroup(
      drawn.dns,
      (source, target) => ({ source, target, counts: zeroDnsCounts() }),
      (acc, e) => addDnsCounts(acc.counts, e.counts),
    ),
  };
}

/**
 * The edges the filter keeps, DNS edges alike (a pod of the namespace, or the service, at one end), and the nodes
 * they touch (before grouping: groups count only what is shown).
 */
function filterEdges(
  nodes: Map<string, MapNode>,
  edges: Map<string, Acc>,
  dns: Map<string, DnsAcc>,
  filter: ServiceMapFilter,
): Drawn {
  const { namespace, service } = filter;
  if (namespace === undefined && service === undefined) return { nodes, edges, dns };
  const serviceId = service && endpointKey({ kind: "service", ...service });
  const keep = (id: string) =>
    (namespace === undefined || nodes.get(id)?.namespace === namespace) &&
    (serviceId === undefined || id === serviceId);
  const kept = <A extends { source: string; target: string }>(from: Map<string, A>) =>
    new Map([...from].filter(([, e]) => keep(e.source) || keep(e.target)));
  const shown = { edges: kept(edges), dns: kept(dns) };
  const used = new Set([...shown.edges.values(), ...shown.dns.values()].flatMap((e) => [e.source, e.target]));
  return { nodes: new Map([...nodes].filter(([id]) => used.has(id))), ...shown };
}
