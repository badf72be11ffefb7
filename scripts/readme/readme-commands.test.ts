// SPDX-License-Identifier: Apache-2.0
/**
 * The documentation cannot rot: every command in the code blocks of the README,
 * CONTRIBUTING.md, docs/*.md and k8s/README.md (scripts/docs/files.ts) is
 * either run here, in order, as one session on the real kernel — its own
 * control plane (port, database, admin token), its own lab (`--name rdme
 * --index 15` added to the lab commands), the agent in that lab's node n1 —
 * with its answer checked, or listed in scripts/readme/plan.ts as skipped by
 * design, with the reason. A command added to any of them without a step, or a
 * step whose command left them all, fails the first test.
 */
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelMissing } from "../e2e/kernel.ts";
import { documentationFiles } from "../docs/files.ts";
import { REPO } from "../procs.ts";
import { quotedCommands } from "./parse.ts";
import { BODIES, PLAN } from "./plan.ts";
import { Session } from "./session.ts";

const quoted = documentationFiles().flatMap((doc) =>
  quotedCommands(readFileSync(`${REPO}${doc}`, "utf8")).map((c) => ({ ...c, where: `${doc}:${c.line}` }))
);
const commands = [...new Set(quoted.map((c) => c.command))];

describe("README commands", () => {
  it("each is run by a step of scripts/readme/plan.ts or skipped there with a reason, and each step is quoted", () => {
    const planned = PLAN.map((s) => s.cmd);
    expect(quoted.filter((c) => !planned.includes(c.command)).map((c) => `${c.where}: ${c.command}`)).toEqual([]);
    expect(planned.filter((c) => !commands.includes(c))).toEqual([]);
    expect(planned.length).toBe(new Set(planned).size);
    for (const s of PLAN) expect(Boolean(s.skip) !== Boolean(s.run), s.cmd).toBe(true);
  });

  it("name npm scripts and repository files that exist, skipped ones too", () => {
    const scripts = JSON.parse(readFileSync(`${REPO}package.json`, "utf8")).scripts as Record<string, string>;
    for (const c of commands) {
      for (const [, name] of c.matchAll(/npm run ([\w:-]+)/g)) expect(scripts, c).toHaveProperty([name]);
      for (const [, path] of c.matchAll(/(?:^|[\s"'])((?:scripts|k8s|control|agent|web|bpf)\/[\w./-]*)/g)) {
        expect(existsSync(`${REPO}${path}`), `${c}: ${path}`).toBe(true);
      }
    }
  });
});

describe.skipIf(kernelMissing())("README commands, run as one session", () => {
  let s: Session;
  beforeAll(() => {
    s = new Session(commands, BODIES);
  });
  afterAll(() => s?.close(), 60_000);

  for (const step of PLAN) {
    if (step.skip) it.skip(`${step.cmd}: skipped by design: ${step.skip}`, () => {});
    else it(step.cmd, () => step.run!(s, s.substitute(step.cmd)), 120_000);
  }
});
