// SPDX-License-Identifier: Apache-2.0
/**
 * Nodes that come and go (docs/nodes.md), in real headless Chromium against a real control plane process fed
 * batches as agents post them: the cluster's module defaults changed on their page and inherited by a node, the
 * node page's override and its reset, and a node deleted from its page, after which its agent's credential is
 * refused with a 401 that says why.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNKNOWN_CREDENTIAL } from "../../control/auth/node-auth.ts";
import { batch } from "../../control/test-support.ts";
import { ControlProcess } from "../e2e/control-process.ts";
import { browserMissing, type BrowserSession, closeAll, openBrowser } from "./browser.ts";

const missing = browserMissing();

describe.skipIf(missing)("nodes that come and go, in headless Chromium", () => {
  let cp: ControlProcess;
  let b: BrowserSession;

  const text = (page: Page, selector: string) => page.locator(selector).innerText();
  /** The "Should run" cell of a module on a node page. */
  const shouldRun = (page: Page, module: string) =>
    page.locator("#modules tbody tr", { has: page.locator("td:first-child", { hasText: new RegExp(`^${module}`) }) })
      .locator("td")
      .nth(1);
  /** Accepts every confirmation the page asks, and remembers what it asked. */
  const acceptAll = (page: Page) => {
    const asked: string[] = [];
    page.on("dialog", (d) => {
      asked.push(d.message());
      void d.accept();
    });
    return asked;
  };

  beforeAll(async () => {
    cp = await ControlProcess.start("node-lifecycle");
    const now = Date.now();
    for (const node of ["node-a", "node-b"]) await cp.postBatch({ node, ts: now });
    b = await openBrowser(cp.url);
    await b.login(cp.adminToken);
  }, 90_000);

  afterAll(() => closeAll(b, cp), 30_000);

  it("a default set on its page reaches a node; the node's override stays, and its reset follows the default", async () => {
    const page = await b.open("/module-defaults");
    const asked = acceptAll(page);
    await page.locator('select[name="lb"]').selectOption("on");
    await page.locator("button", { hasText: "Save defaults" }).click();
    await expect.poll(() => text(page, "#flash")).toMatch(/^Defaults changed: lb on \(desired state version 1\)/);
    expect(asked).toEqual([
      "Every node that follows a changed default applies it within one interval. Save the defaults?",
    ]);
    expect((await cp.call("GET", "/api/v1/module-defaults")).modules.lb).toBe(true);

    const node = await b.open("/nodes/node-b");
    acceptAll(node);
    expect(await shouldRun(node, "lb").innerText()).toBe("default (on)");
    await shouldRun(node, "lb").locator("xpath=..").locator("button", { hasText: "Turn off" }).click();
    await expect.poll(() => shouldRun(node, "lb").innerText()).toBe("overridden (off)");
    // the next ack tells the agent
    const ack = await cp.postBatch({ node: "node-b", seq: 2, ts: Date.now() });
    expect(ack.desired.modules.lb).toBe(false);
    await shouldRun(node, "lb").locator("xpath=..").locator("button", { hasText: "Reset to default" }).click();
    await expect.poll(() => shouldRun(node, "lb").innerText()).toBe("default (on)");
    expect(await text(node, "#flash")).toMatch(/^lb is now on \(the cluster default\) for node-b/);
    expect(b.problems()).toEqual([]);
  });

  it("deleting a node from its page lists it no more and refuses its agent's credential", async () => {
    const credential = await cp.credential("node-a");
    const page = await b.open("/nodes/node-a");
    const asked = acceptAll(page);
    await Promise.all([
      page.waitForURL(`${cp.url}/`),
      page.locator("button", { hasText: "Delete node node-a" }).click(),
    ]);
    expect(asked).toEqual([
      "Delete node node-a? Its agent's credential stops working, and its module overrides are lost.",
    ]);
    const names = (await cp.call("GET", "/api/v1/nodes")).map((n: { name: string }) => n.name);
    expect(names).toEqual(["node-b"]);

    const res = await fetch(`${cp.url}/api/v1/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
      body: JSON.stringify(batch({ node: "node-a", seq: 2, ts: Date.now() })),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: UNKNOWN_CREDENTIAL });
    expect(b.problems()).toEqual([]);
  });
});
