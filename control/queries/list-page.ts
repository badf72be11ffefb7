// SPDX-License-Identifier: Apache-2.0
/**
 * One page of a long list (the /pods and /services pages): rows from an
 * offset, a fixed number at a time. An offset past the end shows the last
 * page rather than nothing (a filter narrowed the list under a later page).
 */

/** Rows per page of the pages' lists: enough to scan, few enough for the page to render fast at 100,000 pods. */
export const LIST_PAGE_SIZE = 100;

export interface ListPage<T> {
  rows: T[];
  /** Rows matching, on every page. */
  total: number;
  /** Index of the first row shown in the whole list (0-based). */
  offset: number;
  limit: number;
}

/** The page of `rows` (already filtered and sorted) starting at `offset`, clamped to the list. */
export function pageOf<T>(rows: readonly T[], offset: number, limit = LIST_PAGE_SIZE): ListPage<T> {
  const lastStart = rows.length === 0 ? 0 : Math.floor((rows.length - 1) / limit) * limit;
  const start = Math.min(Math.max(0, Math.floor(offset / limit) * limit), lastStart);
  return { rows: rows.slice(start, start + limit), total: rows.length, offset: start, limit };
}
