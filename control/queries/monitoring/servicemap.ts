// SPDX-License-Identifier: Apache-2.0
/**
 * The service map of a window (control/monitoring/servicemap.ts) over the
 * whole cluster, or only the edges touching a namespace or a service; with
 * `dns`, its DNS edges too (every pod's DNS servers, named: dns-view.ts).
 */
import type { Db } from "../../db/client.ts";
import { OTHER_ENDPOINT, serviceKey } from "../../monitoring/attribution.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { type DnsMapInput, type ServiceMap, serviceMap, type ServiceMapFilter } from "../../monitoring/servicemap.ts";
import { queryDnsServers } from "./dns.ts";
import { namedDnsServers } from "./dns-view.ts";
import { queryFlows } from "./flows.ts";
import { queryTcp } from "./tcp.ts";

export async function queryServiceMap(
  db: Db,
  w: Window,
  filter: ServiceMapFilter = {},
  options: { dns?: boolean } = {},
): Promise<ServiceMap> {
  // A service's map reads only its rows (every edge it draws is of rows naming it), not the cluster's.
  const service = filter.service && serviceKey({ kind: "service", ...filter.service });
  const [{ flows }, { connections }, dns] = await Promise.all([
    queryFlows(db, w, { service }),
    queryTcp(db, w, { service }),
    options.dns ? queryDnsMap(db, w) : [],
  ]);
  return serviceMap(flows, connections, filter, dns);
}

/** Every pod's DNS servers over `w` (DNS rows name no service: the filter applies to the named edges). */
async function queryDnsMap(db: Db, w: Window): Promise<DnsMapInput[]> {
  const servers = await namedDnsServers(db, await queryDnsServers(db, w, {}));
  return servers.map((s) => ({
    client: s.pod ?? OTHER_ENDPOINT,
    server: s.name.endpoint,
    ...(s.name.service === undefined ? {} : { service: s.name.service }),
    counts: s.counts,
  }));
}
