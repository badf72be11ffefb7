// SPDX-License-Identifier: Apache-2.0
/**
 * The one way services change: a plan (services to put, services to remove)
 * applied inside the caller's transaction, after checking that the result
 * is consistent (unique frontends, free ids). Unchanged services are left
 * alone; when anything changes, the lb version rises by one, once, and every
 * service written carries that version. Throws ServiceConflict before
 * writing anything when the plan cannot be applied, so with the caller's
 * transaction nothing is half-written.
 */
import { and, eq, inArray, SQL, sql } from "drizzle-orm";
import type { Queryable, Tx } from "../db/client.ts";
import { nextTableSize } from "../wire/maglev.ts";
import {
  type BackendRow,
  gatewayFrontendStats,
  gatewayFrontendTotals,
  gatewayStats,
  lbStats,
  serviceBackends,
  type ServiceRow,
  services,
  type ServiceSource,
} from "../db/schema.ts";
import { type BackendInput, LB_MAX_BACKENDS, LB_MAX_SERVICES, type ServiceInput } from "../wire/services.ts";
import { ServiceConflict } from "./errors.ts";
import { idAllocator } from "./ids.ts";
import { describeRef, frontendKey, refKey, refOf } from "./keys.ts";
import { bumpVersion, readVersion } from "./version.ts";

/** A service as stored: its row and its backends, in id order. */
export interface Stored {
  row: ServiceRow;
  backends: BackendRow[];
}

export interface Put {
  input: ServiceInput;
  source: ServiceSource;
  /** The stored service of the same name, which this replaces (keeping its id). */
  existing?: Stored;
}

export interface Plan {
  put: Put[];
  remove: Stored[];
}

export interface Applied {
  /** The lb version after the change (the same as before when nothing changed). */
  version: number;
  /** Services created, changed or removed. */
  changed: number;
  /** The id of each put, in order. */
  ids: number[];
}

/** Rows per multi-row insert and ids per IN list: well under SQLite's limit on bound parameters. */
const INSERT_CHUNK = 200;

/** Which services to load: all, or those matching every field given. */
export interface ServiceFilter {
  id?: number;
  namespace?: string;
  name?: string;
  portName?: string;
  source?: ServiceSource;
}

const FILTER_COLUMNS = {
  id: "id",
  namespace: "namespace",
  name: "name",
  portName: "port_name",
  source: "source",
} as const;

/** What loadStored reads of each service and backend, in the order of its JSON arrays (serviceRow, backendRow). */
const SERVICE_VALUES =
  "s.id, s.namespace, s.name, s.port_name, s.vip, s.port, s.protocol, s.affinity, s.affinity_timeout_s, s.table_size, " +
  "s.source, s.assigned_version, s.version, s.created_at, s.updated_at, s.type, s.node_port, json(s.external_ips)";
const BACKEND_VALUES =
  "b.id, b.service_id, b.ip, b.port, b.weight, b.state, b.pod_namespace, b.pod_name, b.assigned_version";

/** A row read as one JSON array: each element has the type its column holds (SERVICE_VALUES, BACKEND_VALUES). */
// deno-lint-ignore no-explicit-any
type JsonRow = any[];

/** JSON arrays come back with the types the columns hold. */
const serviceRow = (v: JsonRow): ServiceRow => ({
  id: v[0],
  namespace: v[1],
  name: v[2],
  portName: v[3],
  vip: v[4],
  port: v[5],
  protocol: v[6],
  affinity: v[7],
  affinityTimeoutS: v[8],
  tableSize: v[9],
  source: v[10],
  assignedVersion: v[11],
  version: v[12],
  createdAt: v[13],
  updatedAt: v[14],
  type: v[15],
  nodePort: v[16],
  externalIps: v[17],
});
const backendRow = (v: JsonRow): BackendRow => ({
  id: v[0],
  serviceId: v[1],
  ip: v[2],
  port: v[3],
  weight: v[4],
  state: v[5],
  podNamespace: v[6],
  podName: v[7],
  assignedVersion: v[8],
});

/**
 * Services (every one, or those `filter` selects: fields to match, or a
 * drizzle condition on `services`) with their backends, in id order. One
 * JSON text rather than rows: libSQL turns each value of each row into a
 * JavaScript value on its own, which for 10,000 services and their
 * backends took most of a second; parsing one text takes milliseconds.
 */
export async function loadStored(db: Queryable, filter: ServiceFilter | SQL = {}): Promise<Stored[]> {
  const where = filter instanceof SQL ? sql` WHERE ${filter}` : whereOf(filter);
  const backends =
    `json((SELECT json_group_array(json_array(${BACKEND_VALUES})) FROM service_backends AS b WHERE b.service_id = s.id))`;
  const row = await db.get<{ rows: string }>(
    sql`SELECT json_group_array(json_array(${sql.raw(SERVICE_VALUES)}, ${
      sql.raw(backends)
    })) AS rows FROM (SELECT * FROM services${where} ORDER BY id) AS s`,
  );
  const list = JSON.parse(row?.rows ?? "[]") as unknown[][];
  return list.map((values) => ({
    row: serviceRow(values),
    backends: (values[18] as unknown[][]).map(backendRow).sort((a, b) => a.id - b.id),
  }));
}

function whereOf(filter: ServiceFilter): SQL {
  const given = (Object.keys(FILTER_COLUMNS) as Array<keyof ServiceFilter>).filter((k) => filter[k] !== undefined);
  return given.length === 0
    ? sql``
    : sql` WHERE ${sql.join(given.map((k) => sql`${sql.raw(FILTER_COLUMNS[k])} = ${filter[k]}`), sql` AND `)}`;
}

export async function applyPlan(tx: Tx, all: Stored[], plan: Plan, now: number): Promise<Applied> {
  checkFrontends(all, plan);
  const removed = new Set(plan.remove.map((s) => s.row.id));
  const changes = plan.put.filter((p) => p.existing === undefined || !sameService(p.existing, p.input, p.source));
  if (changes.length === 0 && removed.size === 0) {
    return { version: await readVersion(tx), changed: 0, ids: plan.put.map((p) => p.existing!.row.id) };
  }

  const nextService = idAllocator(all.filter((s) => !removed.has(s.row.id)).map((s) => s.row.id), LB_MAX_SERVICES);
  const ids = new Map<Put, number>();
  for (const p of plan.put) {
    const id = p.existing?.row.id ?? nextService();
    if (id === undefined) throw new ServiceConflict("full", `no free service id: all ${LB_MAX_SERVICES} are in use`);
    ids.set(p, id);
  }
  const backendPlan = planBackends(all, removed, changes, ids);

  const version = await bumpVersion(tx, now);
  await removeServices(tx, [...removed]);
  await removeBackends(tx, backendPlan.removed);
  // A frontend moving to one another service leaves in this same change: park the moving ones first so the unique index never sees two at once.
  const moving = changes.filter((p) =>
    p.existing !== undefined && frontendKey(p.existing.row) !== frontendKey(p.input)
  );
  for (const p of moving) await tx.update(services).set({ port: -ids.get(p)! }).where(eq(services.id, ids.get(p)!));

  const created: Array<typeof services.$inferInsert> = [];
  for (const p of changes) {
    const tableSize = nextTableSize(p.existing?.row.tableSize, p.input.backends.length);
    const columns = { ...serviceColumns(p.input), tableSize, source: p.source, version, updatedAt: now };
    const id = ids.get(p)!;
    if (p.existing === undefined) created.push({ id, ...columns, assignedVersion: version, createdAt: now });
    else await tx.update(services).set(columns).where(eq(services.id, id));
  }
  for (const rows of chunks(created)) await tx.insert(services).values(rows);

  for (const b of backendPlan.updated) {
    await tx.update(serviceBackends).set(backendColumns(b.input)).where(eq(serviceBackends.id, b.id));
  }
  const newBackends = backendPlan.created.map((b) => ({
    id: b.id,
    serviceId: b.serviceId,
    ...backendColumns(b.input),
    assignedVersion: version,
  }));
  for (const rows of chunks(newBackends)) await tx.insert(serviceBackends).values(rows);

  return { version, changed: changes.length + removed.size, ids: plan.put.map((p) => ids.get(p)!) };
}

/** The services left after the plan must have one frontend each. */
function checkFrontends(all: Stored[], plan: Plan): void {
  const replaced = new Set(
    [...plan.remove, ...plan.put.flatMap((p) => (p.existing ? [p.existing] : []))].map((s) => s.row.id),
  );
  const owner = new Map<string, { namespace: string; name: string; portName: string }>();
  for (const s of all) {
    if (!replaced.has(s.row.id)) {
      for (const key of frontendKeys({ ...s.row, externalIPs: s.row.externalIps })) owner.set(key, refOf(s.row));
    }
  }
  for (const { input } of plan.put) {
    for (const key of frontendKeys(input)) {
      const other = owner.get(key);
      if (other !== undefined && refKey(other) !== refKey(input)) {
        throw new ServiceConflict("frontend", `${key} is already the frontend of ${describeRef(other)}`, other, key);
      }
      owner.set(key, refOf(input));
    }
  }
}

/** Every frontend of a service: its VIP:port, its external IPs at that port, and its NodePort on any node address ("*"). */
function frontendKeys(
  s: { vip: string; port: number; protocol: string; nodePort?: number | null; externalIPs: string[] },
): string[] {
  return [
    frontendKey(s),
    ...s.externalIPs.map((ip) => frontendKey({ vip: ip, port: s.port, protocol: s.protocol })),
    ...(s.nodePort != null ? [frontendKey({ vip: "*", port: s.nodePort, protocol: s.protocol })] : []),
  ];
}

function serviceColumns(s: ServiceInput) {
  const { namespace, name, portName, vip, port, protocol, affinity, affinityTimeoutS, type } = s;
  return {
    namespace,
    name,
    portName,
    vip,
    port,
    protocol,
    affinity,
    affinityTimeoutS,
    type,
    nodePort: s.nodePort ?? null,
    externalIps: s.externalIPs,
  };
}

function backendColumns(b: BackendInput) {
  return {
    ip: b.ip,
    port: b.port,
    weight: b.weight,
    state: b.state,
    podNamespace: b.pod?.namespace ?? null,
    podName: b.pod?.name ?? null,
  };
}

const endpointKey = (b: { ip: string; port: number }) => `${b.ip}:${b.port}`;

function sameBackend(stored: BackendRow, input: BackendInput): boolean {
  const wanted = backendColumns(input);
  return (Object.keys(wanted) as Array<keyof typeof wanted>).every((k) => stored[k] === wanted[k]);
}

function sameService(stored: Stored, input: ServiceInput, source: ServiceSource): boolean {
  const wanted = serviceColumns(input);
  if (stored.row.source !== source) return false;
  const same = (k: keyof typeof wanted) =>
    k === "externalIps" ? stored.row.externalIps.join() === wanted.externalIps.join() : stored.row[k] === wanted[k];
  if (!(Object.keys(wanted) as Array<keyof typeof wanted>).every(same)) return false;
  if (stored.backends.length !== input.backends.length) return false;
  const byEndpoint = new Map(stored.backends.map((b) => [endpointKey(b), b]));
  return input.backends.every((b) => {
    const old = byEndpoint.get(endpointKey(b));
    return old !== undefined && sameBackend(old, b);
  });
}

interface BackendPlan {
  removed: Array<{ id: number; serviceId: number }>;
  updated: Array<{ id: number; input: BackendInput }>;
  created: Array<{ id: number; serviceId: number; input: BackendInput }>;
}

/**
 * Backends keep their id while their (service, ip, port) stays; new ones get
 * the smallest ids free once this change's removals are done.
 */
function planBackends(all: Stored[], removedServices: Set<number>, changes: Put[], ids: Map<Put, number>): BackendPlan {
  const plan: BackendPlan = { removed: [], updated: [], created: [] };
  const freed = new Set<number>();
  const fresh: Array<{ serviceId: number; input: BackendInput }> = [];
  for (const p of changes) {
    const serviceId = ids.get(p)!;
    const old = new Map((p.existing?.backends ?? []).map((b) => [endpointKey(b), b]));
    for (const input of p.input.backends) {
      const kept = old.get(endpointKey(input));
      old.delete(endpointKey(input));
      if (kept === undefined) fresh.push({ serviceId, input });
      else if (!sameBackend(kept, input)) plan.updated.push({ id: kept.id, input });
    }
    for (const gone of old.values()) {
      plan.removed.push({ id: gone.id, serviceId });
      freed.add(gone.id);
    }
  }
  const used = all.flatMap((s) => (removedServices.has(s.row.id) ? [] : s.backends.map((b) => b.id))).filter((id) =>
    !freed.has(id)
  );
  const nextBackend = idAllocator(used, LB_MAX_BACKENDS);
  for (const f of fresh) {
    const id = nextBackend();
    if (id === undefined) throw new ServiceConflict("full", `no free backend id: all ${LB_MAX_BACKENDS} are in use`);
    plan.created.push({ id, ...f });
  }
  return plan;
}

/** Services, their backends and their counters (a reused id must start from nothing). */
async function removeServices(tx: Tx, all: number[]): Promise<void> {
  for (const ids of chunks(all)) {
    await tx.delete(serviceBackends).where(inArray(serviceBackends.serviceId, ids));
    await tx.delete(lbStats).where(inArray(lbStats.serviceId, ids));
    await tx.delete(gatewayStats).where(inArray(gatewayStats.serviceId, ids));
    await tx.delete(gatewayFrontendStats).where(inArray(gatewayFrontendStats.serviceId, ids));
    await tx.delete(gatewayFrontendTotals).where(inArray(gatewayFrontendTotals.serviceId, ids));
    await tx.delete(services).where(inArray(services.id, ids));
  }
}

async function removeBackends(tx: Tx, gone: BackendPlan["removed"]): Promise<void> {
  for (const ids of chunks(gone.map((b) => b.id))) {
    await tx.delete(serviceBackends).where(inArray(serviceBackends.id, ids));
  }
  for (const b of gone) {
    await tx.delete(lbStats).where(and(eq(lbStats.serviceId, b.serviceId), eq(lbStats.backendId, b.id)));
  }
}

function chunks<T>(items: T[], size = INSERT_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
