// SPDX-License-Identifier: Apache-2.0
// Prints one closing line over both test runners' JUnit reports:
// "tests: N passed, N failed, N skipped", preceded by each failed case's name
// and the first line of its message, so that the tail of a CI log says what
// failed. Fails if a report is missing or empty.
import { existsSync, readFileSync } from "node:fs";
import { stripVTControlCharacters } from "node:util";

const unescape = (s) =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
const attribute = (tag, name) => unescape(tag.match(new RegExp(`\\b${name}="([^"]*)"`))?.[1] ?? "");
/** The first non-empty line of a failure: its message attribute, else its text. */
const firstLine = (c) => {
  const failure = c.match(/<(?:failure|error)\b([^>]*)>([\s\S]*?)(?:<\/(?:failure|error)>|$)/);
  const text = attribute(failure?.[1] ?? "", "message") || unescape(failure?.[2] ?? "");
  // deno's reports carry ANSI colours.
  return stripVTControlCharacters(text).split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
};

let passed = 0, failed = 0, skipped = 0, ok = true;
const failures = [];
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`test-summary: ${file} missing: that suite did not run`);
    ok = false;
    continue;
  }
  const xml = readFileSync(file, "utf8");
  const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
  if (cases.length === 0) {
    console.error(`test-summary: ${file} has no test case`);
    ok = false;
  }
  for (const c of cases) {
    if (/<(failure|error)\b/.test(c)) {
      failed++;
      const tag = c.match(/<testcase\b[^>]*>/)?.[0] ?? "";
      failures.push(
        `FAILED ${attribute(tag, "classname")} > ${attribute(tag, "name")}\n    ${firstLine(c).slice(0, 300)}`,
      );
    } else if (/<skipped\b/.test(c)) skipped++;
    else passed++;
  }
}
for (const f of failures) console.log(f);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok && failed === 0 ? 0 : 1);
