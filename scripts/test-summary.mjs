// Prints one closing line over both test runners' JUnit reports:
// "tests: N passed, N failed, N skipped". Fails if a report is missing or empty.
import { existsSync, readFileSync } from "node:fs";

let passed = 0, failed = 0, skipped = 0, ok = true;
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
    if (/<(failure|error)\b/.test(c)) failed++;
    else if (/<skipped\b/.test(c)) skipped++;
    else passed++;
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok && failed === 0 ? 0 : 1);
