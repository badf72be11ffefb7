// SPDX-License-Identifier: Apache-2.0
/** A temp directory for one test, removed afterwards even when the test fails. */
export async function withTempDir(prefix: string, fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
