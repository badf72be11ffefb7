// SPDX-License-Identifier: Apache-2.0
/**
 * The project's documentation as a reader meets it: the README, CONTRIBUTING.md, every page of docs/ and
 * k8s/README.md. One list for the checks that read them all: their relative links (links.test.ts) and their shell
 * commands (scripts/readme/readme-commands.test.ts).
 */
import { readdirSync } from "node:fs";
import { REPO } from "../procs.ts";

/** Paths relative to the repository, docs/ in name order (new pages are picked up without a change here). */
export function documentationFiles(root = REPO): string[] {
  const pages = readdirSync(`${root}/docs`).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`);
  return ["README.md", "CONTRIBUTING.md", ...pages, "k8s/README.md"];
}
