// SPDX-License-Identifier: Apache-2.0
/**
 * The columns of a compact batch, derived from today's record schemas (monitoring.ts, batch.ts) so that every
 * field of a record is carried, and a field added there is carried here without another edit:
 *
 * - a number stays a number, with the record schema's own bounds (an optional one is null when absent);
 * - a boolean becomes 0 or 1;
 * - an enum becomes the index of its value in the schema's list;
 * - any other value (a string: addresses, pod uids, interface names, drop reasons) becomes an index into the
 *   batch's dictionary (`strings`), or -1 when an optional one is absent. The string is validated with the
 *   record schema once per dictionary entry, not once per record.
 *
 * A field added to a record after compact batches began (in ADDED_IN as [table, "*", field] under a version
 * after COMPACT_SINCE_VERSION) is a "late" column: it may be missing, meaning absent from every record. The
 * encoder leaves it out when no record has it (as in every batch downgraded past it), so a control plane of the
 * version before, whose schema has no such column, reads the batch.
 */
import { z } from "zod";
import { ADDED_IN, COMPACT_SINCE_VERSION } from "../version.ts";
import { InterfaceCounters, MAX_INTERFACES } from "../batch.ts";
import {
  DropRecord,
  FlowRecord,
  MAX_DROP_RECORDS,
  MAX_FLOW_RECORDS,
  MAX_PODS,
  MAX_TCP_RECORDS,
  PodReport,
  TcpRecord,
} from "../monitoring.ts";
import { PodInfo } from "../pods.ts";

/** The most entries a batch's dictionary may hold: every string of a batch at its caps fits. */
export const MAX_STRINGS = 4 * (MAX_FLOW_RECORDS + MAX_TCP_RECORDS + MAX_DROP_RECORDS);
/** An optional string that is absent. */
export const ABSENT = -1;

/**
 * A column: what its elements mean, and `check`, which says what is wrong with one element (undefined: nothing).
 * The checks are plain comparisons, not a zod parse per element: that would cost as much as today's validation.
 */
export type Column =
  & { check: (value: unknown) => string | undefined }
  & (
    | { kind: "number" }
    | { kind: "boolean" }
    | { kind: "enum"; values: readonly string[] }
    | { kind: "string"; schema: z.ZodType; optional: boolean }
  );

/** A record type as columns: its fields in the record schema's order, and the most records a batch may hold. */
export interface Table {
  columns: Readonly<Record<string, Column>>;
  /** Its late columns (above): optional in the batch, left out when no record has them. */
  late: ReadonlySet<string>;
  max: number;
}

function columnOf(field: z.ZodType): Column {
  const optional = field instanceof z.ZodOptional;
  const inner = optional ? field.unwrap() as z.ZodType : field;
  if (inner instanceof z.ZodNumber) return { kind: "number", check: numberCheck(inner, optional) };
  if (inner instanceof z.ZodBoolean && !optional) {
    return { kind: "boolean", check: (v) => (v === 0 || v === 1 ? undefined : "must be 0 or 1 (false or true)") };
  }
  if (inner instanceof z.ZodEnum && !optional) {
    const values = inner.options as string[];
    const problem = `must be the index of one of ${JSON.stringify(values)}`;
    return { kind: "enum", values, check: (v) => (isIndex(v, 0, values.length) ? undefined : problem) };
  }
  if (inner instanceof z.ZodBoolean || inner instanceof z.ZodEnum) {
    throw new Error("an optional boolean or enum has no column kind yet: give it one before adding such a field");
  }
  const problem = `must be an index into strings${optional ? `, or ${ABSENT} when absent` : ""}`;
  const lowest = optional ? ABSENT : 0;
  return {
    kind: "string",
    schema: inner,
    optional,
    check: (v) => (isIndex(v, lowest, MAX_STRINGS) ? undefined : problem),
  };
}

const isIndex = (v: unknown, from: number, to: number) =>
  Number.isInteger(v) && (v as number) >= from && (v as number) < to;

/**
 * A number field's check, as exact as its zod schema: a whole number strictly inside the schema's bounds passes
 * by comparison; anything else (a bound itself, which may be excluded; a fraction; not a number) is decided by
 * the schema (the bounds once). Schemas with checks other than bounds and "whole number" are left to zod for every element.
 */
function numberCheck(schema: z.ZodNumber, optional: boolean): (v: unknown) => string | undefined {
  const exact = optional ? schema.nullable() : schema;
  const bySchema = (v: unknown) => exact.safeParse(v).error?.issues[0]?.message;
  const simple = (schema.def.checks ?? []).every((c) => {
    const def = c._zod.def as { check: string; format?: string };
    return def.check === "greater_than" || def.check === "less_than" ||
      (def.check === "number_format" && def.format === "safeint");
  });
  if (!simple) return bySchema;
  const [low, high, whole] = [schema.minValue ?? -Infinity, schema.maxValue ?? Infinity, schema.isInt];
  // The bounds themselves (0 for a counter: common) decided once.
  const [lowOk, highOk] = [bySchema(low) === undefined, bySchema(high) === undefined];
  return (v) => {
    if (typeof v === "number" && v > low && v < high && (whole ? Number.isSafeInteger(v) : Number.isFinite(v))) {
      return undefined;
    }
    if ((v === low && lowOk) || (v === high && highOk) || (v === null && optional)) return undefined;
    return bySchema(v);
  };
}

function tableOf(name: string, record: z.ZodObject, max: number): Table {
  const columns = Object.fromEntries(Object.entries(record.shape).map(([k, f]) => [k, columnOf(f as z.ZodType)]));
  const late = new Set(
    Object.entries(ADDED_IN)
      .filter(([v]) => Number(v) > COMPACT_SINCE_VERSION)
      .flatMap(([, paths]) => paths.filter((p) => p.length === 3 && p[0] === name && p[1] === "*").map((p) => p[2]!)),
  );
  for (const field of late) {
    if (
      !(columns[field]?.kind === "string" || columns[field]?.kind === "number") || !record.shape[field]?.isOptional()
    ) {
      throw new Error(`${name}.${field}: a late column must be an optional field of the record`);
    }
  }
  return { columns, late, max };
}

/** A pod's counters: what a PodReport adds to its PodInfo (the metadata, sent apart: shape.ts). */
const PodCounters = z.strictObject(
  Object.fromEntries(Object.entries(PodReport.shape).filter(([k]) => !(k in PodInfo.shape))),
);

/** The record types a compact batch carries as columns, by their name in the batch. */
export const TABLES = {
  interfaces: tableOf("interfaces", InterfaceCounters, MAX_INTERFACES),
  pods: tableOf("pods", PodCounters, MAX_PODS),
  flows: tableOf("flows", FlowRecord, MAX_FLOW_RECORDS),
  tcp: tableOf("tcp", TcpRecord, MAX_TCP_RECORDS),
  drops: tableOf("drops", DropRecord, MAX_DROP_RECORDS),
} as const;

/** The zod schema of one column's array: an array and no longer than `max`; its elements are checked by decode. */
export function columnSchema(max: number) {
  return z.custom<(number | null)[]>(
    (v) => Array.isArray(v) && v.length <= max,
    `must be an array of at most ${max} entries`,
  );
}
