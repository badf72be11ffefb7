// SPDX-License-Identifier: Apache-2.0
/**
 * Checks that a TypeScript mirror of a C struct matches the BTF that clang
 * wrote into a compiled eBPF object: same field names, offsets and size.
 */
import { assertEquals } from "./assert.ts";
import { run } from "./run.ts";

interface BtfType {
  name?: string;
  kind: string;
  size?: number;
  members?: { name: string; bits_offset: number }[];
}

export async function assertStructLayout(
  objectPath: string,
  struct: string,
  fields: [string, number][],
  size: number,
): Promise<void> {
  const { stdout } = await run(["bpftool", "btf", "dump", "file", objectPath, "-j"]);
  const t = (JSON.parse(stdout).types as BtfType[]).find((x) => x.kind === "STRUCT" && x.name === struct);
  if (!t) throw new Error(`struct ${struct} not in the BTF of ${objectPath}`);
  assertEquals(t.members!.map((m) => [m.name, m.bits_offset / 8]), fields, `fields of struct ${struct}`);
  assertEquals(t.size, size, `size of struct ${struct}`);
}
