// SPDX-License-Identifier: Apache-2.0
/**
 * The /pods list: every listed pod (listPods) filtered by namespace, node,
 * state and a substring of namespace/name (or an exact IP), sorted, and cut
 * into pages. Sorting by rate needs every pod's rate, so the filter and the
 * sort run over the listed pods in memory, as the page did before paging.
 */
import type { Db } from "../../db/client.ts";
import { type ListPage, pageOf } from "../list-page.ts";
import { listPods, type PodRecord } from "./pods.ts";

/** What the list shows of a pod; vanishedAt is set while a vanished pod is kept for the grace period. */
export type PodListRow = Pick<
  PodRecord,
  | "uid"
  | "namespace"
  | "name"
  | "node"
  | "ips"
  | "rxPackets"
  | "rxBytes"
  | "txPackets"
  | "txBytes"
  | "drops"
  | "rates"
  | "vanishedAt"
>;

export const POD_SORTS = ["namespace", "name", "node", "rx", "tx", "rxRate", "txRate", "drops"] as const;
export type PodSort = (typeof POD_SORTS)[number];
export const POD_STATES = ["current", "vanished"] as const;
export type PodState = (typeof POD_STATES)[number];

export interface PodListQuery {
  sort: PodSort;
  dir: "asc" | "desc";
  /** Substring of namespace/name, or an IP. */
  q?: string;
  namespace?: string;
  node?: string;
  state?: PodState;
  /** First row of the page (0-based). */
  offset: number;
}

const sortValue: Record<PodSort, (p: PodListRow) => string | number | null> = {
  namespace: (p) => `${p.namespace}/${p.name}`,
  name: (p) => `${p.name}/${p.namespace}`,
  node: (p) => `${p.node}/${p.namespace}/${p.name}`,
  rx: (p) => p.rxBytes,
  tx: (p) => p.txBytes,
  rxRate: (p) => p.rates.rxBytesPerSec,
  txRate: (p) => p.rates.txBytesPerSec,
  drops: (p) => p.drops,
};

/** Filters, then sorts (a missing rate last either way; ties by namespace/name, then uid, so the order is stable). */
export function selectPods<P extends PodListRow>(pods: readonly P[], q: Omit<PodListQuery, "offset">): P[] {
  const needle = q.q?.toLowerCase();
  const chosen = pods.filter(
    (p) =>
      (!q.namespace || p.namespace === q.namespace) &&
      (!q.node || p.node === q.node) &&
      (!q.state || (p.vanishedAt === undefined ? "current" : "vanished") === q.state) &&
      (!needle || `${p.namespace}/${p.name}`.toLowerCase().includes(needle) ||
        p.ips.some((ip) => ip.toLowerCase() === needle)),
  );
  const key = sortValue[q.sort];
  const sign = q.dir === "asc" ? 1 : -1;
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  const byKey = (a: P, b: P) => {
    const x = key(a), y = key(b);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    return sign * cmp(x, y);
  };
  return chosen.sort((a, b) =>
    byKey(a, b) || cmp(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`) || cmp(a.uid, b.uid)
  );
}

export interface PodList {
  /** Every listed pod, before the filter: how many, on how many nodes, how many vanished. */
  listed: { pods: number; nodes: number; vanished: number };
  /** The page of the pods that match. */
  page: ListPage<PodRecord>;
}

/** The page of listed pods `query` asks for, at `now` (vanished pods kept for `graceMs`). */
export async function queryPodList(db: Db, now: number, graceMs: number, query: PodListQuery): Promise<PodList> {
  const pods = await listPods(db, now, graceMs);
  return {
    listed: {
      pods: pods.length,
      nodes: new Set(pods.map((p) => p.node)).size,
      vanished: pods.filter((p) => p.state === "vanished").length,
    },
    page: pageOf(selectPods(pods, query), query.offset),
  };
}
