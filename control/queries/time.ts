// SPDX-License-Identifier: Apache-2.0
/** Times leave the API as ISO 8601 strings; the database keeps ms since the epoch. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
