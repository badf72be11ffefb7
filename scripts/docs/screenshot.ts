// SPDX-License-Identifier: Apache-2.0
/**
 * The README's screenshot, docs/images/node.png: a node's page of a running control plane with traffic
 * (`npm run demo`: its first node), 1280×800, in the browser tests' harness, so a console error or a failed request
 * on the page stops it instead of ending up in the picture.
 *
 *   npm run demo                                   # in another terminal; wait a minute for the sparklines
 *   npx tsx scripts/docs/screenshot.ts [URL [PAGE]]   # default http://127.0.0.1:8080 and /nodes/demo-n1
 */
import { openBrowser } from "../browser/browser.ts";
import { REPO } from "../procs.ts";

export const SCREENSHOT = "docs/images/node.png";
const VIEWPORT = { width: 1280, height: 800 };

const b = await openBrowser(process.argv[2] ?? "http://127.0.0.1:8080");
try {
  const page = await b.open(process.argv[3] ?? "/nodes/demo-n1");
  await page.setViewportSize(VIEWPORT);
  await page.waitForTimeout(6000); // one more htmx refresh of the numbers
  const problems = b.problems();
  if (problems.length) throw new Error(`the page had problems: ${JSON.stringify(problems, null, 2)}`);
  await page.screenshot({ path: `${REPO}${SCREENSHOT}`, fullPage: false });
  console.log(`wrote ${SCREENSHOT}`);
} finally {
  await b.close();
}
