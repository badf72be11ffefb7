// SPDX-License-Identifier: Apache-2.0
/**
 * Nodes deleted, on /metrics: by an admin, or removed after EBPF_K8S_REMOVE_LOST_NODES_AFTER Lost
 * (control/registry/node-removal.ts).
 */
import type { Db } from "../db/client.ts";
import { nodesRemoved } from "../registry/node-removal.ts";
import type { Family } from "../wire/exposition.ts";

export async function nodeRemovalFamilies(db: Db): Promise<Family[]> {
  const removed = await nodesRemoved(db);
  return [{
    name: "ebpf_k8s_nodes_removed_total",
    help: "Nodes deleted from the registry, by reason: admin (API or node page), or lost (Lost longer than " +
      "EBPF_K8S_REMOVE_LOST_NODES_AFTER)",
    type: "counter",
    samples: [
      { labels: { reason: "admin" }, value: removed.admin },
      { labels: { reason: "lost" }, value: removed.lost },
    ],
  }];
}
