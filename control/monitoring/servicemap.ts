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
 * Addresses outside the pods are grouped when there are many (groupWorld):
 * by subnet, then as one "world" node, so a map of a public service stays
 * readable; the group's label says how many addresses it holds.
 */
import { endpointKey, endpointLabel, type ServiceEndpoint, type StoredEndpoint } from "./attribution.ts";
import type { FlowRow } from "./flows.ts";
import { avgSrttUs, connectionView, failures, type TcpRow } from "./tcp.ts";

export interface MapNode {
  id: string;
  label: string;
  kind: StoredEndpoint["kind"];
  /** Pods and services. */
  namespace?: string;
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
): ServiceMap {
  const nodes = new Map<string, MapNode>();
  const edges = new Map<string, Acc>();
  const edge = (client: StoredEndpoint, server: StoredEndpoint): Acc => {
    for (const e of [client, server]) nodes.set(endpointKey(e), mapNode(e));
    const source = endpointKey(client), target = endpointKey(server);
    const id = `${source}→${target}`;
    let had = edges.get(id);
    if (had === undefined) {
      edges.set(id, had = { ...ZERO, source, target });
    }
    return had;
  };
  /** The edges a client → server exchange adds to: through its service when it names one. */
  const path = (client: StoredEndpoint, server: StoredEndpoint, service: ServiceEndpoint | undefined): Acc[] => {
    if (service === undefined) return [edge(client, server)];
    const through = edge(client, service);
    return endpointKey(service) === endpointKey(server) ? [through] : [through, edge(service, server)];
  };
  for (const r of flows) for (const e of path(r.client, r.server, r.service)) e.bytes += r.fwdBytes + r.revBytes;
  for (const r of connectionView(tcp)) {
    const [client, server] = r.role === "server" ? [r.remote, r.local] : [r.local, r.remote];
    for (const e of path(client, server, r.service)) {
      e.connections += r.opened;
      e.failures += failures(r);
      e.srttUsSum += r.srttUsSum;
      e.srttSamples += r.srttSamples;
    }
  }
  const shown = filterEdges(nodes, edges, filter);
  const grouped = groupWorld(shown.nodes, shown.edges, filter.maxWorldNodes ?? MAX_WORLD_NODES);
  return finish(grouped.nodes, grouped.edges);
}

function finish(nodes: Map<string, MapNode>, edges: Map<string, Acc>): ServiceMap {
  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    nodes: [...nodes.values()].sort((a, b) => byId(a.id, b.id)),
    edges: [...edges.values()]
      .map(({ srttUsSum, srttSamples, ...e }) => ({ ...e, avgSrttUs: avgSrttUs({ srttUsSum, srttSamples }) }))
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
function groupWorld(nodes: Map<string, MapNode>, edges: Map<string, Acc>, max: number) {
  const world = [...nodes.values()].filter((n) => n.kind === "world");
  if (world.length <= max) return { nodes, edges };
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
  const merged = new Map<string, Acc>();
  for (const e of edges.values()) {
    const source = groupOf.get(e.source)?.id ?? e.source, target = groupOf.get(e.target)?.id ?? e.target;
    const id = `${source}→${target}`;
    const acc = merged.get(id) ?? { ...ZERO, source, target };
    acc.bytes += e.bytes;
    acc.connections += e.connections;
    acc.failures += e.failures;
    acc.srttUsSum += e.srttUsSum;
    acc.srttSamples += e.srttSamples;
    merged.set(id, acc);
  }
  return { nodes: grouped, edges: merged };
}

/** The edges the filter keeps, and the nodes they touch (before grouping: groups count only what is shown). */
function filterEdges(nodes: Map<string, MapNode>, edges: Map<string, Acc>, filter: ServiceMapFilter) {
  const { namespace, service } = filter;
  if (namespace === undefined && service === undefined) return { nodes, edges };
  const serviceId = service && endpointKey({ kind: "service", ...service });
  const keep = (id: string) =>
    (namespace === undefined || nodes.get(id)?.namespace === namespace) &&
    (serviceId === undefined || id === serviceId);
  const kept = new Map([...edges].filter(([, e]) => keep(e.source) || keep(e.target)));
  const used = new Set([...kept.values()].flatMap((e) => [e.source, e.target]));
  return { nodes: new Map([...nodes].filter(([id]) => used.has(id))), edges: kept };
}
