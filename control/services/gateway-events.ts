// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway's flow events per frontend (control/wire/services.ts
 * GatewayFrontendRow): stored from each batch into the minute (summed over
 * nodes, like gateway_stats, pruned with it) and into the totals since the
 * service was made (/metrics' counters); read back per service and frontend
 * over a window (the API and the pages) and as totals (/metrics). A
 * service's own events are the sums of its frontends'.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import { sql } from "drizzle-orm";
import type { Queryable } from "../db/client.ts";
import { addExcluded, MAX_COUNT, sumCounters } from "../db/counter-sums.ts";
import {
  GATEWAY_FRONTEND_COUNTERS,
  GATEWAY_FRONTEND_FIRST_COUNTER,
  type GatewayCounters,
  type GatewayFrontendCounter,
  NODE_PORT_FRONTEND,
} from "../wire/services.ts";

/** Each counter's column in gateway_frontend_stats and gateway_frontend_totals (a new counter: one entry). */
const COLUMN: Record<GatewayFrontendCounter, string> = {
  flows: "flows",
  evicted: "evicted",
  snatBusy: "snat_busy",
  noBackend: "no_backend",
  toStack: "to_stack",
  expired: "expired",
};
const COLUMNS = GATEWAY_FRONTEND_COUNTERS.map((c) => COLUMN[c]);

export type GatewayEvents = Record<GatewayFrontendCounter, number>;

export interface GatewayFrontendEvents extends GatewayEvents {
  /** `address:port` for an external IP, `nodePort:port` for the NodePort (frontendLabel). */
  frontend: string;
  /** The external IP; null for the NodePort (any node address). */
  address: string | null;
  port: number;
}

export const NO_GATEWAY_EVENTS: GatewayEvents = Object.fromEntries(
  GATEWAY_FRONTEND_COUNTERS.map((c) => [c, 0]),
) as GatewayEvents;

/** How a frontend is named to users: `203.0.113.5:80`, or `nodePort:30080` on any node address. */
export function frontendLabel(address: string, port: number): string {
  return address === NODE_PORT_FRONTEND ? `nodePort:${port}` : `${address}:${port}`;
}

/**
 * Rows join the service they name under the same rule as the per-service
 * gateway rows (counters.ts): a row of a service deleted meanwhile, or of an
 * id given to another service after the version the node had, is ignored.
 */
const ROWS = (bucket: "?1, " | "") =>
  `SELECT ${bucket}s.id, j.value ->> 1, j.value ->> 2, ${
    GATEWAY_FRONTEND_COUNTERS.map((_, i) => sumCounters(`j.value ->> ${GATEWAY_FRONTEND_FIRST_COUNTER + i}`)).join(", ")
  } FROM json_each(?2) AS j JOIN services AS s ON s.id = j.value ->> 0 AND s.assigned_version <= ?3 ` +
  "GROUP BY s.id, j.value ->> 1, j.value ->> 2";
const STORE = {
  minute: `INSERT INTO gateway_frontend_stats (bucket, service_id, address, port, ${COLUMNS.join(", ")}) ${
    ROWS("?1, ")
  } ON CONFLICT (service_id, address, port, bucket) DO UPDATE SET ${addExcluded(...COLUMNS)}`,
  totals: `INSERT INTO gateway_frontend_totals (service_id, address, port, ${COLUMNS.join(", ")}) ${
    ROWS("")
  } ON CONFLICT (service_id, address, port) DO UPDATE SET ${addExcluded(...COLUMNS)}`,
};

/** Adds a batch's frontend rows into their minute and the totals (inside the batch's transaction). */
export async function storeGatewayFrontends(tx: SqlTransaction, bucket: number, gw: GatewayCounters): Promise<void> {
  if (!gw.frontends?.length) return;
  const rows = JSON.stringify(gw.frontends);
  await tx.execute({ sql: STORE.minute, args: [bucket, rows, gw.version] });
  await tx.execute({ sql: STORE.totals, args: [null, rows, gw.version] });
}

/** The table of minutes (pruned with the retention; the totals are not). */
export const GATEWAY_FRONTEND_MINUTES = "gateway_frontend_stats";

type Row = [serviceId: number, address: string, port: number, ...counters: number[]];

function frontendEvents([, address, port, ...counters]: Row): GatewayFrontendEvents {
  const events = Object.fromEntries(GATEWAY_FRONTEND_COUNTERS.map((c, i) => [c, counters[i] ?? 0])) as GatewayEvents;
  return {
    frontend: frontendLabel(address, port),
    address: address === NODE_PORT_FRONTEND ? null : address,
    port,
    ...events,
  };
}

/** Frontends of each service in order: the NodePort first, then external IPs (by address as text), then port. */
function byService(rows: Row[]): Map<number, GatewayFrontendEvents[]> {
  const out = new Map<number, GatewayFrontendEvents[]>();
  for (const row of rows) out.set(row[0], [...(out.get(row[0]) ?? []), frontendEvents(row)]);
  const rank = (f: GatewayFrontendEvents) => `${f.address === null ? 0 : 1} ${f.address ?? ""} ${1e5 + f.port}`;
  for (const list of out.values()) list.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
  return out;
}

const sums = COLUMNS.map((c) => `${sumCounters(c)} AS ${c}`).join(", ");

/** Each service's frontends with their events over [from, to) (1-minute buckets), only those that had any. */
export async function gatewayEventsIn(
  db: Queryable,
  from: number,
  to: number,
  serviceId?: number,
): Promise<Map<number, GatewayFrontendEvents[]>> {
  const one = serviceId === undefined ? sql`` : sql` AND service_id = ${serviceId}`;
  const row = await db.get<{ rows: string }>(
    sql`SELECT json_group_array(json_array(service_id, address, port, ${sql.raw(COLUMNS.join(", "))})) AS rows FROM (${
      sql.raw(`SELECT service_id, address, port, ${sums} FROM gateway_frontend_stats`)
    } WHERE bucket >= ${from} AND bucket < ${to}${one} ${sql.raw("GROUP BY service_id, address, port")})`,
  );
  return byService(JSON.parse(row?.rows ?? "[]"));
}

/** Every service's frontends with their events since the service was made (/metrics). */
export async function gatewayEventTotals(db: Queryable): Promise<Map<number, GatewayFrontendEvents[]>> {
  const row = await db.get<{ rows: string }>(
    sql.raw(
      `SELECT json_group_array(json_array(service_id, address, port, ${COLUMNS.join(", ")})) AS rows ` +
        "FROM gateway_frontend_totals",
    ),
  );
  return byService(JSON.parse(row?.rows ?? "[]"));
}

/** A service's events: its frontends' summed. */
export function serviceEvents(frontends: readonly GatewayEvents[]): GatewayEvents {
  const out = { ...NO_GATEWAY_EVENTS };
  for (const f of frontends) for (const c of GATEWAY_FRONTEND_COUNTERS) out[c] = Math.min(out[c] + f[c], MAX_COUNT);
  return out;
}
