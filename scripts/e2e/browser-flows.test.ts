// SPDX-License-Identifier: Apache-2.0
/**
 * The flow explorer (/flows) in real headless Chromium (scripts/browser/
 * browser.ts) against a real control plane process (`tsx control/main.ts`,
 * its own database file, loopback only), fed over HTTP with the batches of
 * two nodes as agents post them (control/routes/flow-explorer.test-support.ts:
 * eight flows, one of each verdict). No kernel, no lab: the page is what is
 * tested; the flows' exact numbers from real traffic are the e2e tests'.
 *
 * Through the page, in place (no reload, the URL pushed): the rows in order,
 * only failures, a service, sorting by a header, paging, live refresh
 * showing a batch that arrived, the refresh box stopping the polls; no
 * console error, failed request or foreign request at any point.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow } from "../../control/monitoring/fixtures.test-support.ts";
import { BY_BYTES, ECHO, explorerBatches, VERDICTS } from "../../control/routes/flow-explorer.test-support.ts";
import { browserMissing, type BrowserSession, markDocument, openBrowser } from "../browser/browser.ts";
import { ControlProcess } from "./control-process.ts";
import { FLOW_RESULTS_ID } from "../../web/pages/flows.tsx";

const missing = browserMissing();

describe.skipIf(missing)("the flow explorer in headless Chromium", () => {
  let cp: ControlProcess;
  let b: BrowserSession;

  /** The verdict of each row shown, in order. */
  const verdicts = (page: Page) =>
    page.locator("#flow-rows tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-verdict")));
  const expected = (labels: readonly (typeof BY_BYTES)[number][]) => labels.map((l) => VERDICTS[l]);
  const pager = (page: Page) => page.locator("#flow-results .pager-count").innerText();
  /**
   * Waits for the results fragment's answer to what `act` does. The results also poll the same path every few
   * seconds (their request names the results as its trigger): a poll's answer arriving meanwhile is not this one.
   */
  const swapped = async (page: Page, act: () => Promise<unknown>) => {
    await Promise.all([
      page.waitForResponse((r) =>
        new URL(r.url()).pathname === "/fragments/flows" && r.request().headers()["hx-trigger"] !== FLOW_RESULTS_ID
      ),
      act(),
    ]);
    await page.waitForFunction(() =>
      !document.querySelector("#flow-results.htmx-swapping, #flow-results.htmx-settling")
    );
  };
  // The batches' agent times: a minute ago and after (the latest still in the past), all in the default 5 minutes.
  const t0 = Date.now() - 60_000;

  beforeAll(async () => {
    cp = await ControlProcess.start("flows");
    await cp.call("POST", "/api/v1/services", ECHO);
    for (const one of explorerBatches(t0)) await cp.postBatch(one);
    b = await openBrowser(cp.url);
  }, 90_000);

  afterAll(async () => {
    await b?.close();
    await cp?.stop();
  });

  it("filters, sorts and pages in place, pushing the URL, with no console errors", async () => {
    const page = await b.open("/flows");
    const doc = await markDocument(page);
    expect(await verdicts(page)).toEqual(expected(BY_BYTES));
    expect(await pager(page)).toBe("1–8 of 8");
    await b.screenshot(page, "flows");

    // only failures: the five that are not ok, the URL follows
    await swapped(page, () => page.locator("#flow-filter [name=failures]").check());
    expect(await verdicts(page)).toEqual(expected(BY_BYTES.filter((l) => VERDICTS[l] !== "ok")));
    expect(new URL(page.url()).search).toBe("?failures=true");

    // and a service: the one flow addressed to demo/echo, its service cell linking to the service's page
    await swapped(page, async () => {
      await page.locator("#flow-filter [name=service]").fill("demo/echo");
      await page.locator("#flow-filter [name=service]").press("Enter");
    });
    expect(await verdicts(page)).toEqual(["timed_out"]);
    expect(await page.locator("#flow-rows td:nth-child(4) a").getAttribute("href")).toBe("/services/demo/echo");
    expect(new URL(page.url()).search).toBe("?service=demo%2Fecho&failures=true");
    await b.screenshot(page, "flows-failures-service");

    // the filters off again, then sorted by packets (descending on the first click, ascending on the second)
    await swapped(page, async () => {
      await page.locator("#flow-filter [name=service]").fill("");
      await page.locator("#flow-filter [name=failures]").uncheck();
    });
    await page.waitForFunction(() => document.querySelectorAll("#flow-rows tr").length === 8);
    await swapped(page, () => page.locator("a[data-sort=packets]").click());
    expect(await page.locator("th:has(a[data-sort=packets])").getAttribute("aria-sort")).toBe("descending");
    // 23, 10, 6, 4, 4, 3, 2, 2 packets: as by bytes here, ties by key
    expect(await verdicts(page)).toEqual(expected(BY_BYTES));
    await swapped(page, () => page.locator("a[data-sort=packets]").click());
    expect(await page.locator("th:has(a[data-sort=packets])").getAttribute("aria-sort")).toBe("ascending");
    expect(await verdicts(page)).toEqual(["ok", "failed", "timed_out", "no_reply", "reset", "ok", "ok", "refused"]);
    expect(new URL(page.url()).search).toBe("?sort=packets&order=asc");

    // a filter after the sort keeps it; the controls outside the results follow the view
    await swapped(page, () => page.locator("#flow-filter [name=failures]").check());
    expect(new URL(page.url()).search).toBe("?failures=true&sort=packets&order=asc");
    expect(await verdicts(page)).toEqual(["failed", "timed_out", "no_reply", "reset", "refused"]);
    expect(await page.locator("#flow-window a", { hasText: "1 h" }).getAttribute("href")).toBe(
      "/flows?failures=true&sort=packets&order=asc&since=1h",
    );
    expect(await page.locator("#flow-live-start").getAttribute("hx-get")).toBe(
      "/fragments/flows/live?failures=true&sort=packets&order=asc",
    );
    expect(await doc.sameDocument(), "all in place").toBe(true);
    expect(b.problems()).toEqual([]);
    await page.close();
  }, 30_000);

  it("pages with previous and next, three rows at a time", async () => {
    const page = await b.open("/flows?limit=3");
    const doc = await markDocument(page);
    expect(await pager(page)).toBe("1–3 of 8");
    const seen: (string | null)[] = [...await verdicts(page)];
    await swapped(page, () => page.locator("a[rel=next]").click());
    expect(await pager(page)).toBe("4–6 of 8");
    seen.push(...await verdicts(page));
    await swapped(page, () => page.locator("a[rel=next]").click());
    expect(await pager(page)).toBe("7–8 of 8");
    expect(await page.locator("a[rel=next]").count(), "no next page").toBe(0);
    seen.push(...await verdicts(page));
    expect(seen).toEqual(expected(BY_BYTES));
    expect(new URL(page.url()).search).toBe("?limit=3&offset=6");
    await swapped(page, () => page.locator("a[rel=prev]").click());
    expect(await pager(page)).toBe("4–6 of 8");
    expect(await doc.sameDocument()).toBe(true);
    expect(b.problems()).toEqual([]);
    await page.close();
  }, 30_000);

  it("refreshes live: a new batch shows up without a reload; unticking the box stops the polls", async () => {
    const page = await b.open("/flows?protocol=udp");
    const doc = await markDocument(page);
    const dns = page.locator("#flow-rows tr").first();
    expect(await dns.locator("td:nth-child(6)").innerText()).toMatch(/^120 B\s+2 pkts$/);
    // node-a reports more DNS: 10 packets, 1,000 bytes
    await cp.postBatch({
      node: "node-a",
      seq: 4,
      ts: Date.now(),
      flows: [flow({ dst: "1.1.1.1", port: 53, proto: 17, packets: 10, bytes: 1_000 })],
    });
    await expect.poll(() => dns.locator("td:nth-child(6)").innerText(), { timeout: 15_000 }).toMatch(
      /^1\.09 KiB\s+12 pkts$/,
    );
    expect(await doc.sameDocument(), "updated in place").toBe(true);

    await page.locator("#flow-refresh").uncheck();
    await new Promise((r) => setTimeout(r, 500)); // a poll already on its way may land
    // this tab's (the others are closed)
    const polls = () =>
      b.requests.filter((r) => new URL(r.url).pathname === "/fragments/flows" && r.page.includes("protocol=udp"))
        .length;
    const before = polls();
    await new Promise((r) => setTimeout(r, 6_000)); // longer than the 5 s period
    expect(polls(), "no poll while the box is unticked").toBe(before);
    await page.locator("#flow-refresh").check();
    await expect.poll(polls, { timeout: 10_000 }).toBeGreaterThan(before);
    expect(b.problems()).toEqual([]);
    await page.close();
  }, 40_000);
});
