// SPDX-License-Identifier: Apache-2.0
/**
 * What agents program: every service with its backends, and the version
 * that names this set (GET /api/v1/lb/state).
 */
import type { Db, Queryable } from "../db/client.ts";
import type { LbBackend, LbService, LbState } from "../wire/services.ts";
import { listRules } from "../accel/rules.ts";
import { loadStored, type Stored } from "./apply.ts";
import { readVersion } from "./version.ts";

/**
 * The version is read before the services, so the services are at least as
 * new as the version they are sent with: an agent may get a newer set under
 * an older number (and then, polling with that number, the same set again
 * under the right one), never an older set under a newer number, which it
 * would keep until the next change.
 */
export async function lbState(db: Queryable): Promise<LbState> {
  const version = await readVersion(db);
  const services = (await loadStored(db)).map(lbService);
  const accel = await listRules(db);
  return { version, services, ...(accel.length > 0 ? { accel } : {}) };
}

export function lbService({ row, backends }: Stored): LbService {
  const {
    id,
    namespace,
    name,
    portName,
    vip,
    port,
    protocol,
    affinity,
    affinityTimeoutS,
    tableSize,
    type,
    nodePort,
    externalIps,
  } = row;
  return {
    id,
    namespace,
    name,
    portName,
    vip,
    port,
    protocol,
    affinity,
    affinityTimeoutS,
    backends: backends.map(lbBackend),
    tableSize,
    type,
    ...(nodePort !== null ? { nodePort } : {}),
    externalIPs: externalIps,
  };
}

export function lbBackend(b: Stored["backends"][number]): LbBackend {
  const pod = b.podNamespace !== null && b.podName !== null
    ? { pod: { namespace: b.podNamespace, name: b.podName } }
    : {};
  return { id: b.id, ip: b.ip, port: b.port, weight: b.weight, state: b.state, ...pod };
}

const cache = new WeakMap<object, { version: number; body: Promise<string> }>();

/**
 * lbState as the JSON text of the answer, built once per version and
 * shared: after a change every waiting agent asks for the same state at
 * once. Undefined when the version is `after` (nothing new for that agent).
 */
export async function lbStateJson(db: Db, after?: number): Promise<string | undefined> {
  const version = await readVersion(db);
  if (version === after) return undefined;
  const cached = cache.get(db.$client);
  if (cached !== undefined && cached.version === version) return cached.body;
  const body = lbState(db).then((state) => JSON.stringify(state) + "\n");
  cache.set(db.$client, { version, body });
  body.catch(() => {
    if (cache.get(db.$client)?.body === body) cache.delete(db.$client);
  });
  return body;
}
