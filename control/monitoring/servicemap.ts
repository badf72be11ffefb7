/**
 * Service-map edges: client → server with the bytes of both directions (from
 * flow rows), connections opened and failed (from TCP rows, each connection
 * once, see connectionView). Endpoints are keyed by endpointKey and labelled
 * for people.
 */
import { endpointKey, endpointLabel, type StoredEndpoint } from "./attribution.ts";
import type { FlowRow } from "./flows.ts";
import { connectionView, failures, type TcpRow } from "./tcp.ts";

export interface MapNode {
  id: string;
  label: string;
  kind: StoredEndpoint["kind"];
}

export interface MapEdge {
  source: string;
  target: string;
  bytes: number;
  connections: number;
  failures: number;
}

export interface ServiceMap {
  nodes: MapNode[];
  edges: MapEdge[];
}

/** Edges sorted by (source, target); nodes by id. */
export function serviceMap(flows: readonly FlowRow[], tcp: readonly TcpRow[]): ServiceMap {
  const nodes = new Map<string, MapNode>();
  const edges = new Map<string, MapEdge>();
  const edge = (client: StoredEndpoint, server: StoredEndpoint): MapEdge => {
    for (const e of [client, server]) {
      nodes.set(endpointKey(e), { id: endpointKey(e), label: endpointLabel(e), kind: e.kind });
    }
    const source = endpointKey(client), target = endpointKey(server);
    const id = `${source}→${target}`;
    const had = edges.get(id);
    if (had) return had;
    const fresh = { source, target, bytes: 0, connections: 0, failures: 0 };
    edges.set(id, fresh);
    return fresh;
  };
  for (const r of flows) edge(r.client, r.server).bytes += r.fwdBytes + r.revBytes;
  for (const r of connectionView(tcp)) {
    const e = r.role === "server" ? edge(r.remote, r.local) : edge(r.local, r.remote);
    e.connections += r.opened;
    e.failures += failures(r);
  }
  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    nodes: [...nodes.values()].sort((a, b) => byId(a.id, b.id)),
    edges: [...edges.values()].sort((a, b) => byId(a.source, b.source) || byId(a.target, b.target)),
  };
}
