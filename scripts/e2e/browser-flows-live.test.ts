// SPDX-License-Identifier: Apache-2.0
/**
 * The /flows page's live mode in real headless Chromium (scripts/browser/browser.ts) against a real control plane
 * process (`tsx control/main.ts`, its own database file, loopback only), fed over HTTP as an agent posts: "Follow
 * live" connects the table to GET /flows/live through htmx's SSE extension, a batch posted after that shows its
 * rows (only those of the page's filter), newest first; "Stop" brings the explorer back and the stream ends (the
 * replica's followers, on /metrics, back to 0); no console error, failed request or foreign request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow } from "../../control/monitoring/fixtures.test-support.ts";
import { CACHE, report, WEB } from "../../control/monitoring/scenario.test-support.ts";
import type { Batch } from "../../control/wire/batch.ts";
import { browserMissing, type BrowserSession, markDocument, openBrowser } from "../browser/browser.ts";
import { ControlProcess } from "./control-process.ts";

const missing = browserMissing();

describe.skipIf(missing)("the /flows page's live mode in headless Chromium", () => {
  let cp: ControlProcess;
  let b: BrowserSession;

  const postBatch = (one: Partial<Batch>) => cp.postBatch({ node: "node-a", ...one });
  const followers = async () => {
    const text = await (await fetch(`${cp.url}/metrics`)).text();
    return Number(/^ebpf_k8s_flow_stream_followers (\d+)$/m.exec(text)?.[1]);
  };

  beforeAll(async () => {
    cp = await ControlProcess.start("flows-live");
    await postBatch({ seq: 1, ts: Date.now() - 30_000, pods: [report(WEB, 1), report(CACHE, 1)] });
    b = await openBrowser(cp.url);
  }, 90_000);

  afterAll(async () => {
    await b?.close();
    await cp?.stop();
  });

  it("shows the rows of a batch posted after it opened, newest first, filtered; Stop ends the stream", async () => {
    const page = await b.open("/flows?pod=default%2Fcache");
    const doc = await markDocument(page);
    await page.locator("#flow-live-start").click();
    await expect.poll(followers, { timeout: 10_000 }).toBe(1);
    expect(await page.locator("#flow-results.live #flow-live-waiting").count()).toBe(1);

    // web → cache 6379 and web → 1.1.1.1 53: only the first is the page's (pod default/cache)
    await postBatch({
      seq: 2,
      ts: Date.now(),
      flows: [
        flow({ dst: "10.0.1.3", port: 6379, packets: 3, bytes: 300, tcpFlags: 0x12 }),
        flow({ dst: "1.1.1.1", port: 53, proto: 17 }),
      ],
    });
    const rows = page.locator("#flow-rows tr");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
    expect(await rows.first().locator("td:nth-child(3) a").innerText()).toBe("default/cache");
    expect(await rows.first().locator("td:nth-child(6)").innerText()).toMatch(/^300 B\s+3 pkts$/);
    expect(await page.locator("#flow-live-waiting").count(), "the waiting line goes with the first row").toBe(0);

    // a second batch's row comes first
    await postBatch({ seq: 3, ts: Date.now(), flows: [flow({ dst: "10.0.1.3", port: 6380, packets: 1, bytes: 40 })] });
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    expect(await rows.first().locator("td:nth-child(5)").innerText()).toMatch(/^6380\/TCP/);
    await b.screenshot(page, "flows-live");

    await page.locator("#flow-live-stop").click();
    await page.waitForFunction(() => !document.querySelector("#flow-results.live"));
    await expect.poll(followers, { timeout: 10_000 }).toBe(0);
    expect(await doc.sameDocument(), "all in place").toBe(true);
    expect(b.problems()).toEqual([]);
    await page.close();
  }, 60_000);
});
