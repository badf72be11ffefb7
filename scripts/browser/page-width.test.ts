// SPDX-License-Identifier: Apache-2.0
/**
 * Every page of the dashboard fits a 1280×800 laptop screen (issue 22): no
 * page scrolls sideways, but for the content of explicit scroll regions
 * (web/components/scroll-region.tsx), which scroll on their own. Real
 * headless Chromium (scripts/browser/browser.ts), logged in as admin so the
 * admin forms show, against a real control plane process fed an agent's
 * batches with the names a real cluster has: a node named as a cloud names
 * it, pods of Deployments with their two hashes, long namespaces, several
 * interfaces, flows, TCP rows, drops, services with backends, thresholds.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow, pod, tcp } from "../../control/monitoring/fixtures.test-support.ts";
import { report } from "../../control/monitoring/scenario.test-support.ts";
import { backends, service } from "../../control/services/fixtures.test-support.ts";
import { iface } from "../../control/test-support.ts";
import { FLOWS_FRAGMENT_PATH } from "../../web/pages/flows.tsx";
import { ControlProcess } from "../e2e/control-process.ts";
import { browserMissing, type BrowserSession, closeAll, markDocument, openBrowser, refreshed } from "./browser.ts";
import { DROPS, nodeBatches } from "./node-page.test-support.ts";

const missing = browserMissing();

/** A laptop's screen, as the issue saw the pages. */
const SCREEN = { width: 1280, height: 800 };

/** As a cloud names its machines. */
const NODE = "ip-10-0-12-34.eu-west-1.compute.internal";
const NAMESPACE = "payments-production";
const CLIENT = pod("u-client", "checkout-service-7d9f8b6c5d-x2x9q", ["10.0.1.21"], { namespace: NAMESPACE });
const SERVER = pod("u-server", "ledger-postgres-primary-0", ["10.0.1.22"], { namespace: NAMESPACE });
const OTHERS = Array.from(
  { length: 6 },
  (_, i) =>
    pod(`u-other-${i}`, `notification-dispatcher-5c8f7b9d4-q${i}w8z`, [`10.0.1.${30 + i}`], {
      namespace: "customer-engagement",
    }),
);
const PODS = [CLIENT, SERVER, ...OTHERS];
/** eth0, cni0 and the pods' host-side veths: what a node with several watched interfaces reports. */
const INTERFACES = (k: number) => [
  iface({ ifname: "eth0", ifindex: 2, rxBytes: 2_000_000 * k, rxPackets: 2_000 * k, txBytes: 900_000 * k }),
  iface({ ifname: "cni0", ifindex: 3, rxBytes: 340_000 * k, rxPackets: 400 * k, txBytes: 300_000 * k }),
  ...PODS.map((_, i) => iface({ ifname: `veth${(0x3a7f9c20 + i).toString(16)}`, ifindex: 10 + i, rxBytes: 1_000 * k })),
];
const SERVICE = "checkout-service-internal";
/** The client's connections to the server, every column of the TCP table busy (grouped: ends, connections, health). */
const FAILING_TCP = tcp({
  ...{ pod: CLIENT.uid, local: CLIENT.ips[0], remote: SERVER.ips[0], port: 5432, role: "client" },
  ...{ opened: 1_204, failedRefused: 31, failedTimeout: 2, closed: 1_170, durationMs: 5_265_000 },
  ...{ retransmits: 12_345, resetsRx: 1_002, resetsTx: 87, srttUsSum: 4_936, srttSamples: 4 },
});

/**
 * Every page web/ serves (GET, not a fragment, an asset or the live flows' event stream /flows/live), with a text each
 * must show: the long names are on it, so the page was measured with them.
 */
const PAGES: Record<string, string> = {
  "/": NODE,
  "/pods": CLIENT.name,
  [`/pods/${NAMESPACE}/${CLIENT.name}`]: SERVER.name,
  "/services": SERVICE,
  [`/services/${NAMESPACE}/${SERVICE}`]: OTHERS[0].ips[0],
  [`/nodes/${NODE}`]: "veth3a7f9c27",
  "/servicemap": CLIENT.name,
  "/flows": OTHERS[5].name,
  "/accel": SERVICE,
  "/alerts": CLIENT.name,
  "/thresholds": "New notification receiver",
  "/module-defaults": "gateway",
  "/api": "/api/v1/thresholds",
  "/login": "token",
};

/**
 * What makes the page wider than the screen, or hides content sideways: how far the document reaches, the outermost
 * elements that stick out past the viewport's right edge, and the boxes that clip or scroll their content sideways
 * (a card with `overflow-x: auto` cuts a table's last columns off just as the screen's edge does). The content of
 * scroll regions (.scroll-x, web/components/scroll-region.tsx) may be as wide as it likes: those scroll on purpose.
 */
function overflow(page: Page) {
  return page.evaluate(() => {
    const width = globalThis.innerWidth; // the viewport, scrollbar included
    const name = (el: Element) =>
      el.tagName.toLowerCase() + (el.id ? `#${el.id}` : "") + [...el.classList].map((c) => `.${c}`).join("");
    const path = (el: Element) => {
      const names: string[] = [];
      for (let e: Element | null = el; e && e !== document.body; e = e.parentElement) names.unshift(name(e));
      return names.join(" > ");
    };
    const all = [...document.body.querySelectorAll("*")].filter((el) => !el.parentElement?.closest(".scroll-x"));
    const past = all
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      // the outermost ones: their children stick out with them
      .filter((el, _, out) => !out.includes(el.parentElement as Element))
      .map((el) => `${path(el)} (right edge at ${Math.round(el.getBoundingClientRect().right)})`);
    const clipped = all
      .filter((el) => !el.matches(".scroll-x") && getComputedStyle(el).overflowX !== "visible")
      .filter((el) => el.scrollWidth > el.clientWidth + 1)
      .map((el) => `${path(el)} (${el.scrollWidth} px of content in ${el.clientWidth})`);
    return { scrollWidth: document.documentElement.scrollWidth, width, past, clipped };
  });
}

/** Opens every collapsed section (the node page's lists load when opened) and waits for htmx to settle. */
async function openSections(page: Page) {
  for (const summary of await page.locator("details:not([open]) > summary").all()) await summary.click();
  await page.waitForFunction(() => !document.querySelector(".htmx-swapping, .htmx-settling, .htmx-request"));
}

describe.skipIf(missing)("every dashboard page at 1280×800 in headless Chromium", () => {
  let cp: ControlProcess;
  let b: BrowserSession;

  beforeAll(async () => {
    cp = await ControlProcess.start("page-width");
    // thresholds first, so the batches fire their alerts
    await cp.call("POST", "/api/v1/thresholds", {
      metric: "rxBytesPerSec",
      scope: { kind: "pod", target: `${NAMESPACE}/${CLIENT.name}` },
      upper: 1,
      holdSeconds: 0,
      description: "checkout pods receive more than the payment gateway's contract allows per second",
    });
    await cp.call("POST", "/api/v1/thresholds", {
      metric: "dropsPerSec",
      scope: { kind: "node", target: NODE },
      upper: 0.5,
      holdSeconds: 0,
    });
    const now = Date.now();
    for (const [i, one] of nodeBatches(now).entries()) {
      const k = i + 1;
      await cp.postBatch({
        ...one,
        node: NODE,
        interfaces: INTERFACES(k),
        pods: PODS.map((p) => report(p, p === CLIENT ? 5 * k : k)),
        flows: k === 2
          ? [
            flow({ src: CLIENT.ips[0], dst: SERVER.ips[0], port: 5432, packets: 40, bytes: 48_000 }),
            ...OTHERS.map((o) => flow({ src: o.ips[0], dst: "10.96.0.20", port: 443, packets: 4, bytes: 4_000 })),
          ]
          : undefined,
        tcp: k === 2 ? [FAILING_TCP] : undefined,
        drops: k === 2 ? DROPS.map((d) => (d.pod ? { ...d, pod: CLIENT.uid } : d)) : undefined,
      });
    }
    await cp.call(
      "POST",
      "/api/v1/services",
      service(SERVICE, "10.96.0.20", {
        namespace: NAMESPACE,
        portName: "https-metrics",
        port: 443,
        backends: backends(CLIENT.ips[0], ...OTHERS.map((o) => o.ips[0])),
      }),
    );
    await cp.call(
      "POST",
      "/api/v1/services",
      service("ledger-postgres-read-replicas", "10.96.0.21", {
        namespace: NAMESPACE,
        port: 5432,
        backends: backends({ ip: SERVER.ips[0], port: 5432 }),
      }),
    );
    await cp.call("POST", "/api/v1/accel/rules", {
      kind: "service",
      namespace: NAMESPACE,
      name: SERVICE,
      portName: "https-metrics",
      description: "sidecar-free fast path for the checkout service's calls to the notification dispatchers",
    });
    b = await openBrowser(cp.url);
    await b.login(cp.adminToken);
  }, 90_000);

  afterAll(() => closeAll(b, cp), 30_000);

  it("no page scrolls sideways; wide tables scroll in their own region", async () => {
    const wide: Record<string, unknown> = {};
    for (const [path, text] of Object.entries(PAGES)) {
      const page = await b.open(path);
      await page.setViewportSize(SCREEN);
      await openSections(page);
      expect(await page.locator("main").innerText(), path).toContain(text);
      const o = await overflow(page);
      if (o.scrollWidth > o.width || o.past.length > 0 || o.clipped.length > 0) wide[path] = o;
      await b.screenshot(page, `width-1280${path.replaceAll("/", "-")}`);
      await page.close();
    }
    expect(wide, "pages wider than the 1280 px screen").toEqual({});
    expect(b.problems()).toEqual([]);
  }, 120_000);

  it(
    "narrower, the flow explorer's table scrolls in its own region, which keeps its place across the 5 s refresh",
    async () => {
      const page = await b.open("/flows");
      await page.setViewportSize({ width: 800, height: 800 });
      expect((await overflow(page)).clipped, "nothing but the region scrolls").toEqual([]);
      const region = page.locator("[data-keep-scroll=flows]");
      expect(await region.evaluate((el) => el.scrollWidth - el.clientWidth), "the region is narrower than the table")
        .toBeGreaterThan(50);
      await region.evaluate((el) => (el.scrollLeft = el.scrollWidth));
      const left = await region.evaluate((el) => el.scrollLeft);
      expect(left).toBeGreaterThan(50);
      const doc = await markDocument(page);
      await refreshed(page, FLOWS_FRAGMENT_PATH);
      await refreshed(page, FLOWS_FRAGMENT_PATH); // two, so the first was not half-way when we looked
      expect(await doc.sameDocument(), "refreshed in place").toBe(true);
      expect(await page.locator("[data-keep-scroll=flows]").evaluate((el) => el.scrollLeft)).toBe(left);
      expect(b.problems()).toEqual([]);
      await page.close();
    },
    60_000,
  );
});
