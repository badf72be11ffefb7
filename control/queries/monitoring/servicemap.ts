/**
 * The service map of a window (control/monitoring/servicemap.ts) over the
 * whole cluster, or only the edges touching a namespace or a service.
 */
import type { Db } from "../../db/client.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { type ServiceMap, serviceMap, type ServiceMapFilter } from "../../monitoring/servicemap.ts";
import { queryFlows } from "./flows.ts";
import { queryTcp } from "./tcp.ts";

export async function queryServiceMap(db: Db, w: Window, filter: ServiceMapFilter = {}): Promise<ServiceMap> {
  const [{ flows }, { connections }] = await Promise.all([queryFlows(db, w), queryTcp(db, w)]);
  return serviceMap(flows, connections, filter);
}
