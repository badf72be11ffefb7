// SPDX-License-Identifier: Apache-2.0
/** Today's Batch written as a compact batch (shape.ts). */
import type { Batch } from "../batch.ts";
import type { PodInfo } from "../pods.ts";
import { ABSENT, type Column, type Table, TABLES } from "./columns.ts";
import { contentHash } from "./content-hash.ts";
import { type Dictionary, dictionary } from "./dictionary.ts";
import type { Columns, CompactBatch } from "./shape.ts";

/**
 * The hashes of what the control plane holds for this node (those of the last batch it acknowledged): a part
 * whose hash is unchanged is sent as its hash alone. Absent: sent whole.
 */
export interface EncodeOptions {
  previousInventoryHash?: string;
  previousPodsHash?: string;
}

export function encodeCompact(batch: Batch, opts: EncodeOptions = {}): CompactBatch {
  const { interfaces, pods, flows, tcp, drops, inventory, ...rest } = batch;
  const dict = dictionary();
  const out: CompactBatch = {
    ...rest,
    strings: dict.strings,
    interfaces: columns(TABLES.interfaces, interfaces, dict),
  };
  if (inventory) {
    out.inventoryHash = contentHash(inventory);
    if (out.inventoryHash !== opts.previousInventoryHash) out.inventory = inventory;
  }
  if (pods) {
    const info = pods.map(podInfo), infoHash = contentHash(info);
    out.pods = { infoHash, counters: columns(TABLES.pods, pods, dict) };
    if (infoHash !== opts.previousPodsHash) out.pods.info = info;
  }
  if (flows) out.flows = columns(TABLES.flows, flows, dict);
  if (tcp) out.tcp = columns(TABLES.tcp, tcp, dict);
  if (drops) out.drops = columns(TABLES.drops, drops, dict);
  return out;
}

/** A pod's metadata: its report without the counters (which travel as columns). */
export function podInfo(pod: NonNullable<Batch["pods"]>[number]): PodInfo {
  return Object.fromEntries(Object.entries(pod).filter(([k]) => !(k in TABLES.pods.columns))) as PodInfo;
}

function columns(table: Table, records: readonly object[], dict: Dictionary): Columns {
  return Object.fromEntries(
    Object.entries(table.columns)
      .filter(([field]) =>
        !table.late.has(field) || records.some((r) => (r as Record<string, unknown>)[field] !== undefined)
      )
      .map(([field, column]) => [field, records.map((r) => cell(column, (r as Record<string, unknown>)[field], dict))]),
  );
}

function cell(column: Column, value: unknown, dict: Dictionary): number | null {
  switch (column.kind) {
    case "number":
      return (value as number | undefined) ?? null;
    case "boolean":
      return value ? 1 : 0;
    case "enum":
      return column.values.indexOf(value as string);
    case "string":
      return value === undefined ? ABSENT : dict.index(value as string);
  }
}
