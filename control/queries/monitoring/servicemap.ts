/**
 * The service map of a window (control/monitoring/servicemap.ts) over the
 * whole cluster, or only the edges touching a namespace or a service.
 */
import type { Db } from "../../db/client.ts";
import { serviceKey } from "../../monitoring/attribution.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { type ServiceMap, serviceMap, type ServiceMapFilter } from "../../monitoring/servicemap.ts";
import { queryFlows } from "./flows.ts";
import { queryTcp } from "./tcp.ts";

export async function queryServiceMap(db: Db, w: Window, filter: ServiceMapFilter = {}): Promise<ServiceMap> {
  // A service's map reads only its rows (every edge it draws is of rows naming it), not the cluster's.
  const service = filter.service && serviceKey({ kind: "service", ...filter.service });
  const [{ flows }, { connections }] = await Promise.all([
    queryFlows(db, w, { service }),
    queryTcp(db, w, { service }),
  ]);
  return serviceMap(flows, connections, filter);
}
