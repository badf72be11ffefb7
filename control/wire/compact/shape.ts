// SPDX-License-Identifier: Apache-2.0
/**
 * The compact batch (README.md of control/wire, "Compact batches"): today's Batch with its record arrays
 * (interfaces, pods' counters, flows, tcp, drops) turned into columns, their strings into a per-batch
 * dictionary, and the parts that rarely change (the inventory, the pods' metadata) replaced by their hash
 * when the control plane already holds them.
 */
import { z } from "zod";
import { Batch } from "../batch.ts";
import { MAX_PODS } from "../monitoring.ts";
import { PodInfo } from "../pods.ts";
import { columnSchema, MAX_STRINGS, type Table, TABLES } from "./columns.ts";
import { CONTENT_HASH } from "./content-hash.ts";

/** Longest dictionary entry: longer than any string a record field accepts (the fields check their own bound). */
const MAX_STRING_LENGTH = 256;

const Hash = z.string().regex(CONTENT_HASH, "must be 16 lowercase hex digits");

/** A table's columns: one array per field, all of the same length (checked by decode, with the first bad index). */
function tableSchema(table: Table) {
  const column = columnSchema(table.max);
  // A late column may be missing (columns.ts); typed as present, for decode.ts checks which are there.
  const late = column.optional() as unknown as typeof column;
  return z.strictObject(
    Object.fromEntries(Object.keys(table.columns).map((k) => [k, table.late.has(k) ? late : column])),
  );
}

export const CompactBatch = Batch.omit({ interfaces: true, pods: true, flows: true, tcp: true, drops: true }).extend({
  /** The dictionary the string columns index. */
  strings: z.array(z.string().max(MAX_STRING_LENGTH)).max(MAX_STRINGS),
  /** The inventory's hash (content-hash.ts), whenever the batch has one; `inventory` itself only when it changed. */
  inventoryHash: Hash.optional(),
  interfaces: tableSchema(TABLES.interfaces),
  /** The pods' counters as columns; their metadata (PodInfo, in the same order) whole only when it changed. */
  pods: z.strictObject({
    infoHash: Hash,
    info: z.array(PodInfo).max(MAX_PODS).optional(),
    counters: tableSchema(TABLES.pods),
  }).optional(),
  flows: tableSchema(TABLES.flows).optional(),
  tcp: tableSchema(TABLES.tcp).optional(),
  drops: tableSchema(TABLES.drops).optional(),
});
export type CompactBatch = z.infer<typeof CompactBatch>;
/** One table as it travels: field name → column. */
export type Columns = Record<string, (number | null)[]>;
