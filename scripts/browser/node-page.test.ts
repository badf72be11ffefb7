// SPDX-License-Identifier: Apache-2.0
/**
 * The node page and the overview in real headless Chromium (scripts/browser/
 * browser.ts) against a real control plane process fed the batches of a node
 * as an agent posts them (node-page.test-support.ts). One case per defect of
 * issue 22 the pages had: two unexplained "drops" numbers, raw kernel reason
 * names, a spool badge and red fill bars that cried wolf, node RX/TX below a
 * pod's without a word, and a 5,500 px page whose first screen did not say
 * whether the node is healthy.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropReasonText } from "../../control/monitoring/drop-reasons.ts";
import { ControlProcess } from "../e2e/control-process.ts";
import { browserMissing, type BrowserSession, closeAll, openBrowser, refreshed } from "./browser.ts";
import {
  DROPPED,
  DROPS,
  FULL_ARRAYS,
  FULL_HASH_MAPS,
  NODE,
  nodeBatches,
  nodeInventory,
} from "./node-page.test-support.ts";

const missing = browserMissing();

/** The first screen the issue asks about: a laptop's, 1280×800. */
const SCREEN = { width: 1280, height: 800 };

describe.skipIf(missing)("the node page and the overview in headless Chromium", () => {
  let cp: ControlProcess;
  let b: BrowserSession;

  const nodePage = async (node = NODE) => {
    const page = await b.open(`/nodes/${node}`);
    await page.setViewportSize(SCREEN);
    return page;
  };
  const text = (page: Page, selector: string) => page.locator(selector).innerText();

  beforeAll(async () => {
    cp = await ControlProcess.start("node-page");
    for (const one of nodeBatches(Date.now())) await cp.postBatch(one);
    // a node whose spool overflowed: 5 batches lost since its agent started
    const lossy = nodeInventory({ spool: { pending: 40, dropped: 5, merged: 3 } });
    for (const one of nodeBatches(Date.now(), lossy)) {
      await cp.postBatch({ ...one, node: "node-lossy", pods: undefined, tcp: undefined, drops: undefined });
    }
    b = await openBrowser(cp.url);
  }, 90_000);

  afterAll(() => closeAll(b, cp), 30_000);

  it("the two drop counts say what each counts and over which window", async () => {
    const page = await nodePage();
    await page.locator("#node-lists > summary").click();
    // the interface table: ifstats' drops on that interface, since the agent started
    const header = page.locator("#node-interfaces th", { hasText: "Drops" });
    expect(await header.innerText()).toMatch(/since the agent started/i);
    expect(await header.getAttribute("title")).toMatch(/Drops panel/);
    // the Drops panel: every drop of the node and its pods, by reason, over the window, pointing at the other
    const panel = page.locator("section.panel", { has: page.locator("h3", { hasText: /^Drops/ }) });
    expect(await panel.locator("h3 .meta").innerText()).toBe(
      `${DROPPED} packets dropped in the last 5 min on ${NODE} and its pods, by kernel reason (drops module)`,
    );
    expect(await panel.locator("p.note").innerText()).toMatch(/interface table counts only/);
    // a pod's page: its cumulative count since the agent started, then the window's by reason
    const pod = await b.open("/pods/default/web");
    expect(await pod.locator("table.traffic th", { hasText: "Drops" }).innerText()).toMatch(/since the agent started/i);
    const web = DROPS.filter((d) => d.pod === "u-web").reduce((n, d) => n + d.packets, 0);
    expect(await pod.locator("section.panel h3", { hasText: /^Drops/ }).locator(".meta").innerText()).toBe(
      `${web} packets dropped in the last 5 min, by kernel reason`,
    );
    expect(b.problems()).toEqual([]);
  }, 30_000);

  it("every drop reason carries its explanation: a title on the name, and a legend", async () => {
    for (const path of [`/nodes/${NODE}`, "/pods/default/web"]) {
      const page = await b.open(path);
      const reasons = page.locator("table.drops td.reason code");
      const shown = await reasons.allInnerTexts();
      expect(shown.length).toBeGreaterThan(0);
      for (const [i, reason] of shown.entries()) {
        expect(await reasons.nth(i).getAttribute("title")).toBe(dropReasonText(reason));
      }
      const legend = await text(page, ".reason-legend");
      for (const reason of new Set(shown)) expect(legend).toContain(`${reason}: ${dropReasonText(reason)}`);
    }
    const page = await b.open(`/nodes/${NODE}`);
    expect(await page.locator("table.drops td.reason code", { hasText: "NO_SOCKET" }).first().getAttribute("title"))
      .toMatch(/no socket/i);
    expect(DROPS.map((d) => d.reason)).toContain("QUEUE_PURGE");
    expect(b.problems()).toEqual([]);
  }, 30_000);

  it("the spool badge says what happened; arrays, full by design, show no red bar", async () => {
    const page = await nodePage();
    const spool = page.locator(".health .spool");
    expect(await spool.innerText()).toBe("2 batches waiting to be sent");
    expect(await spool.getAttribute("class")).not.toMatch(/bad/);
    expect(await page.locator(".health dl > div", { has: page.locator(".spool") }).getAttribute("class")).toBe(
      "health-info",
    );
    const lossy = await nodePage("node-lossy");
    expect(await lossy.locator(".health .spool").innerText()).toBe(
      "40 batches waiting to be sent · 3 merged to make room (counts summed, nothing lost) · " +
        "5 dropped since the agent started because the spool was full",
    );
    expect(await lossy.locator(".health .spool").getAttribute("class")).toMatch(/bad/);
    expect(await page.content()).not.toContain("(spool full)");

    await page.locator("#node-lists > summary").click();
    const row = (name: string) =>
      page.locator("#node-maps tr", { has: page.locator(`td:first-child:text-is("${name}")`) });
    for (const name of FULL_ARRAYS) {
      expect(await row(name).count()).toBe(1);
      expect(await row(name).locator(".bar").count()).toBe(0);
      expect(await row(name).locator(".fill-none").getAttribute("title")).toMatch(/array/);
    }
    for (const name of FULL_HASH_MAPS) expect(await row(name).locator(".bar-full").count()).toBe(1);
    expect(await page.locator("#node-maps .bar-full").count()).toBe(FULL_HASH_MAPS.length);
    expect(await page.locator("#node-maps th", { hasText: "Fill" }).getAttribute("title")).toMatch(/hash and LRU/);
    expect(b.problems()).toEqual([]);
  }, 30_000);

  it(
    "node RX/TX on the overview names the interfaces it covers, and says pod-to-pod traffic inside misses them",
    async () => {
      const page = await b.open("/");
      const row = page.locator("table.nodes tbody tr", { hasText: NODE });
      expect(await row.locator("td.covers").innerText()).toBe("eth0, cni0");
      expect(await page.locator("table.nodes th", { hasText: "Counted on" }).getAttribute("title")).toMatch(
        /traffic between pods of the same node crosses none of them/,
      );
      expect(await text(page, "#nodes .note")).toMatch(/traffic between pods of the same node\s+crosses none of them/);
      expect(b.problems()).toEqual([]);
    },
    30_000,
  );

  it(
    "the first screen says whether the node is healthy; the long lists are folded and stay open across refreshes",
    async () => {
      const page = await nodePage();
      const health = page.locator("#node-health");
      const box = (await health.boundingBox())!;
      expect(box.y + box.height).toBeLessThanOrEqual(SCREEN.height);
      const summary = await health.innerText();
      expect(summary).toMatch(/Agent\s+reporting on time/);
      expect(summary).toMatch(/Stale after/);
      expect(summary).toMatch(/accel: unsupported/);
      expect(summary).toMatch(/Alerts\s+none firing/);
      expect(summary).toContain(`${DROPPED} packets in the last 5 min`);
      expect(summary).toMatch(/Desired state\s+version 0, applied/);
      // programs, maps and interfaces are folded away
      expect(await page.locator("#node-programs").isVisible()).toBe(false);
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      console.log(`node page: ${height} px tall at ${SCREEN.width}×${SCREEN.height}`);
      await b.screenshot(page, "node-page");
      expect(height).toBeLessThan(3_500); // 5,420 px before the health summary and the fold, with the same batches
      // opened, the lists stay open while their region refreshes (every 2 s)
      await page.locator("#node-lists > summary").click();
      expect(await page.locator("#node-programs").isVisible()).toBe(true);
      await refreshed(page, `/fragments/nodes/${NODE}/lists`);
      expect(await page.locator("#node-programs").isVisible()).toBe(true);
      expect(b.problems()).toEqual([]);
    },
    30_000,
  );
});
