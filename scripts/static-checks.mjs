// SPDX-License-Identifier: Apache-2.0
// The checks that keep the code honest without running it: the type checker over
// everything vitest runs, Deno's type check of the two programs it runs (the
// agent and the control plane under Deno; `deno test` checks the agent's tests),
// the formatter and the linter, one configuration each (tsconfig.json, deno.json).
// Runs them all, prints each one's output, and writes a JUnit report with one
// case per check so the closing line of `npm test` counts them with the tests.
//
//   node scripts/static-checks.mjs [junit-path]
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const BIN = new URL("../node_modules/.bin/", import.meta.url).pathname;
const CHECKS = [
  { name: "tsc --noEmit (control, web, scripts)", argv: [`${BIN}tsc`, "--noEmit", "-p", "tsconfig.json"] },
  {
    name: "deno check agent/main.ts control/main.ts",
    argv: [`${BIN}deno`, "check", "agent/main.ts", "control/main.ts"],
  },
  { name: "deno fmt --check", argv: [`${BIN}deno`, "fmt", "--check"] },
  { name: "deno lint", argv: [`${BIN}deno`, "lint"] },
];

const escape = (s) => s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]);
// deno colours its output even into a pipe; the report keeps plain text.
const plain = (s) => s.replace(new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"), "");

const cases = [];
let failed = 0;
for (const check of CHECKS) {
  const started = Date.now();
  const r = spawnSync(check.argv[0], check.argv.slice(1), {
    cwd: new URL("..", import.meta.url).pathname,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const seconds = (Date.now() - started) / 1000;
  const output = plain(`${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`).trim();
  const ok = r.status === 0;
  if (!ok) failed++;
  console.error(`${ok ? "ok  " : "FAIL"} ${check.name} (${seconds.toFixed(1)} s)`);
  if (!ok) console.error(output.split("\n").map((l) => `  ${l}`).join("\n"));
  cases.push(
    `  <testcase classname="static" name="${escape(check.name)}" time="${seconds}">` +
      (ok ? "" : `<failure message="exit ${r.status}">${escape(output.slice(-20_000))}</failure>`) +
      "</testcase>",
  );
}

const junit = process.argv[2];
if (junit) {
  mkdirSync(dirname(junit), { recursive: true });
  writeFileSync(
    junit,
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n <testsuite name="static checks" tests="${CHECKS.length}" failures="${failed}">\n${
      cases.join("\n")
    }\n </testsuite>\n</testsuites>\n`,
  );
}
process.exit(failed === 0 ? 0 : 1);
