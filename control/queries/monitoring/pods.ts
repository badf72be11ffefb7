// SPDX-License-Identifier: Apache-2.0
/**
 * Pods as their nodes report them: the current ones and, for the grace
 * period (MonitoringSettings.podGraceMs, on the control plane's clock), the
 * vanished ones, with cumulative RX/TX (RX: what the pod received) and rates.
 * Shaped like the pages' PodView (web/monitoring/tables.tsx), so the pages
 * can show these rows as they are.
 */
import { and, asc, desc, eq, gt, gte, isNull, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client.ts";
import { POD_BYTE_RATE, POD_RATE_CLASS, POD_TALKING, type PodRow, pods } from "../../db/schema.ts";
import type { Rates } from "../../ingest/rates.ts";

export interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  node: string;
  ips: string[];
  labels: Record<string, string>;
  owner: { kind: string; name: string } | null;
  hostNetwork: boolean;
  hostVeth: string | null;
  state: "current" | "vanished";
  /** Agent clock of the first and the latest batch listing the pod. */
  firstSeen: number;
  lastSeen: number;
  /** Control-plane clock when its node's batch first lacked it; absent while current. */
  vanishedAt?: number;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
  rates: Rates;
}

export interface PodFilter {
  node?: string;
  namespace?: string;
}

/** Listed at `now`: current, or vanished less than `graceMs` ago (the same bound maintenance drops them by). */
const listed = (now: number, graceMs: number) => or(isNull(pods.vanishedAt), gt(pods.vanishedAt, now - graceMs));

/** Current before vanished (a pod recreated under its name), then the latest seen. */
const ORDER = [asc(sql`${pods.vanishedAt} IS NOT NULL`), desc(pods.lastSeen), asc(pods.uid)];

/** Sorted by namespace, name. */
export async function listPods(db: Db, now: number, graceMs: number, filter: PodFilter = {}): Promise<PodRecord[]> {
  const conditions: (SQL | undefined)[] = [listed(now, graceMs)];
  if (filter.node !== undefined) conditions.push(eq(pods.node, filter.node));
  if (filter.namespace !== undefined) conditions.push(eq(pods.namespace, filter.namespace));
  const rows = await db
    .select()
    .from(pods)
    .where(and(...conditions))
    .orderBy(asc(pods.namespace), asc(pods.name), ...ORDER);
  return rows.map(toPodRecord);
}

/** The listed pod called namespace/name (the current one when a vanished one shares its name); undefined when none. */
export async function findPod(
  db: Db,
  namespace: string,
  name: string,
  now: number,
  graceMs: number,
): Promise<PodRecord | undefined> {
  const row = await db
    .select()
    .from(pods)
    .where(and(listed(now, graceMs), eq(pods.namespace, namespace), eq(pods.name, name)))
    .orderBy(...ORDER)
    .get();
  return row === undefined ? undefined : toPodRecord(row);
}

/**
 * The current pods sending and receiving the most bytes per second right
 * now (their nodes' latest reports), at most `n`, those with no traffic
 * left out. Cheap at any size, so the overview can list them:
 * queryTopTalkers gives the same over a window.
 */
export async function topPodsByRate(db: Db, n: number): Promise<PodRecord[]> {
  return (await topPodsQuery(db, n)).map(toPodRecord);
}

const RATE = sql.raw(POD_BYTE_RATE);
const RATE_CLASS = sql.raw(POD_RATE_CLASS);
const TALKING = sql.raw(POD_TALKING);

/**
 * topPodsByRate's query (a test holds its plan to the index): the n-th
 * highest rate class is found by walking the pods_rate_class index from the
 * top, n entries; the pods of that class and higher (every pod of the top n
 * among them, since a class is never lower for a higher rate) are ordered
 * by their exact rate. The rows read are those of the highest classes, not
 * every pod (100,000 at 5,000 nodes).
 */
export function topPodsQuery(db: Db, n: number) {
  const nth = db.select({ c: RATE_CLASS }).from(pods).where(TALKING).orderBy(desc(RATE_CLASS)).limit(1).offset(n - 1);
  return db
    .select()
    .from(pods)
    .where(and(TALKING, gte(RATE_CLASS, sql`coalesce((${nth}), 0)`)))
    .orderBy(desc(RATE), asc(pods.namespace), asc(pods.name), asc(pods.uid))
    .limit(n);
}

function toPodRecord(row: PodRow): PodRecord {
  return {
    uid: row.uid,
    namespace: row.namespace,
    name: row.name,
    node: row.node,
    ips: row.ips,
    labels: row.labels,
    owner: row.owner ?? null,
    hostNetwork: row.hostNetwork,
    hostVeth: row.hostVeth,
    state: row.vanishedAt === null ? "current" : "vanished",
    firstSeen: row.firstSeen,
    lastSeen: row.lastSeen,
    ...(row.vanishedAt === null ? {} : { vanishedAt: row.vanishedAt }),
    rxPackets: row.rxPackets,
    rxBytes: row.rxBytes,
    txPackets: row.txPackets,
    txBytes: row.txBytes,
    drops: row.drops,
    rates: {
      rxPacketsPerSec: row.rxPacketsPerSec,
      rxBytesPerSec: row.rxBytesPerSec,
      txPacketsPerSec: row.txPacketsPerSec,
      txBytesPerSec: row.txBytesPerSec,
    },
  };
}
