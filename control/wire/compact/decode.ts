// SPDX-License-Identifier: Apache-2.0
/**
 * A compact batch (shape.ts) read back into today's Batch, validated without an object per record: zod checks
 * all but the columns' elements, then one pass per table checks the lengths, each element (columns.ts: plain
 * comparisons, as strict as the field's schema), the dictionary indexes, and each dictionary entry a string
 * column uses once against its field's schema. Only then are the records built, so a bad batch yields an
 * error naming the field and the first bad index, and nothing else.
 */
import type { z } from "zod";
import type { Batch, Inventory } from "../batch.ts";
import type { PodInfo } from "../pods.ts";
import { ABSENT, type Column, type Table, TABLES } from "./columns.ts";
import { contentHash } from "./content-hash.ts";
import { type Columns, CompactBatch } from "./shape.ts";

export class CompactBatchError extends Error {
  /** Where: "flows.src[17]", "inventoryHash". */
  readonly path: string;
  /** What is wrong there (the message without the path). */
  readonly problem: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = "CompactBatchError";
    this.path = path;
    this.problem = problem;
  }
}

/** A part the control plane holds for the batch's node (from an earlier batch), and its hash. */
export interface Held<T> {
  hash: string;
  value: T;
}

/** What a batch sending only a hash means: the parts held for its node. */
export interface DecodeOptions {
  knownInventory?: Held<Inventory>;
  knownPods?: Held<PodInfo[]>;
}

/** The Batch `input` (parsed JSON) encodes; throws a CompactBatchError when anything in it is wrong. */
export function decodeCompact(input: unknown, opts: DecodeOptions = {}): Batch {
  const parsed = CompactBatch.safeParse(input);
  if (!parsed.success) throw zodError(parsed.error);
  const { strings, inventoryHash, interfaces, pods, flows, tcp, drops, inventory, ...rest } = parsed.data;
  checkTable("interfaces", TABLES.interfaces, interfaces, strings);
  const podCount = pods && checkTable("pods.counters", TABLES.pods, pods.counters, strings);
  if (flows) checkTable("flows", TABLES.flows, flows, strings);
  if (tcp) checkTable("tcp", TABLES.tcp, tcp, strings);
  if (drops) checkTable("drops", TABLES.drops, drops, strings);
  const whole = held("inventoryHash", inventory, inventoryHash, opts.knownInventory);
  const info = pods && held("pods.infoHash", pods.info, pods.infoHash, opts.knownPods)!;
  if (info && info.length !== podCount) {
    throw new CompactBatchError("pods.info", `${info.length} pods, the counter columns have ${podCount}`);
  }

  const batch: Batch = { ...rest, interfaces: records(TABLES.interfaces, interfaces, strings) as Batch["interfaces"] };
  if (whole) batch.inventory = whole;
  if (info) {
    batch.pods = records(TABLES.pods, pods!.counters, strings).map((c, i) => ({ ...info[i]!, ...c })) as Batch["pods"];
  }
  if (flows) batch.flows = records(TABLES.flows, flows, strings) as Batch["flows"];
  if (tcp) batch.tcp = records(TABLES.tcp, tcp, strings) as Batch["tcp"];
  if (drops) batch.drops = records(TABLES.drops, drops, strings) as Batch["drops"];
  return batch;
}

/** A part sent whole (its hash, when sent too, must match it), or by its hash alone (it must be the one held). */
function held<T>(hashPath: string, sent: T | undefined, hash: string | undefined, known: Held<T> | undefined) {
  if (sent !== undefined) {
    if (hash !== undefined && hash !== contentHash(sent)) {
      throw new CompactBatchError(hashPath, "does not match what was sent with it");
    }
    return sent;
  }
  if (hash === undefined) return undefined;
  if (known?.hash !== hash) {
    throw new CompactBatchError(hashPath, `${hash} is not what is held for this node: send it whole`);
  }
  return known.value;
}

function zodError(error: z.ZodError): CompactBatchError {
  const issue = error.issues[0]!;
  const path = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("");
  return new CompactBatchError(path || "(batch)", issue.message);
}

/**
 * Equal lengths, dictionary indexes in range, and each dictionary entry used valid for the field using it.
 * Returns the number of records.
 */
function checkTable(name: string, table: Table, columns: Columns, strings: readonly string[]): number {
  const fields = Object.keys(table.columns).filter((f) => columns[f] !== undefined); // a late column may be missing
  const length = columns[fields[0]!]!.length;
  for (const field of fields) {
    const column = table.columns[field]!, values = columns[field]!;
    if (values.length !== length) {
      throw new CompactBatchError(
        `${name}.${field}[${Math.min(values.length, length)}]`,
        `column has ${values.length} entries, ${name}.${fields[0]} has ${length}`,
      );
    }
    for (let i = 0; i < length; i++) {
      const problem = column.check(values[i]);
      if (problem !== undefined) throw new CompactBatchError(`${name}.${field}[${i}]`, problem);
    }
    if (column.kind === "string") checkStrings(`${name}.${field}`, column, values as number[], strings);
  }
  return length;
}

function checkStrings(path: string, column: Column & { kind: "string" }, values: number[], strings: readonly string[]) {
  const checked = new Set<number>();
  for (let i = 0; i < values.length; i++) {
    const index = values[i]!;
    if (index === ABSENT || checked.has(index)) continue;
    if (index >= strings.length) {
      throw new CompactBatchError(
        `${path}[${i}]`,
        `dictionary index ${index} is out of range (${strings.length} strings)`,
      );
    }
    const result = column.schema.safeParse(strings[index]);
    if (!result.success) {
      throw new CompactBatchError(
        `${path}[${i}]`,
        `strings[${index}] ${JSON.stringify(strings[index])}: ${result.error.issues[0]!.message}`,
      );
    }
    checked.add(index);
  }
}

/** The records of a checked table, with each field in its record schema's order and absent optional ones left out. */
function records(table: Table, columns: Columns, strings: readonly string[]): Record<string, unknown>[] {
  const fields = Object.entries(table.columns).filter(([f]) => columns[f] !== undefined);
  const length = columns[fields[0]![0]]!.length;
  const out = new Array<Record<string, unknown>>(length);
  for (let i = 0; i < length; i++) {
    const record: Record<string, unknown> = {};
    for (const [field, column] of fields) {
      const value = columns[field]![i]!;
      const decoded = cell(column, value, strings);
      if (decoded !== undefined) record[field] = decoded;
    }
    out[i] = record;
  }
  return out;
}

function cell(column: Column, value: number | null, strings: readonly string[]): unknown {
  switch (column.kind) {
    case "number":
      return value ?? undefined;
    case "boolean":
      return value === 1;
    case "enum":
      return column.values[value!];
    case "string":
      return value === ABSENT ? undefined : strings[value!];
  }
}
