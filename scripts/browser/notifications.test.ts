// SPDX-License-Identifier: Apache-2.0
/**
 * Alert notifications on the pages (docs/alerts.md), in real headless Chromium against a real control plane
 * process fed batches as agents post them, and a webhook receiver on loopback: the default thresholds listed at
 * the first start; a receiver refused (errors next to the fields) then added through the /thresholds form, its
 * token never on the page; an alert fired by the batches delivered to it and shown under /alerts; the receiver
 * switched off in place. No console error, failed request or foreign request at any point.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestReceiver, type TestReceiver } from "../../control/notify/receiver.test-support.ts";
import { iface } from "../../control/test-support.ts";
import { ControlProcess } from "../e2e/control-process.ts";
import { browserMissing, type BrowserSession, openBrowser } from "./browser.ts";

const missing = browserMissing();

describe.skipIf(missing)("alert notifications in headless Chromium", () => {
  let cp: ControlProcess;
  let b: BrowserSession;
  let rx: TestReceiver;

  const text = (page: Page, selector: string) => page.locator(selector).innerText();
  const field = (page: Page, name: string) => page.locator(`#receiver-form [name=${name}]`);

  beforeAll(async () => {
    rx = await startTestReceiver();
    cp = await ControlProcess.start("notify-pages", {
      EBPF_K8S_ALERT_INTERVAL: "0.5s",
      EBPF_K8S_NOTIFY_INTERVAL: "0.5s",
    });
    b = await openBrowser(cp.url);
    await b.login(cp.adminToken);
  }, 90_000);

  afterAll(async () => {
    await b?.close();
    await cp?.stop();
    await rx?.close();
  }, 30_000);

  it("lists the default thresholds; refuses a bad receiver next to its fields, then adds one, secret unseen", async () => {
    const page = await b.open("/thresholds");
    const list = await text(page, "#thresholds");
    expect(list).toContain("agent silent: no batch from the node's agent for 2 minutes (default threshold)");
    expect(list).toContain("drops surge");
    expect(await text(page, "#receivers")).toContain("No receiver: alerts show on these pages only.");

    await field(page, "name").fill("Team Net");
    await field(page, "url").fill("not a url");
    b.expectError("POST", "/receivers", 422);
    await page.locator("#receiver-form button[type=submit]").click();
    await expect.poll(() => page.locator("#receiver-form .field-error").count()).toBe(2);
    expect(await text(page, "#f-name-error")).toMatch(/lowercase/);
    expect(await text(page, "#f-url-error")).toMatch(/http/);

    await field(page, "name").fill("team-net");
    await field(page, "url").fill(rx.url);
    await field(page, "bearerToken").fill("browser-secret-token");
    await page.locator("#receiver-form button[type=submit]").click();
    await expect.poll(() => text(page, "#flash")).toMatch(/^Added the receiver team-net/);
    expect(await text(page, "#receivers")).toContain("team-net");
    expect(await text(page, "#receivers")).toContain("bearer token (not shown)");
    expect(await page.content()).not.toContain("browser-secret-token");
    await b.screenshot(page, "notification-receivers");
  });

  it(
    "an alert fired by the batches is delivered once and shown under /alerts; the receiver switched off in place",
    async () => {
      await cp.call("POST", "/api/v1/thresholds", {
        metric: "rxBytesPerSec",
        scope: { kind: "node", target: "node-a" },
        upper: 1_000,
        holdSeconds: 0,
      });
      const now = Date.now();
      await cp.postBatch({ node: "node-a", seq: 1, ts: now - 1_000, interfaces: [iface({ rxBytes: 0 })] });
      await cp.postBatch({ node: "node-a", seq: 2, ts: now, interfaces: [iface({ rxBytes: 100_000 })] });
      await expect.poll(() => rx.received.length, { timeout: 30_000 }).toBe(1);
      expect(rx.received[0]!.headers.authorization).toBe("Bearer browser-secret-token");
      expect(rx.received[0]!.body.alerts[0]!.labels).toMatchObject({ alertname: "EbpfK8sRxBytesPerSecHigh" });

      const alerts = await b.open("/alerts");
      expect(await text(alerts, "#notifications")).toContain("team-net: 1 delivered");
      expect(await text(alerts, "#notifications table.deliveries")).toMatch(/firing · RX bytes\/s above 1000 B\/s/);
      await b.screenshot(alerts, "notification-deliveries");

      const page = await b.open("/thresholds");
      await page.locator("#receivers button", { hasText: "switch off" }).click();
      await expect.poll(() => text(page, "#receivers")).toContain("switched off");
      expect((await cp.call("GET", "/api/v1/receivers"))[0].enabled).toBe(false);
      expect(b.problems()).toEqual([]);
    },
    60_000,
  );
});
