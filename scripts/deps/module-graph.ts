// SPDX-License-Identifier: Apache-2.0
/**
 * The files a program loads from the repository: its entry point and every
 * file reached through relative imports, transitively (packages are left
 * out). The image tests use it to check that an image copies all its program
 * needs (scripts/deploy/manifests.test.ts).
 */
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path/posix";
import { tsImports } from "./imports.ts";

/** Repository-relative paths, sorted; `entry` is repository-relative too ("agent/main.ts"). */
export function moduleGraph(repo: string, entry: string): string[] {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const { specifier } of tsImports(file, readFileSync(join(repo, file), "utf8"))) {
      if (specifier.startsWith(".")) todo.push(normalize(join(dirname(file), specifier)));
    }
  }
  return [...seen].sort();
}
