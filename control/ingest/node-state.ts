// SPDX-License-Identifier: Apache-2.0
/**
 * What storing a batch reads of its node before writing anything, in one
 * statement: the batch's boot's progress (idempotency), the node's current
 * boot (how the batch relates to it), its interface totals (what rates and
 * deltas of a current batch are taken against) and its desired state (the
 * acknowledgement's). Read at the start of the batch's transaction: nothing
 * the batch writes changes the desired state, and a switch waits in the
 * write queue until the transaction is over (control/db/write-queue.ts).
 *
 * Why one statement: libSQL's client prepares every statement anew and
 * converts each result on the way out, ~0.1 ms a statement at 1,000
 * nodes, which made these four reads as costly as the pods upsert's
 * writing; as subqueries of one statement they cost about one.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import { type ModuleLayer, toDesiredState } from "../registry/desired-state.ts";
import type { Batch, DesiredState } from "../wire/batch.ts";
import { timedCounters } from "./interface-samples.ts";
import type { TimedCounters } from "./rates.ts";

export interface StoredNode {
  bootId: string;
  lastTs: number;
}

export interface NodeState {
  /** Highest seq stored for the batch's boot; undefined for a boot never seen. */
  bootLastSeq: number | undefined;
  /** The node's current boot; undefined for a node that never reported. */
  node: StoredNode | undefined;
  /** The node's interface totals by name, all of its current boot. */
  totals: Map<string, TimedCounters>;
  desired: DesiredState;
  /**
   * Whether the node holds a live credential now, inside the write transaction: the route checked the batch's
   * before it waited for its turn, and the node may have been deleted or its credentials revoked meanwhile.
   */
  credentialed: boolean;
}

// ?1 is the node, ?2 the batch's boot. Each subquery is a primary-key lookup (interfaces: the
// node's range of it); the totals come as one JSON text, which libSQL hands over as one value.
const SQL = "SELECT (SELECT last_seq FROM boots WHERE node = ?1 AND boot_id = ?2) AS boot_last_seq, " +
  "(SELECT json_array(boot_id, last_ts) FROM nodes WHERE name = ?1) AS node, " +
  "(SELECT json_group_array(json_array(ifname, ifindex, ts, rx_packets, rx_bytes, tx_packets, tx_bytes, drops)) FROM interfaces WHERE node = ?1) AS totals, " +
  "(SELECT json_array(version, json(modules)) FROM desired_states WHERE node = ?1) AS desired, " +
  "(SELECT json_array(version, json(modules)) FROM module_defaults WHERE id = 1) AS defaults, " +
  "EXISTS (SELECT 1 FROM node_credentials WHERE node = ?1 AND revoked_at IS NULL) AS credentialed";

export async function readNodeState(tx: SqlTransaction, batch: Batch): Promise<NodeState> {
  const row = (await tx.execute({ sql: SQL, args: [batch.node, batch.bootId] })).rows[0]!;
  const node = row.node === null ? undefined : (JSON.parse(String(row.node)) as [string, number]);
  const totals = JSON.parse(String(row.totals)) as Array<[string, ...number[]]>;
  return {
    bootLastSeq: row.boot_last_seq === null ? undefined : Number(row.boot_last_seq),
    node: node === undefined ? undefined : { bootId: node[0], lastTs: node[1] },
    totals: new Map(
      totals.map(([ifname, ifindex, ts, ...counters]) => [ifname, timedCounters(ifindex!, ts!, counters)]),
    ),
    desired: toDesiredState(moduleLayer(row.defaults), moduleLayer(row.desired)),
    credentialed: Number(row.credentialed) === 1,
  };
}

/** A `json_array(version, modules)` of the SQL above; none at version 0. */
function moduleLayer(value: unknown): ModuleLayer {
  if (value === null) return { version: 0, modules: {} };
  const [version, modules] = JSON.parse(String(value)) as [number, ModuleLayer["modules"]];
  return { version, modules };
}
