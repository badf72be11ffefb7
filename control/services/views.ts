// SPDX-License-Identifier: Apache-2.0
/**
 * Services as the API and the pages show them: each with its backends, the
 * measured distribution over a window (connections per backend and their
 * share, next to the share its weight asks for) and its health (backend
 * states, nodes that have applied it).
 */
import { sql } from "drizzle-orm";
import { listRules, ruleCounts, type ServiceAccel, serviceAccel } from "../accel/rules.ts";
import type { Queryable } from "../db/client.ts";
import { sumCounters } from "../db/counter-sums.ts";
import type { ServiceSource } from "../db/schema.ts";
import { windowOn } from "../monitoring/rollup.ts";
import { type TimeSpec, type WindowJson, windowJson } from "../queries/monitoring/window.ts";
import type { LbBackend, LbService } from "../wire/services.ts";
import { loadStored, type ServiceFilter, type Stored } from "./apply.ts";
import {
  type GatewayEvents,
  gatewayEventsIn,
  type GatewayFrontendEvents,
  NO_GATEWAY_EVENTS,
  serviceEvents,
} from "./gateway-events.ts";
import { inSync, type NodeSync, pollingNodes } from "./nodes.ts";
import { lbBackend } from "./state.ts";
import { readVersion } from "./version.ts";

export interface BackendView extends LbBackend {
  /** Connections it was chosen for in the window, over every node. */
  connections: number;
  /** Its part of the service's backend connections in the window (0–1); null when there were none. */
  share: number | null;
  /** What its weight asks for: weight over the active backends' weights; 0 unless active; null when none is active. */
  expectedShare: number | null;
}

export interface ServiceView extends Omit<LbService, "backends"> {
  source: ServiceSource;
  /** The lb version of its latest change: nodes that applied it (or a later one) run it as shown. */
  version: number;
  createdAt: string;
  updatedAt: string;
  /** Over the window, every node: backend selections, and connections refused for want of a usable backend. */
  connections: number;
  refused: number;
  backends: BackendView[];
  /** Over the window, every node: what the gateway (XDP) passed for it, whole frames, from clients (in) and back (out). */
  gateway: GatewayTraffic;
  /**
   * Over the window, every node: socket acceleration by the rules of kind service that cover this port
   * (accel/rules.ts serviceAccel: a rule naming no port shows on each port of the service).
   */
  accel: ServiceAccel;
  health: {
    active: number;
    terminating: number;
    unhealthy: number;
    /** Nodes polling for lb state, and how many of them run this service's latest version. */
    nodes: { inSync: number; total: number };
  };
}

export interface GatewayTraffic {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  /** Flow events over the window, every node: its frontends' summed (gateway-events.ts). */
  events: GatewayEvents;
  /** Its frontends (NodePort first, then external IPs) that had any flow event in the window, with theirs. */
  frontends: GatewayFrontendEvents[];
}

const NO_GATEWAY_TRAFFIC: GatewayTraffic = {
  packetsIn: 0,
  bytesIn: 0,
  packetsOut: 0,
  bytesOut: 0,
  events: NO_GATEWAY_EVENTS,
  frontends: [],
};

export interface NodeSyncView {
  node: string;
  appliedVersion: number | null;
  polledAt: string;
  /** It runs the current version. */
  inSync: boolean;
}

export interface ServicesView {
  /** The current lb version. */
  version: number;
  /** The minutes the counters cover (whole minutes, the current one up to now). */
  window: WindowJson;
  /** Nodes that polled for lb state within `nodesPolledWithinMs`, by name. */
  nodes: NodeSyncView[];
  services: ServiceView[];
}

/** The counters' window when none is asked for. */
export const DEFAULT_SERVICE_WINDOW: TimeSpec = { ago: 3_600_000 };

export interface ViewOptions {
  now: number;
  /** Start of the counters' window (DEFAULT_SERVICE_WINDOW when absent). */
  since?: TimeSpec;
  /** A node counts while it polled this recently (the Lost threshold of the node statuses). */
  nodesPolledWithinMs: number;
  /** Which services (all without). */
  where?: ServiceFilter;
}

/** Services in namespace, name and port name order (code points: names are lowercase ASCII). */
export async function serviceViews(db: Queryable, opts: ViewOptions): Promise<ServicesView> {
  const version = await readVersion(db);
  const [stored, nodes] = await Promise.all([
    loadStored(db, opts.where),
    pollingNodes(db, opts.now - opts.nodesPolledWithinMs),
  ]);
  const since = opts.since ?? DEFAULT_SERVICE_WINDOW;
  const window = windowOn("1m", Math.min("at" in since ? since.at : opts.now - since.ago, opts.now), opts.now);
  const one = stored.length === 1 ? stored[0]!.row.id : undefined;
  const [counts, gateway, rules, accel] = await Promise.all([
    countsIn(db, window.from, window.to, one),
    gatewayIn(db, window.from, window.to, one),
    listRules(db),
    ruleCounts(db, window.from, window.to),
  ]);
  const order = new Map(stored.map((s) => [s, `${s.row.namespace}/${s.row.name}/${s.row.portName}`]));
  stored.sort((a, b) => (order.get(a)! < order.get(b)! ? -1 : 1));
  return {
    version,
    window: windowJson(window),
    nodes: nodes.map((n) => ({
      ...n,
      polledAt: new Date(n.polledAt).toISOString(),
      inSync: n.appliedVersion !== null && n.appliedVersion >= version,
    })),
    services: stored.map((s) => serviceView(s, counts, gateway, serviceAccel(rules, accel, s.row), nodes)),
  };
}

export const byName = (namespace: string, name: string): ServiceFilter => ({ namespace, name });
export const byRef = (ref: { namespace: string; name: string; portName: string }): ServiceFilter => ({
  namespace: ref.namespace,
  name: ref.name,
  portName: ref.portName,
});
export const byId = (id: number): ServiceFilter => ({ id });

type Counts = Map<number, { connections: number; refused: number }>;
/** One number for a (service, backend) pair: backend ids stay below 2^18 (LB_MAX_BACKENDS). */
const countKey = (serviceId: number, backendId: number) => serviceId * 262_144 + backendId;

/** A counter column summed, saturating (db/counter-sums.ts). */
const summed = (column: string) => sql.raw(sumCounters(column));

/** Counters summed over the window (saturating), by countKey (backend 0: the service's own); one JSON text, as in loadStored. */
async function countsIn(db: Queryable, from: number, to: number, serviceId?: number): Promise<Counts> {
  const one = serviceId === undefined ? sql`` : sql` AND service_id = ${serviceId}`;
  const row = await db.get<{ rows: string }>(
    sql`SELECT json_group_array(json_array(service_id, backend_id, c, r)) AS rows FROM (SELECT service_id, backend_id, ${
      summed("connections")
    } AS c, ${
      summed("refused")
    } AS r FROM lb_stats WHERE bucket >= ${from} AND bucket < ${to}${one} GROUP BY service_id, backend_id)`,
  );
  const rows = JSON.parse(row?.rows ?? "[]") as Array<[number, number, number, number]>;
  return new Map(
    rows.map(([service, backend, connections, refused]) => [countKey(service, backend), { connections, refused }]),
  );
}

/** Gateway traffic and flow events summed over the window (saturating), by service id. */
async function gatewayIn(
  db: Queryable,
  from: number,
  to: number,
  serviceId?: number,
): Promise<Map<number, GatewayTraffic>> {
  const one = serviceId === undefined ? sql`` : sql` AND service_id = ${serviceId}`;
  const [row, events] = await Promise.all([
    db.get<{ rows: string }>(
      sql`SELECT json_group_array(json_array(service_id, pi, bi, po, bo)) AS rows FROM (SELECT service_id, ${
        summed("packets_in")
      } AS pi, ${summed("bytes_in")} AS bi, ${summed("packets_out")} AS po, ${
        summed("bytes_out")
      } AS bo FROM gateway_stats WHERE bucket >= ${from} AND bucket < ${to}${one} GROUP BY service_id)`,
    ),
    gatewayEventsIn(db, from, to, serviceId),
  ]);
  const rows = JSON.parse(row?.rows ?? "[]") as Array<[number, number, number, number, number]>;
  const out = new Map<number, GatewayTraffic>(
    rows.map(([id, packetsIn, bytesIn, packetsOut, bytesOut]) => [id, {
      ...NO_GATEWAY_TRAFFIC,
      packetsIn,
      bytesIn,
      packetsOut,
      bytesOut,
    }]),
  );
  for (const [id, frontends] of events) {
    out.set(id, { ...(out.get(id) ?? NO_GATEWAY_TRAFFIC), events: serviceEvents(frontends), frontends });
  }
  return out;
}

function serviceView(
  s: Stored,
  counts: Counts,
  gateway: Map<number, GatewayTraffic>,
  accel: ServiceAccel,
  nodes: NodeSync[],
): ServiceView {
  const { row } = s;
  const own = counts.get(countKey(row.id, 0));
  const chosen = s.backends.map((b) => counts.get(countKey(row.id, b.id))?.connections ?? 0);
  let measured = 0;
  let activeWeight = 0;
  const states = { active: 0, terminating: 0, unhealthy: 0 };
  s.backends.forEach((b, i) => {
    measured += chosen[i]!;
    if (b.state === "active") activeWeight += b.weight;
    states[b.state]++;
  });
  return {
    id: row.id,
    namespace: row.namespace,
    name: row.name,
    portName: row.portName,
    vip: row.vip,
    port: row.port,
    protocol: row.protocol,
    affinity: row.affinity,
    affinityTimeoutS: row.affinityTimeoutS,
    tableSize: row.tableSize,
    type: row.type,
    ...(row.nodePort !== null ? { nodePort: row.nodePort } : {}),
    externalIPs: row.externalIps,
    source: row.source,
    version: row.version,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    connections: own?.connections ?? 0,
    refused: own?.refused ?? 0,
    backends: s.backends.map((b, i) => ({
      ...lbBackend(b),
      connections: chosen[i]!,
      share: measured === 0 ? null : chosen[i]! / measured,
      expectedShare: activeWeight === 0 ? null : b.state === "active" ? b.weight / activeWeight : 0,
    })),
    gateway: gateway.get(row.id) ?? NO_GATEWAY_TRAFFIC,
    accel,
    health: { ...states, nodes: { inSync: inSync(nodes, row.version), total: nodes.length } },
  };
}
