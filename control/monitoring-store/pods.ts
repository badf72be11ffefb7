// SPDX-License-Identifier: Apache-2.0
/**
 * Pods from a batch into the `pods` table: presence (appeared, vanished,
 * returned; control/monitoring/pod-series.ts decides, this module writes
 * what it decided), metadata, cumulative RX/TX and rates.
 *
 * Only the batch's node's pods and the pods the batch lists are read, so the
 * cost follows the node's pod count, not the cluster's.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import { insertJsonRows, jsonRows, type JsonScalar } from "../db/json-rows.ts";
import { pods } from "../db/schema.ts";
import { NO_RATES } from "../ingest/rates.ts";
import { observePods, type PodPresence, podRates, type TimedPodCounters } from "../monitoring/pod-series.ts";
import type { Batch } from "../wire/batch.ts";
import type { PodReport } from "../wire/monitoring.ts";
import { hashText } from "../wire/compact/content-hash.ts";

const SQL = {
  // One JSON text rather than rows (see control/ingest/store.ts, previousTotals).
  known: "SELECT json_group_array(json_array(uid, node, first_seen, last_seen, vanished_ts, boot_id, ts, ifindex, " +
    "rx_packets, rx_bytes, tx_packets, tx_bytes, drops, meta_hash)) AS rows FROM pods " +
    "WHERE node = ? OR uid IN (SELECT value FROM json_each(?))",
  // A pod whose metadata is as stored: only what moves with every report (see storePods).
  counters: "UPDATE pods SET rx_packets = ?, rx_bytes = ?, tx_packets = ?, tx_bytes = ?, drops = ?, " +
    "rx_packets_per_sec = ?, rx_bytes_per_sec = ?, tx_packets_per_sec = ?, tx_bytes_per_sec = ?, " +
    "ts = ?, last_seen = ?, updated_at = ? WHERE uid = ?",
  vanish:
    "UPDATE pods SET vanished_ts = ?, vanished_at = ?, updated_at = ? WHERE uid IN (SELECT value FROM json_each(?))",
} as const;

const POD_KEYS = [
  "uid",
  "node",
  "namespace",
  "name",
  "labels",
  "owner",
  "ips",
  "hostVeth",
  "ifindex",
  "netnsIno",
  "cgroup",
  "hostNetwork",
  "bootId",
  "rxPackets",
  "rxBytes",
  "txPackets",
  "txBytes",
  "drops",
  "rxPacketsPerSec",
  "rxBytesPerSec",
  "txPacketsPerSec",
  "txBytesPerSec",
  "ts",
  "firstSeen",
  "lastSeen",
  "vanishedTs",
  "vanishedAt",
  "metaHash",
] as const satisfies ReadonlyArray<keyof typeof pods.$inferSelect>;

interface Known {
  presence: PodPresence;
  bootId: string;
  counters: TimedPodCounters;
  /** metaHash of the stored row's metadata; null for a row stored before the column existed. */
  metaHash: string | null;
}

export interface PodChanges {
  appeared: string[];
  vanished: string[];
  returned: string[];
}

/**
 * What a pod's row holds besides its counters and presence, in POD_KEYS order from namespace to bootId: its
 * hash (metaHash) tells a report that changed only counters, whose row can then be updated narrowly.
 */
function metadata(pod: PodReport, bootId: string): JsonScalar[] {
  return [
    pod.namespace,
    pod.name,
    JSON.stringify(pod.labels),
    pod.owner ? JSON.stringify(pod.owner) : null,
    JSON.stringify(pod.ips),
    pod.hostVeth ?? null,
    pod.ifindex ?? null,
    pod.netnsIno ?? null,
    pod.cgroup ?? null,
    pod.hostNetwork ? 1 : 0,
    bootId,
  ];
}

/** Stores the pods of a batch of the node's current boot (a late batch's pods are old news: not called). */
export async function storePods(
  tx: SqlTransaction,
  batch: Batch & { pods: PodReport[] },
  receivedAt: number,
): Promise<PodChanges> {
  const uids = batch.pods.map((p) => p.uid);
  const known = await readKnown(tx, batch.node, uids);
  const update = observePods(
    [...known.values()].map((k) => k.presence),
    batch.node,
    batch.ts,
    uids,
  );
  const presence = new Map(update.presence.map((p) => [p.uid, p]));

  const rows: JsonScalar[][] = [];
  const counters: JsonScalar[][] = [];
  for (const pod of batch.pods) {
    const p = presence.get(pod.uid)!;
    // Not applied: the stored row comes from a newer batch than this one.
    if (p.node !== batch.node || p.lastSeen !== batch.ts) continue;
    const had = known.get(pod.uid);
    const cur: TimedPodCounters = { ...pod, ts: batch.ts };
    const rates = had !== undefined && had.bootId === batch.bootId ? podRates(had.counters, cur) : NO_RATES;
    const meta = metadata(pod, batch.bootId);
    // JSON of the values, so that null and "" (a pod without a host veth, one with an empty one) differ.
    const metaHash = hashText(JSON.stringify(meta));
    const moving = [
      pod.rxPackets,
      pod.rxBytes,
      pod.txPackets,
      pod.txBytes,
      pod.drops,
      rates.rxPacketsPerSec,
      rates.rxBytesPerSec,
      rates.txPacketsPerSec,
      rates.txBytesPerSec,
      batch.ts,
    ];
    if (
      had !== undefined && had.metaHash === metaHash && had.presence.node === batch.node &&
      had.presence.vanishedAt === undefined && had.presence.firstSeen === p.firstSeen
    ) {
      counters.push([...moving, p.lastSeen, receivedAt, pod.uid]);
    } else {
      rows.push([pod.uid, batch.node, ...meta, ...moving, p.firstSeen, p.lastSeen, null, null, metaHash]);
    }
  }
  if (rows.length > 0) {
    // A uid's namespace and name never change (Kubernetes makes a new pod, with a new uid, instead):
    // leaving them out of the update spares rewriting their index for every pod of every batch.
    const keep = ["namespace", "name"] as const;
    await tx.execute(
      insertJsonRows(pods, {
        rows: jsonRows(POD_KEYS, rows),
        shared: { updatedAt: receivedAt },
        upsertOn: ["uid"],
        keep,
      }),
    );
  }
  // Most reports change only a pod's counters: the narrow update rewrites no index and binds 13 values, not 28
  // (measured 5× cheaper than the whole row's upsert, prepared).
  await tx.executeMany(SQL.counters, counters);
  if (update.vanished.length > 0) {
    await tx.execute({ sql: SQL.vanish, args: [batch.ts, receivedAt, receivedAt, JSON.stringify(update.vanished)] });
  }
  return { appeared: update.appeared, vanished: update.vanished, returned: update.returned };
}

async function readKnown(tx: SqlTransaction, node: string, uids: string[]): Promise<Map<string, Known>> {
  const result = (await tx.execute({ sql: SQL.known, args: [node, JSON.stringify(uids)] })).rows[0];
  type Row = [
    string,
    string,
    number,
    number,
    number | null,
    string,
    number,
    number | null,
    number,
    number,
    number,
    number,
    number,
    string | null,
  ];
  const rows = JSON.parse(String(result?.rows ?? "[]")) as Row[];
  return new Map(
    rows.map((
      [
        uid,
        rowNode,
        firstSeen,
        lastSeen,
        vanishedTs,
        bootId,
        ts,
        ifindex,
        rxPackets,
        rxBytes,
        txPackets,
        txBytes,
        drops,
        metaHash,
      ],
    ) => [
      uid,
      {
        presence: {
          uid,
          node: rowNode,
          firstSeen,
          lastSeen,
          ...(vanishedTs === null ? {} : { vanishedAt: vanishedTs }),
        },
        bootId,
        counters: { uid, ts, ...(ifindex === null ? {} : { ifindex }), rxPackets, rxBytes, txPackets, txBytes, drops },
        metaHash,
      },
    ]),
  );
}
