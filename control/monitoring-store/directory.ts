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
 */
import type { SqlTransaction } from "../db/prepared.ts";
import type { Db } from "../db/client.ts";
import { PodDirectory } from "../monitoring/attribution.ts";
import type { PodInfo } from "../wire/pods.ts";

const directories = new WeakMap<Db, PodDirectory>();

const LOAD =
  "SELECT json_group_array(json_array(node, ts, uid, namespace, name, ips, host_network)) AS rows FROM pods WHERE vanished_ts IS NULL";

/** The directory of `db`, loading it through `tx` when not held yet. */
export async function podDirectory(db: Db, tx: SqlTransaction): Promise<PodDirectory> {
  const held = directories.get(db);
  if (held) return held;
  const result = (await tx.execute(LOAD)).rows[0];
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
  const directory = new PodDirectory();
  for (const [node, { ts, pods }] of byNode) directory.setNode(node, ts, pods);
  directories.set(db, directory);
  return directory;
}

export function forgetPodDirectory(db: Db): void {
  directories.delete(db);
}
