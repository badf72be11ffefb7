// SPDX-License-Identifier: Apache-2.0
/**
 * The thresholds a new installation starts with, so that the failures every
 * cluster cares about alert out of the box: an agent gone silent (no batch for
 * two minutes) and a surge of kernel drops on a node. Created by the first
 * start on a database (control/main.ts, unless EBPF_K8S_DEFAULT_THRESHOLDS=off),
 * in the same transaction as the `seeds` row that says so: later starts see
 * the row and never create them again, so thresholds the operator edited or
 * deleted stay as the operator left them.
 */
import { newId } from "../auth/secrets.ts";
import type { Db } from "../db/client.ts";
import { seeds, thresholds } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import type { ThresholdInput } from "./model.ts";
import { thresholdColumns } from "./thresholds.ts";

export const DEFAULT_THRESHOLDS_SEED = "default-thresholds";

export const DEFAULT_THRESHOLDS: readonly ThresholdInput[] = [
  {
    metric: "heartbeatAgeSeconds",
    scope: { kind: "all" },
    upper: 120,
    holdSeconds: 0,
    description: "agent silent: no batch from the node's agent for 2 minutes (default threshold)",
    enabled: true,
  },
  {
    metric: "dropsPerSec",
    scope: { kind: "all" },
    upper: 100,
    holdSeconds: 60,
    description: "drops surge: over 100 packets/s dropped by the node's kernel for a minute (default threshold)",
    enabled: true,
  },
];

/** Creates the default thresholds unless this database had them once; says whether it did now. */
export function seedDefaultThresholds(db: Db, now: number): Promise<boolean> {
  return writeTransaction(db, async (tx) => {
    // The mark first, and only if absent: of replicas starting together on one database, the one whose write
    // comes second (SQLite and sqld serialise writers) finds it and creates nothing.
    const marked = await tx.insert(seeds).values({ name: DEFAULT_THRESHOLDS_SEED, appliedAt: now })
      .onConflictDoNothing()
      .returning();
    if (marked.length === 0) return false;
    for (const [i, t] of DEFAULT_THRESHOLDS.entries()) {
      await tx.insert(thresholds).values({
        id: newId(),
        ...thresholdColumns(t),
        // One ms apart: the list is ordered by creation.
        createdAt: now + i,
        updatedAt: now + i,
      });
    }
    return true;
  });
}
