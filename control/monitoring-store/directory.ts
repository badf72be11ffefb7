// SPDX-License-Identifier: Apache-2.0
/**
 * The cluster's PodDirectory (control/monitoring/attribution.ts) for one
 * database, kept in memory: loaded from the `pods` table on first use, then
 * updated by every batch as it is stored, so attributing a batch costs
 * nothing per pod of the cluster.
 *
 * It may run ahead of the database when a transaction fails after updating
 * it; `forget` drops it, and the next batch reloads it from what was stored.
 * With several control-plane replicas each keeps its own, fed only by the
 * batches it stores: attribution there is as fresh as the latest batch of
 * each node that replica received (a known limit; one replica is the default).
 *
 * Addresses that are no pod's resolve, with their port and protocol, to the
 * load-balanced service of that frontend (its VIP or an external IP), else to
 * the world. A row's service (PodIndex.service) is that frontend's service,
 * or the service listing the server's ip:port as a backend: a connection the
 * socket load balancer translated at connect time, one the gateway sent to a
 * backend, and one made straight to a backend pod all name it. Of two services
 * listing one backend, the first by namespace and name is named, the same on
 * every replica. The services are read again whenever the lb version moved
 * (one read of the version per batch; backend and acceleration changes move
 * it too), so every replica names them as the registry does when the batch is
 * stored. NodePorts are not mapped (the gateway translates them to backends,
 * which are).
 */
import type { InValue } from "@libsql/client";
import type { SqlTransaction } from "../db/prepared.ts";
import type { Db } from "../db/client.ts";
import { normalizeIp, PodDirectory, type PodIndex, type ServiceEndpoint } from "../monitoring/attribution.ts";
import { IPPROTO } from "../monitoring/names.ts";
import type { PodInfo } from "../wire/pods.ts";
import type { LbProtocol } from "../wire/services.ts";

const directories = new WeakMap<Db, PodDirectory>();

/** Per database: the services by frontend and by backend ("ip|port|IP protocol number"), as of lb version `version`. */
const serviceLookups = new WeakMap<
  Db,
  { version: number; byFrontend: Map<string, ServiceEndpoint>; byBackend: Map<string, ServiceEndpoint> }
>();

const LB_VERSION = "SELECT version FROM lb_version WHERE id = 1";
const SERVICES =
  "SELECT json_group_array(json_array(namespace, name, vip, port, protocol, json(external_ips))) AS rows FROM services";
const BACKENDS = "SELECT json_group_array(json_array(s.namespace, s.name, b.ip, b.port, s.protocol)) AS rows " +
  "FROM service_backends b JOIN services s ON s.id = b.service_id";

/** Reads the services again when the lb version moved since they were read. */
async function refreshServices(db: Db, tx: Pick<SqlTransaction, "execute">): Promise<void> {
  const version = Number((await tx.execute(LB_VERSION)).rows[0]?.version ?? 0);
  if (serviceLookups.get(db)?.version === version) return;
  const rows = JSON.parse(String((await tx.execute(SERVICES)).rows[0]?.rows ?? "[]")) as Array<
    [string, string, string, number, LbProtocol, string[]]
  >;
  const byFrontend = new Map<string, ServiceEndpoint>();
  for (const [namespace, name, vip, port, protocol, externalIps] of rows) {
    const service: ServiceEndpoint = { kind: "service", namespace, name };
    for (const ip of [vip, ...externalIps]) byFrontend.set(`${normalizeIp(ip)}|${port}|${IPPROTO[protocol]}`, service);
  }
  const backends = JSON.parse(String((await tx.execute(BACKENDS)).rows[0]?.rows ?? "[]")) as Array<
    [string, string, string, number, LbProtocol]
  >;
  const byBackend = new Map<string, ServiceEndpoint>();
  // A backend two services share is named, on every replica, after the first by namespace and name.
  backends.sort(([ns1, n1], [ns2, n2]) => (ns1 < ns2 ? -1 : ns1 > ns2 ? 1 : n1 < n2 ? -1 : n1 > n2 ? 1 : 0));
  for (const [namespace, name, ip, port, protocol] of backends) {
    const key = `${normalizeIp(ip)}|${port}|${IPPROTO[protocol]}`;
    if (!byBackend.has(key)) byBackend.set(key, { kind: "service", namespace, name });
  }
  serviceLookups.set(db, { version, byFrontend, byBackend });
}

/** Current pods as [node, ts, uid, namespace, name, ips, host_network] rows, in one JSON value; `where` narrows. */
const LOAD = (where = "") =>
  "SELECT json_group_array(json_array(node, ts, uid, namespace, name, ips, host_network)) AS rows FROM pods " +
  `WHERE vanished_ts IS NULL${where}`;

/** A directory naming services as the registry of `db` does (as last refreshed), of the pods LOAD(where) reads. */
async function loadDirectory(
  db: Db,
  tx: Pick<SqlTransaction, "execute">,
  where = "",
  args: InValue[] = [],
): Promise<PodDirectory> {
  const result = (await tx.execute({ sql: LOAD(where), args })).rows[0];
  const rows = JSON.parse(String(result?.rows ?? "[]")) as Array<
    [string, number, string, string, string, string, number]
  >;
  const byNode = new Map<string, { ts: number; pods: PodInfo[] }>();
  for (const [node, ts, uid, namespace, name, ips, hostNetwork] of rows) {
    const entry = byNode.get(node) ?? { ts, pods: [] };
    entry.ts = Math.max(entry.ts, ts);
    entry.pods.push({
      uid,
      namespace,
      name,
      labels: {},
      ips: JSON.parse(ips) as string[],
      hostNetwork: hostNetwork === 1,
    });
    byNode.set(node, entry);
  }
  const directory = new PodDirectory(
    (ip, port, proto) => serviceLookups.get(db)?.byFrontend.get(`${ip}|${port}|${proto}`),
    (ip, port, proto) => serviceLookups.get(db)?.byBackend.get(`${ip}|${port}|${proto}`),
  );
  for (const [node, { ts, pods }] of byNode) directory.setNode(node, ts, pods);
  return directory;
}

/** The directory of `db`, loading it through `tx` when not held yet. */
export async function podDirectory(db: Db, tx: SqlTransaction): Promise<PodDirectory> {
  await refreshServices(db, tx);
  const held = directories.get(db);
  if (held) return held;
  const directory = await loadDirectory(db, tx);
  directories.set(db, directory);
  return directory;
}

/**
 * For queries: a directory naming `ips` as the ingest names the ends of flows (addresses stored raw, DNS servers),
 * with services as the registry has them now. The ingest's own when this replica holds one (no read of the pods);
 * else one of the current pods with an IP among `ips`, not kept (the ingest's is built from all of them).
 */
export async function podDirectoryOf(db: Db, ips: readonly string[]): Promise<PodIndex> {
  await refreshServices(db, db.$client);
  return directories.get(db) ?? await loadDirectory(
    db,
    db.$client,
    " AND EXISTS (SELECT 1 FROM json_each(pods.ips) j WHERE lower(j.value) IN (SELECT value FROM json_each(?)))",
    [JSON.stringify(ips.map(normalizeIp))],
  );
}

export function forgetPodDirectory(db: Db): void {
  directories.delete(db);
  serviceLookups.delete(db);
}
