/**
 * The service map of a window (control/monitoring/servicemap.ts) over the
 * whole cluster, or only the edges with at least one end in a namespace.
 */
import type { Db } from "../../db/client.ts";
import { endpointKey, type StoredEndpoint } from "../../monitoring/attribution.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { type ServiceMap, serviceMap } from "../../monitoring/servicemap.ts";
import { queryFlows } from "./flows.ts";
import { queryTcp } from "./tcp.ts";

export async function queryServiceMap(db: Db, w: Window, filter: { namespace?: string } = {}): Promise<ServiceMap> {
  const [{ flows }, { connections }] = await Promise.all([queryFlows(db, w), queryTcp(db, w)]);
  const map = serviceMap(flows, connections);
  const { namespace } = filter;
  if (namespace === undefined) return map;

  const endpoints = new Map<string, StoredEndpoint>();
  for (const e of [...flows.flatMap((f) => [f.client, f.server]), ...connections.flatMap((c) => [c.local, c.remote])]) {
    endpoints.set(endpointKey(e), e);
  }
  const inNamespace = (id: string) => {
    const e = endpoints.get(id);
    return (e?.kind === "pod" || e?.kind === "service") && e.namespace === namespace;
  };
  const edges = map.edges.filter((e) => inNamespace(e.source) || inNamespace(e.target));
  const used = new Set(edges.flatMap((e) => [e.source, e.target]));
  return { nodes: map.nodes.filter((n) => used.has(n.id)), edges };
}
