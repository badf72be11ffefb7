// SPDX-License-Identifier: Apache-2.0
/** The parts of a Containerfile the image tests read: its stages, and each stage's COPY and RUN lines. */
import { readFileSync } from "node:fs";
import { REPO } from "../procs.ts";

export interface Copy {
  /** The stage copied from (--from=NAME), or null for the build context. */
  from: string | null;
  sources: string[];
  dest: string;
}

export interface Stage {
  base: string;
  name: string | null;
  copies: Copy[];
  runs: string[];
  entrypoint: string[] | null;
}

export function readContainerfile(path: string): Stage[] {
  const text = readFileSync(`${REPO}${path}`, "utf8");
  // Continuation lines joined, comments dropped.
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    if (op === "FROM") {
      stages.push({ base: rest[0], name: rest[2] ?? null, copies: [], runs: [], entrypoint: null });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // ARGs before the first FROM
    if (op === "COPY") {
      const from = rest[0].startsWith("--from=") ? rest.shift()!.slice("--from=".length) : null;
      const dest = rest.pop()!;
      stage.copies.push({ from, sources: rest, dest });
    } else if (op === "RUN") stage.runs.push(rest.join(" "));
    else if (op === "ENTRYPOINT") stage.entrypoint = JSON.parse(line.slice("ENTRYPOINT".length));
  }
  return stages;
}
