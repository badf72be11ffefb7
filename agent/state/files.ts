// SPDX-License-Identifier: Apache-2.0
/**
 * Durable small files: a file is written under a temporary name, flushed to
 * disk, renamed over its final name and the directory flushed, so a crash
 * (kill -9, power loss) leaves either the old content or the new one, never
 * a torn file. Readers skip the temporary names.
 */
import type { z } from "zod";

/** Suffix of files being written; a leftover one is from an interrupted write. */
export const TMP_SUFFIX = ".tmp";

/** Writes `text` to `path` atomically and durably, created with `mode`. */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = path + TMP_SUFFIX;
  removeIfExists(tmp); // a leftover would keep its old mode
  const f = Deno.openSync(tmp, { write: true, createNew: true, mode });
  try {
    const data = new TextEncoder().encode(text);
    for (let off = 0; off < data.length;) off += f.writeSync(data.subarray(off));
    f.syncSync();
  } finally {
    f.close();
  }
  Deno.renameSync(tmp, path);
  syncDir(path.slice(0, path.lastIndexOf("/")) || "/");
}

/** Flushes a directory, making renames and removals in it durable. */
export function syncDir(dir: string): void {
  const d = Deno.openSync(dir, { read: true });
  try {
    d.syncSync();
  } finally {
    d.close();
  }
}

/** Removes `path`; false when it was not there. */
export function removeIfExists(path: string): boolean {
  try {
    Deno.removeSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Reads and validates a JSON file. Missing: null. Unreadable or invalid:
 * null too, after `onInvalid` was told why (the caller decides how loud).
 */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>, onInvalid: (why: string) => void): T | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    onInvalid(`cannot read ${path}: ${(e as Error).message}`);
    return null;
  }
  try {
    const r = schema.safeParse(JSON.parse(text));
    if (r.success) return r.data;
    onInvalid(`${path} is not valid: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  } catch (e) {
    onInvalid(`${path} is not JSON: ${(e as Error).message}`);
  }
  return null;
}
