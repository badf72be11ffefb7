// SPDX-License-Identifier: Apache-2.0
/**
 * The licence of every source file, as an SPDX line at its top: the eBPF C (kernel side) is
 * GPL-2.0-only OR BSD-2-Clause, as the programs declare to the kernel ("Dual BSD/GPL"); everything else is
 * Apache-2.0 (LICENSE, LICENSES/). Files that cannot carry a comment (JSON, generated SQL migrations, Markdown,
 * SVG) are covered by the repository's LICENSE alone.
 *
 *   npx tsx scripts/licence/spdx.ts          # lists files without their line (exit 1 if any)
 *   npx tsx scripts/licence/spdx.ts --fix    # adds or corrects the line
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

export const KERNEL_LICENCE = "GPL-2.0-only OR BSD-2-Clause";
export const LICENCE = "Apache-2.0";

/** The comment syntax of a file by its name, or null: no line (covered by LICENSE). */
function commentOf(path: string): ((text: string) => string) | null {
  if (/\.(c|h|css)$/.test(path)) return (text) => `/* ${text} */`;
  if (/\.(ts|tsx|js|mjs)$/.test(path)) return (text) => `// ${text}`;
  if (/(\.sh|\.ya?ml|\.service|Containerfile|\.dockerignore|\.gitignore)$/.test(path) || path === ".ci/run") {
    return (text) => `# ${text}`;
  }
  return null;
}

/** eBPF C: the programs and their headers, and the test programs (a userspace C tool is Apache-2.0). */
export const isKernelSide = (path: string): boolean => /^(bpf|agent\/testing\/bpf)\/.*\.(c|h)$/.test(path);

/** The SPDX line a file must start with (after a shebang), or null. */
export function expectedLine(path: string): string | null {
  const comment = commentOf(path);
  if (comment === null) return null;
  return comment(`SPDX-License-Identifier: ${isKernelSide(path) ? KERNEL_LICENCE : LICENCE}`);
}

/** The file's text with its SPDX line in place (first line, or after a shebang), or unchanged. */
export function withLine(path: string, text: string): string {
  const line = expectedLine(path);
  if (line === null) return text;
  const lines = text.split("\n");
  const at = lines[0]?.startsWith("#!") ? 1 : 0;
  if (lines[at] === line) return text;
  if (/SPDX-License-Identifier:/.test(lines[at] ?? "")) lines[at] = line;
  else lines.splice(at, 0, line);
  return lines.join("\n");
}

/** Tracked files whose SPDX line is missing or wrong. */
export function unlicensed(root = process.cwd()): string[] {
  const files = execFileSync("git", ["ls-files"], { cwd: root, encoding: "utf8" }).split("\n").filter(Boolean);
  return files.filter((f) => {
    if (expectedLine(f) === null) return false;
    const text = readFileSync(`${root}/${f}`, "utf8");
    return withLine(f, text) !== text;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bad = unlicensed();
  if (process.argv.includes("--fix")) {
    for (const f of bad) writeFileSync(f, withLine(f, readFileSync(f, "utf8")));
    console.log(`${bad.length} files given their SPDX line`);
  } else if (bad.length) {
    console.error(`without their SPDX line (npx tsx scripts/licence/spdx.ts --fix):\n${bad.join("\n")}`);
    process.exit(1);
  }
}
