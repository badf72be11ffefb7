// SPDX-License-Identifier: Apache-2.0
/**
 * Four dashboard defects of issue 22 in real headless Chromium (scripts/
 * browser/browser.ts) against a real control plane process fed the batches
 * of a node as an agent posts them: a pod with long names talking TCP to
 * another, 120 pods in all, three services. One case per defect:
 *   - the TCP table's last columns sat off-screen, in a region whose
 *     refresh every 5 s reset any scrolling;
 *   - timestamps were UTC beside charts in the browser's time;
 *   - /pods and /services had no pages and no filter by state;
 *   - "Top talkers" meant pods by rate now on the overview and pods by
 *     bytes over the window on the service map.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow, pod, tcp } from "../../control/monitoring/fixtures.test-support.ts";
import { report } from "../../control/monitoring/scenario.test-support.ts";
import { backends, service } from "../../control/services/fixtures.test-support.ts";
import { ControlProcess } from "../e2e/control-process.ts";
import { browserMissing, type BrowserSession, closeAll, markDocument, openBrowser, refreshed } from "./browser.ts";

const missing = browserMissing();

/** A laptop's screen, as the issue saw the pages. */
const SCREEN = { width: 1280, height: 800 };

/** Realistic long names: a Deployment's pod names carry two hashes. */
const CLIENT = pod("u-client", "checkout-frontend-7d9f8b6c5d-x2k4p", ["10.0.1.21"], {
  namespace: "payments-production",
});
const SERVER = pod("u-server", "ledger-postgres-primary-0", ["10.0.1.22"], { namespace: "payments-production" });
/** 118 more, so the pod list has two pages of 100. */
const BULK = Array.from(
  { length: 118 },
  (_, i) => pod(`u-bulk-${i}`, `worker-${String(i).padStart(3, "0")}`, [`10.0.2.${i + 1}`], { namespace: "batch" }),
);
const PODS = [CLIENT, SERVER, ...BULK];
const CLIENT_PATH = `/pods/${CLIENT.namespace}/${CLIENT.name}`;

describe.skipIf(missing)("the dashboard's lists, times and tables in headless Chromium", () => {
  let cp: ControlProcess;
  let b: BrowserSession;
  /** The agent clock of the second batch: whole seconds, a minute ago (inside the default 5 min window). */
  const t1 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const t0 = t1 - 10_000;

  /** A page at 1280×800. */
  const open = async (path: string) => {
    const page = await b.open(path);
    await page.setViewportSize(SCREEN);
    return page;
  };
  /** Waits for the next answer to a poll of `fragment` (a path), and for htmx to settle it. */
  beforeAll(async () => {
    cp = await ControlProcess.start("dashboard-lists");
    await cp.postBatch({ node: "node-a", seq: 1, ts: t0, pods: PODS.map((p) => report(p, 1)) });
    await cp.postBatch({
      node: "node-a",
      seq: 2,
      ts: t1,
      pods: PODS.map((p) => report(p, p === CLIENT ? 5 : 2)),
      flows: [flow({ src: CLIENT.ips[0], dst: SERVER.ips[0], port: 5432, packets: 40, bytes: 48_000 })],
      tcp: [
        tcp({
          pod: CLIENT.uid,
          local: CLIENT.ips[0],
          remote: SERVER.ips[0],
          port: 5432,
          role: "client",
          opened: 1_204,
          failedRefused: 31,
          failedTimeout: 2,
          closed: 1_170,
          durationMs: 1_170 * 4_500,
          retransmits: 12_345,
          resetsRx: 1_002,
          resetsTx: 87,
          srttUsSum: 4 * 1_234,
          srttSamples: 4,
        }),
      ],
    });
    await cp.call("POST", "/api/v1/services", service("web", "10.96.0.10", { backends: backends("10.0.2.1") }));
    await cp.call("POST", "/api/v1/services", service("api", "10.96.0.11", { backends: backends("10.0.2.2") }));
    await cp.call("POST", "/api/v1/services", service("orphan", "10.96.0.12", { namespace: "ops" }));
    b = await openBrowser(cp.url);
  }, 90_000);

  afterAll(() => closeAll(b, cp), 30_000);

  it("the TCP table's columns fit a 1280 px screen; narrower, it scrolls and a refresh keeps the place", async () => {
    const page = await open(CLIENT_PATH);
    const heads = page.locator("table.tcp thead th");
    expect(await heads.allInnerTexts()).toHaveLength(11);
    const edges = await heads.evaluateAll((ths) => ths.map((th) => th.getBoundingClientRect().right));
    // the viewport without its scrollbar
    const width = await page.evaluate(() => document.documentElement.clientWidth);
    expect(Math.max(...edges), "the last header's right edge").toBeLessThanOrEqual(width);
    const row = page.locator("table.tcp tbody tr").first();
    expect(await row.locator("td").nth(9).innerText()).toBe("1,002 / 87"); // resets in / out, on screen
    await b.screenshot(page, "pod-tcp-1280");

    // A narrow window: the table scrolls in its own region, and keeps its place across the 5 s refresh.
    await page.setViewportSize({ width: 800, height: 800 });
    const region = page.locator("[data-keep-scroll=tcp]");
    const scrollable = await region.evaluate((el) => el.scrollWidth - el.clientWidth);
    expect(scrollable, "the region is narrower than the table").toBeGreaterThan(50);
    await region.evaluate((el) => (el.scrollLeft = el.scrollWidth));
    const left = await region.evaluate((el) => el.scrollLeft);
    expect(left).toBeGreaterThan(50);
    const doc = await markDocument(page);
    await refreshed(page, `/fragments${CLIENT_PATH}`);
    await refreshed(page, `/fragments${CLIENT_PATH}`); // two, so the first was not half-way when we looked
    expect(await doc.sameDocument(), "refreshed in place").toBe(true);
    expect(await page.locator("[data-keep-scroll=tcp]").evaluate((el) => el.scrollLeft)).toBe(left);
    expect(b.problems()).toEqual([]);
    await page.close();
  }, 60_000);

  it("times read in the browser's time zone, the UTC on hover, also after a refresh", async () => {
    const page = await b.open("/flows");
    // India: UTC+5:30, no daylight saving, so the expected text is certain
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Emulation.setTimezoneOverride", { timezoneId: "Asia/Kolkata" });
    await page.reload();
    await page.setViewportSize(SCREEN);
    const kolkata = (ms: number) =>
      new Intl.DateTimeFormat("en-GB", {
        timeZone: "Asia/Kolkata",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hourCycle: "h23",
      }).format(ms);
    const utc = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

    // the flow's last time seen: the batch's agent time, written in UTC by the server
    const seen = page.locator("#flow-rows tr").first().locator("time").first();
    expect(await seen.getAttribute("datetime")).toBe(new Date(t1).toISOString());
    expect(await seen.innerText()).toBe(kolkata(t1));
    expect(await seen.getAttribute("title")).toBe(`UTC ${utc(t1)}`);
    expect(kolkata(t1)).not.toBe(utc(t1).slice(11)); // the zones differ: the check above means something

    // the window's bounds on the pod page, with the date and the zone, and again after a refresh swapped them
    await cdp.detach();
    const pod = await b.open(CLIENT_PATH);
    const podCdp = await pod.context().newCDPSession(pod);
    await podCdp.send("Emulation.setTimezoneOverride", { timezoneId: "Asia/Kolkata" });
    await pod.reload();
    const bound = pod.locator(".window-note time").first();
    const check = async () => {
      const at = Date.parse((await bound.getAttribute("datetime"))!);
      const day = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata" }).format(at); // YYYY-MM-DD
      expect(await bound.innerText()).toBe(`${day} ${kolkata(at)} GMT+5:30`);
      expect(await bound.getAttribute("title")).toBe(`UTC ${utc(at)}`);
    };
    await check();
    await refreshed(pod, `/fragments${CLIENT_PATH}`);
    await check();
    await podCdp.detach();
    expect(b.problems()).toEqual([]);
    await page.close();
    await pod.close();
  }, 60_000);

  it("/pods pages by 100 and filters in place, the URL and the live refresh following the view", async () => {
    const page = await open("/pods?namespace=batch");
    const doc = await markDocument(page);
    const names = () => page.locator("#pods tbody tr td:nth-child(2) a").allInnerTexts();
    expect(await page.locator("#pods .pager-count").innerText()).toBe("1–100 of 118");
    expect((await names())[0]).toBe("worker-000");

    await page.locator("#pods a[rel=next]").click();
    await expect.poll(() => page.locator("#pods .pager-count").innerText()).toBe("101–118 of 118");
    expect(await names()).toEqual(BULK.slice(100).map((p) => p.name));
    expect(new URL(page.url()).search).toBe("?namespace=batch&sort=namespace&dir=asc&offset=100");
    // the next poll asks for this page, not the first
    await refreshed(page, "/fragments/pods");
    expect(await page.locator("#pods .pager-count").innerText()).toBe("101–118 of 118");

    // a filter through the form: in place, from the first page, the poll following it
    await page.locator("form.filter [name=namespace]").fill("payments-production");
    await page.locator("form.filter [name=q]").fill("ledger");
    await page.locator("form.filter button[type=submit]").click();
    await expect.poll(names).toEqual([SERVER.name]);
    expect(new URL(page.url()).searchParams.get("q")).toBe("ledger");
    await refreshed(page, "/fragments/pods");
    expect(await names()).toEqual([SERVER.name]);
    expect(await page.locator("#pods .pager").count(), "one page: no pager").toBe(0);
    expect(await doc.sameDocument(), "all in place").toBe(true);
    expect(b.problems()).toEqual([]);
    await page.close();
  }, 60_000);

  it("/services filters by state in place; without script the form is a plain GET", async () => {
    const page = await open("/services");
    const doc = await markDocument(page);
    const listed = () => page.locator("#services table.services tbody tr td:first-child a").allInnerTexts();
    expect(await listed()).toEqual(["default/api", "default/web", "ops/orphan"]);
    await page.locator("form.filter [name=state]").selectOption("down");
    await page.locator("form.filter button[type=submit]").click();
    await expect.poll(listed).toEqual(["ops/orphan"]);
    expect(new URL(page.url()).searchParams.get("state")).toBe("down");
    await refreshed(page, "/fragments/services");
    expect(await listed()).toEqual(["ops/orphan"]);
    expect(await doc.sameDocument()).toBe(true);
    expect(b.problems()).toEqual([]);
    await page.close();

    // the same form with script off: a plain GET of the page, which lists what the filter asks
    const plain = await b.context.newPage();
    const cdp = await b.context.newCDPSession(plain);
    await cdp.send("Emulation.setScriptExecutionDisabled", { value: true });
    await plain.goto(`${cp.url}/services`);
    await plain.locator("form.filter [name=namespace]").fill("default");
    await Promise.all([
      plain.waitForURL(/namespace=default/),
      plain.locator("form.filter button[type=submit]").click(),
    ]);
    expect(await plain.locator("table.services tbody tr td:first-child a").allInnerTexts()).toEqual([
      "default/api",
      "default/web",
    ]);
    expect(await plain.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx)).toBe("undefined");
    await cdp.detach();
    await plain.close();
    expect(b.problems()).toEqual([]);
  }, 60_000);

  it("each top list's title says what it ranks and over which time", async () => {
    const overview = await open("/");
    expect(await overview.locator("section.panel h3", { hasText: "Top pods" }).innerText()).toMatch(
      /^Top pods by rate now/,
    );
    expect(await overview.locator("table.talkers tbody tr").first().locator("td").first().innerText()).toBe(
      `${CLIENT.namespace}/${CLIENT.name}`,
    );
    const map = await open("/servicemap?since=1h");
    const titles = await map.locator("section.panel h3").allInnerTexts();
    expect(titles.some((t) => t.startsWith("Top pods by bytes, last 1 h")), titles.join(" | ")).toBe(true);
    expect(titles.some((t) => t.startsWith("Edges by bytes, last 1 h")), titles.join(" | ")).toBe(true);
    expect(titles.some((t) => t.startsWith("Top talkers"))).toBe(false);
    expect(b.problems()).toEqual([]);
    await overview.close();
    await map.close();
  }, 60_000);
});
