// SPDX-License-Identifier: Apache-2.0
/**
 * Endpoint keys of the statistics rows ("pod:<uid>", "svc:<ns>/<name>",
 * "ip:<addr>", "other") back into StoredEndpoints. A pod's names come from
 * the `pods` table while it is listed, then from `endpoints` (kept after it
 * vanished); a uid in neither stays a pod with empty names.
 */
import type { Db } from "../../db/client.ts";
import type { PodEndpoint, StoredEndpoint } from "../../monitoring/attribution.ts";

const POD = "pod:";

const SQL = {
  pods:
    "SELECT j.value AS key, coalesce(p.namespace, e.namespace, '') AS namespace, coalesce(p.name, e.name, '') AS name, " +
    "coalesce(p.node, e.node, '') AS node FROM json_each(?) j " +
    "LEFT JOIN pods p ON p.uid = substr(j.value, 5) LEFT JOIN endpoints e ON e.key = j.value",
  named: "SELECT 'pod:' || uid AS key FROM pods WHERE namespace = ?1 AND name = ?2 " +
    "UNION SELECT key FROM endpoints WHERE kind = 'pod' AND namespace = ?1 AND name = ?2",
} as const;

/** The endpoint a key names, pods without their names (see decodeEndpoints). */
export function endpointOfKey(key: string): StoredEndpoint {
  if (key.startsWith(POD)) return { kind: "pod", uid: key.slice(POD.length), namespace: "", name: "", node: "" };
  if (key.startsWith("svc:")) {
    const ref = key.slice(4);
    const slash = ref.indexOf("/");
    return { kind: "service", namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
  }
  if (key.startsWith("ip:")) return { kind: "world", ip: key.slice(3) };
  return { kind: "other" };
}

/** Every key of `keys` decoded, pods with their names where known. */
export async function decodeEndpoints(db: Db, keys: Iterable<string>): Promise<Map<string, StoredEndpoint>> {
  const out = new Map<string, StoredEndpoint>();
  const podKeys: string[] = [];
  for (const key of new Set(keys)) {
    if (key.startsWith(POD)) podKeys.push(key);
    else out.set(key, endpointOfKey(key));
  }
  if (podKeys.length === 0) return out;
  const rows = (await db.$client.execute({ sql: SQL.pods, args: [JSON.stringify(podKeys)] })).rows;
  for (const row of rows) {
    const key = String(row.key);
    const pod: PodEndpoint = {
      kind: "pod",
      uid: key.slice(POD.length),
      namespace: String(row.namespace),
      name: String(row.name),
      node: String(row.node),
    };
    out.set(key, pod);
  }
  return out;
}

/**
 * The endpoint keys of every pod called namespace/name that statistics may
 * mention (a StatefulSet's pod keeps its name across uids); empty when no
 * such pod is known.
 */
export async function podKeysNamed(db: Db, namespace: string, name: string): Promise<string[]> {
  const rows = (await db.$client.execute({ sql: SQL.named, args: [namespace, name] })).rows;
  return rows.map((r) => String(r.key)).sort();
}
