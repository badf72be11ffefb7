// SPDX-License-Identifier: Apache-2.0
/**
 * Counters added up in SQL, saturating at Number.MAX_SAFE_INTEGER: as they
 * are stored (lb, gateway and accel counters per minute) and as they are
 * read (over a window).
 *
 * Each counter a batch carries fits a JS number exactly (the wire's Counter),
 * but a sum of them need not: SQLite's sum() fails past 2^63 ("integer
 * overflow", which failed the whole batch), and libSQL refuses to read an
 * integer past 2^53 as a JS number (which failed every page showing it).
 * Below 2^53 these are exact; at it, they stay there.
 */
import { type SQL, sql, type SQLWrapper } from "drizzle-orm";

export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * sum(expr), saturating: total() adds as a float, exactly below 2^53, and
 * never overflows; the cast makes it an integer again (SQLite writes a float
 * into JSON with 15 digits only). `over`: as a window function, e.g. "OVER ()".
 */
export const sumCounters = (expr: string, over = "") => `CAST(min(total(${expr}) ${over}, ${MAX_COUNT}) AS INTEGER)`;

/** The same for a drizzle column. */
export const sumOf = (column: SQLWrapper): SQL<number> =>
  sql<number>`CAST(min(total(${column}), ${sql.raw(String(MAX_COUNT))}) AS INTEGER)`;

/**
 * For ON CONFLICT … DO UPDATE SET: each column plus the new row's, saturating
 * (both are at most MAX_COUNT, so the addition itself cannot overflow).
 */
export const addExcluded = (...columns: string[]) =>
  columns.map((c) => `${c} = min(${c} + excluded.${c}, ${MAX_COUNT})`).join(", ");
