// SPDX-License-Identifier: Apache-2.0
/**
 * Upper and lower limits in real headless Chromium (scripts/browser/browser.ts)
 * against a real control plane fed by the lab, evaluating every second:
 * - a threshold made, refused (422, errors next to the fields, nothing
 *   written), edited and deleted through the /thresholds form as admin, in place;
 * - the node page's charts drawn again with new numbers on their live poll;
 * - an alert firing while a pod sends a steady stream above an upper limit,
 *   shown live on /alerts, the overview and the node page, and resolving by
 *   itself once the stream ends;
 * - an alert firing when a node's agent stops (heartbeat age), resolving when
 *   it is started again.
 * Screenshots of each state land in artifacts/screenshots/.
 *
 * Pods (lab "alrt"): n1-p1 on alrt-n1 (the client), n2-p1 on alrt-n2.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserMissing, type BrowserSession, htmxReady, markDocument } from "../browser/browser.ts";
import type { Cluster } from "../cluster.ts";
import type { PodSpec } from "../lab/topology.ts";
import { streamRate, UDP_HDRS, type UdpStream, udpStream } from "../lab/traffic.ts";
import { waitFor } from "../procs.ts";
import { formatByteRate } from "../../web/format.ts";
import type { AlertView } from "../../control/alerts/alerts.ts";
import type { ThresholdView } from "../../control/alerts/thresholds.ts";
import { BrowserLab } from "./browser-lab.ts";
import { kernelMissing } from "./kernel.ts";

const missing = kernelMissing() ?? browserMissing();

interface ApiPod {
  txBytes: number;
}

const N1 = "alrt-n1";
const N2 = "alrt-n2";
/** A regular expression written out raw, with these pieces put in. */
const pattern = (parts: TemplateStringsArray, ...pieces: string[]) => new RegExp(String.raw(parts, ...pieces));
/** How the pages write a rate in KiB/s and a time gone by. */
const KIBS = String.raw`[\d.]+ KiB/s`;
const SECONDS = String.raw`\d+ s`;
const AGO = String.raw`(just now|\d+ (s|min) ago)`;
const SPAN = String.raw`\d+ (s|min)`;
/** An alert's row on /alerts and the node page (target, reading), then the rest of an active or a resolved one. */
const TRAFFIC_ALERT = String.raw`^lab/n1-p1 pod on alrt-n1 · busy client TX bytes/s ${KIBS}, above 19\.5 KiB/s`;
const SILENT_ALERT = String.raw`^alrt-n2 node · agent silent heartbeat age \d+ s, above 3 s`;
const ACTIVE = (value: string) => String.raw` fired at ${value} ${value} ${AGO} ${SPAN}$`;
const RESOLVED = (value: string) => String.raw` at firing ${value} ${AGO} ${AGO} back within the limits$`;
const HISTORY_ROWS = "#alerts section.panel:has(h3:text('History')) tbody tr";
/** Evaluation every second; a node is Stale after 3 s without a batch. */
// No default thresholds: the tests start from an empty list and count every alert.
const CONTROL_ENV = {
  EBPF_K8S_ALERT_INTERVAL: "1s",
  EBPF_K8S_STALE_AFTER: "3",
  EBPF_K8S_LOST_AFTER: "6",
  EBPF_K8S_DEFAULT_THRESHOLDS: "off",
};

describe.skipIf(missing)("thresholds and alerts in headless Chromium on a lab cluster", () => {
  const lab = new BrowserLab({ name: "alrt", index: 13, port: 20_000 + (process.pid % 400), controlEnv: CONTROL_ENV });
  let c: Cluster;
  let anon: BrowserSession, admin: BrowserSession;
  let client: PodSpec, server: PodSpec;
  /** Thresholds a test made, deleted after it whatever happened. */
  const made = new Set<string>();

  const logged = (fn: () => Promise<void>) =>
    lab.logged(async () => {
      try {
        await fn();
      } finally {
        await Promise.all([...made].map((id) => c.admin("DELETE", `/api/v1/thresholds/${id}`)));
        made.clear();
      }
    });

  const thresholds = () => c.get<ThresholdView[]>("/api/v1/thresholds");
  const alertsOf = (id: string) => c.get<AlertView[]>(`/api/v1/alerts?threshold=${id}`);
  const podTx = async (name: string) => (await c.get<ApiPod>(`/api/v1/pods/lab/${name}`)).txBytes;

  async function createThreshold(body: object): Promise<string> {
    const res = await c.admin("POST", "/api/v1/thresholds", body);
    if (res.status !== 201) throw new Error(`threshold: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as ThresholdView;
    made.add(id);
    return id;
  }

  /** The one alert of a threshold once it is in `state`. */
  const alertIn = (id: string, state: AlertView["state"], timeout: number) =>
    waitFor(`threshold ${id}'s alert ${state}`, async () => {
      const all = await alertsOf(id);
      return all.length === 1 && all[0].state === state ? all[0] : undefined;
    }, timeout);

  /** Says later whether the page is still the document it is now (no reload, no navigation; htmx's history pushes keep it). */
  async function stayPut(page: Page) {
    const doc = await markDocument(page);
    return async (what: string) => expect(await doc.sameDocument(), `${what}: the same document, no reload`).toBe(true);
  }

  /** Clicks a submit button of the threshold form and returns the answer to its POST. */
  async function submit(page: Page, button: string) {
    const [res] = await Promise.all([
      page.waitForResponse((r) =>
        r.request().method() === "POST" && new URL(r.url()).pathname.startsWith("/thresholds")
      ),
      page.locator("#threshold-form button[type=submit]", { hasText: button }).click(),
    ]);
    return res;
  }

  /** The text of the one element `selector` finds, its white space folded to single spaces. */
  const text = async (page: Page, selector: string) =>
    (await page.locator(selector).innerText()).replace(/\s+/g, " ").trim();

  beforeAll(async () => {
    await lab.start(async () => {
      c = lab.c;
      [client, server] = lab.pods;
      anon = await lab.browser();
      admin = await lab.browser();
      await admin.login(c.adminToken);
    });
  }, 90_000);

  afterAll(() => lab.down(), 60_000);

  it(
    "creates, refuses, edits and deletes a threshold through the /thresholds form as admin, in place",
    logged(async () => {
      const page = await admin.open("/thresholds");
      expect(await text(page, "#thresholds")).toContain("No thresholds yet.");
      const samePage = await stayPut(page);
      const field = (name: string) => page.locator(`#threshold-form [name=${name}]`);
      await field("metric").selectOption("txBytesPerSec");
      await field("scopeKind").selectOption("pod");
      await field("target").fill(`lab/${client.name}`);
      await field("upper").fill("lots");
      await field("holdSeconds").fill("2");
      await field("description").fill("busy client");

      // not a number: the form comes back with the message next to the field, what was typed kept, nothing written
      // (422: a form sent back with its errors, the one error answer this step provokes)
      admin.expectError("POST", "/thresholds", 422);
      expect((await submit(page, "Create")).status()).toBe(422);
      await expect.poll(() => text(page, "#f-upper-error")).toBe("must be a number");
      expect(await page.locator("#threshold-form .field-error").count(), "one error, on the upper limit").toBe(1);
      expect(await field("upper").getAttribute("aria-invalid")).toBe("true");
      expect(await field("upper").inputValue()).toBe("lots");
      expect(await field("target").inputValue()).toBe(`lab/${client.name}`);
      expect(await field("scopeKind").inputValue()).toBe("pod");
      expect(await thresholds(), "nothing written").toEqual([]);
      await admin.screenshot(page, "thresholds-invalid");

      await field("upper").fill("20000");
      expect((await submit(page, "Create")).status()).toBe(200);
      await expect.poll(() => text(page, "#flash")).toBe(
        "Created: TX bytes/s for lab/n1-p1, alert when above 19.5 KiB/s for 2 s.",
      );
      const [t, ...more] = await thresholds();
      expect(more).toEqual([]);
      made.add(t.id);
      expect(t).toMatchObject({
        metric: "txBytesPerSec",
        scope: { kind: "pod", target: "lab/n1-p1" },
        upper: 20_000,
        lower: null,
        holdSeconds: 2,
        description: "busy client",
        enabled: true,
      });
      const row = page.locator(`#threshold-${t.id}`);
      expect((await row.locator("td").allInnerTexts()).slice(0, 6)).toEqual([
        "TX bytes/s\nbusy client",
        "one pod\nlab/n1-p1",
        "—",
        "19.5 KiB/s",
        "2 s",
        "within limits",
      ]);
      expect(await field("upper").inputValue(), "a blank form again").toBe("");
      await samePage("created");

      // the row's edit link opens the form filled with it
      await row.locator("a", { hasText: "edit" }).click();
      await page.waitForURL(`${c.url}/thresholds?edit=${t.id}`);
      await htmxReady(page);
      const sameEditPage = await stayPut(page);
      expect(await text(page, "#threshold-form h3")).toBe("Edit threshold");
      expect([
        await field("metric").inputValue(),
        await field("scopeKind").inputValue(),
        await field("target").inputValue(),
        await field("upper").inputValue(),
        await field("holdSeconds").inputValue(),
      ])
        .toEqual(["txBytesPerSec", "pod", "lab/n1-p1", "20000", "2"]);

      await field("lower").fill("50000");
      admin.expectError("POST", `/thresholds/${t.id}`, 422);
      expect((await submit(page, "Save")).status()).toBe(422);
      await expect.poll(() => text(page, "#f-lower-error")).toBe("must be below the upper limit");
      expect(await text(page, "#threshold-form h3"), "still the edit").toBe("Edit threshold");
      expect(await thresholds(), "nothing written").toEqual([t]);

      await field("lower").fill("");
      await field("upper").fill("30000");
      await field("holdSeconds").fill("1");
      expect((await submit(page, "Save")).status()).toBe(200);
      await expect.poll(() => text(page, "#flash")).toBe(
        "Saved: TX bytes/s for lab/n1-p1, alert when above 29.3 KiB/s for 1 s.",
      );
      const [edited] = await thresholds();
      expect(edited).toEqual({ ...t, upper: 30_000, holdSeconds: 1, updatedAt: edited.updatedAt });
      expect(edited.updatedAt > t.updatedAt).toBe(true);
      expect((await row.locator("td").allInnerTexts()).slice(3, 5)).toEqual(["29.3 KiB/s", "1 s"]);
      expect(page.url(), "the edit's URL replaced by the list's").toBe(`${c.url}/thresholds`);
      expect(await text(page, "#threshold-form h3")).toBe("New threshold");
      await admin.screenshot(page, "thresholds-edited");

      // delete asks first: dismissed, nothing happens; accepted, it goes
      const asked: string[] = [];
      page.on("dialog", (d) => {
        asked.push(d.message());
        void (asked.length === 1 ? d.dismiss() : d.accept());
      });
      const posts = () => admin.requests.filter((r) => r.method === "POST" && r.url.endsWith("/delete")).length;
      await row.locator("button", { hasText: "delete" }).click();
      await expect.poll(() => asked.length).toBe(1);
      expect(posts()).toBe(0);
      expect(await thresholds()).toEqual([edited]);
      const [deleted] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === `/thresholds/${t.id}/delete`),
        row.locator("button", { hasText: "delete" }).click(),
      ]);
      expect(deleted.status()).toBe(200);
      expect(asked).toEqual(
        Array(2).fill("Delete the threshold on TX bytes/s for lab/n1-p1? Its alerts resolve and stay in the history."),
      );
      await expect.poll(() => text(page, "#flash"))
        .toBe(
          "Deleted: TX bytes/s for lab/n1-p1, alert when above 29.3 KiB/s for 1 s. Its alerts are resolved and stay in the history.",
        );
      expect(await text(page, "#thresholds")).toContain("No thresholds yet.");
      expect(await thresholds()).toEqual([]);
      made.delete(t.id);
      await sameEditPage("edited and deleted");
      expect(admin.problems()).toEqual([]);
      await page.close();
    }),
    60_000,
  );

  it(
    "redraws the node page's charts with the new numbers on their live poll",
    logged(async () => {
      const page = await anon.open(`/nodes/${N1}`);
      const samePage = await stayPut(page);
      const bytes = page.locator("#node-traffic figure[data-chart]").first();
      await expect.poll(() => bytes.getAttribute("data-drawn")).toBe("");
      /** The bytes chart as drawn: its element's mark, its points and TX values (from the numbers it was drawn from). */
      const chart = () =>
        bytes.evaluate((el) => {
          const data = JSON.parse(el.querySelector('script[type="application/json"]')!.textContent!) as {
            x: number[];
            series: { label: string; values: (number | null)[] }[];
          };
          return {
            mark: (el as unknown as { __mark?: string }).__mark ?? null,
            drawn: el.getAttribute("data-drawn") !== null && el.querySelector(".plot canvas") !== null,
            x: data.x,
            tx: data.series.find((s) => s.label === "TX")!.values,
          };
        });
      const before = await chart();
      expect(before.drawn).toBe(true);
      await bytes.evaluate((el) => ((el as unknown as { __mark: string }).__mark = "before"));

      const x: UdpStream = { client, server, port: 7101, n: 100, size: 1000, everyMs: 20 };
      const started = Date.now() / 1000;
      await udpStream(x);
      // a chart swapped in by the poll and drawn, with reports after the stream began at its rate (node TX: eth0 carries the stream)
      const atRate = (s: Awaited<ReturnType<typeof chart>>) =>
        s.x.some((t, i) => t > started && (s.tx[i] ?? 0) >= 0.8 * streamRate(x));
      await expect.poll(async () => {
        const s = await chart();
        return s.mark === null && s.drawn && atRate(s);
      }, { timeout: 20_000, interval: 500 }).toBe(true);
      const after = await chart();
      expect(after.x.length, "more points").toBeGreaterThan(before.x.length);
      expect(after.x.at(-1)!).toBeGreaterThan(before.x.at(-1)!);

      // uPlot drew those numbers: at the right end of the plot its legend reads the last TX value
      const over = bytes.locator(".u-over");
      const legendTx = bytes.locator(".u-legend tr.u-series", { has: page.locator(".u-label", { hasText: /^TX$/ }) })
        .locator(".u-value");
      let nudge = 0;
      await over.scrollIntoViewIfNeeded(); // below the node's health summary: the pointer reaches only what is in view
      await expect.poll(async () => {
        const box = (await over.boundingBox())!;
        await page.mouse.move(box.x + box.width - 1 - (nudge++ % 2), box.y + box.height / 2);
        const [shown, s] = [await legendTx.innerText(), await chart()];
        return shown === formatByteRate(s.tx.at(-1)!) && s.mark === null
          ? "the last TX value"
          : `${shown} vs ${formatByteRate(s.tx.at(-1)!)}`;
      }, { timeout: 10_000, interval: 300 }).toBe("the last TX value");
      await anon.screenshot(page, "node-charts-after-traffic");
      await samePage("charts redrawn");
      expect(anon.problems()).toEqual([]);
      await page.close();
    }),
    60_000,
  );

  it(
    "fires an alert while a pod sends above an upper limit, shown live on /alerts, the overview and the node page, and resolves it once the traffic stops",
    logged(async () => {
      const pages = {
        alerts: await anon.open("/alerts"),
        overview: await anon.open("/"),
        node: await anon.open(`/nodes/${N1}`),
      };
      const stay = await Promise.all(Object.values(pages).map(stayPut));
      expect(await text(pages.alerts, "#alerts")).toContain("Nothing is out of its limits: no alert is active.");
      expect(await text(pages.overview, ".alert-banner")).toContain("No active alerts.");

      const limit = 20_000;
      const id = await createThreshold({
        metric: "txBytesPerSec",
        scope: { kind: "pod", target: `lab/${client.name}` },
        upper: limit,
        holdSeconds: 2,
        description: "busy client",
      });
      const x: UdpStream = { client, server, port: 7102, n: 750, size: 1000, everyMs: 20 }; // 15 s at 52,100 B/s
      const txBefore = await podTx(client.name);
      const stream = udpStream(x);
      try {
        const fired = await alertIn(id, "active", 15_000);
        expect(fired).toMatchObject({
          metric: "txBytesPerSec",
          target: "lab/n1-p1",
          targetKind: "pod",
          node: N1,
          bound: "upper",
          limit,
          holdSeconds: 2,
          resolvedAt: null,
        });
        // held 2 s before firing; the reading is the stream's rate (within a report's jitter)
        expect(Date.parse(fired.firedAt) - Date.parse(fired.breachedSince)).toBeGreaterThanOrEqual(2_000);
        for (const v of [fired.value, fired.peak, fired.lastValue]) {
          expect(v).toBeGreaterThan(0.6 * streamRate(x));
          expect(v).toBeLessThan(1.5 * streamRate(x));
        }
        // every page shows it by its own poll
        await Promise.all([
          expect.poll(() => text(pages.alerts, "#alerts tr.alert-active"), { timeout: 12_000 }).toMatch(
            pattern`${TRAFFIC_ALERT}${ACTIVE(KIBS)}`,
          ),
          expect.poll(() => text(pages.overview, ".alert-banner li"), { timeout: 8_000 }).toMatch(
            pattern`^lab/n1-p1: TX bytes/s ${KIBS}, above 19\.5 KiB/s · fired ${AGO}$`,
          ),
          expect.poll(() => text(pages.node, "#node-alerts tr.alert-active"), { timeout: 8_000 }).toMatch(
            pattern`${TRAFFIC_ALERT}${ACTIVE(KIBS)}`,
          ),
        ]);
        expect(await pages.alerts.locator("#alerts h3 .meta").first().innerText()).toBe("1 firing");
        expect(await text(pages.overview, ".alert-banner > strong")).toBe("1 active alert");
        expect(await pages.overview.locator(`tr:has(a:text-is("${N1}")) a.alert-count`).getAttribute("href")).toBe(
          `/alerts?node=${N1}`,
        );
        expect(await pages.overview.locator(`tr:has(a:text-is("${N2}")) a.alert-count`).count()).toBe(0);
        expect(await text(pages.node, "#node-detail .node a.alert-count")).toBe("1 alert");
        await Promise.all(Object.entries(pages).map(([name, p]) => anon.screenshot(p, `${name}-alert-traffic`)));
      } finally {
        await stream;
      }
      // exactly the stream's bytes, and no more: a known amount crossed the limit
      await expect.poll(() => podTx(client.name), { timeout: 10_000 }).toBe(txBefore + x.n * (x.size + UDP_HDRS));

      const resolved = await alertIn(id, "resolved", 15_000);
      expect(resolved.resolvedReason).toBe("recovered");
      await Promise.all([
        expect.poll(() => text(pages.alerts, "#alerts"), { timeout: 12_000 }).toContain(
          "Nothing is out of its limits: no alert is active.",
        ),
        expect.poll(() => text(pages.overview, ".alert-banner"), { timeout: 8_000 }).toContain("No active alerts."),
        expect.poll(() => text(pages.node, "#node-alerts"), { timeout: 8_000 }).toContain(
          `Nothing on ${N1} or its pods is out of its limits.`,
        ),
      ]);
      expect(await text(pages.alerts, HISTORY_ROWS)).toMatch(pattern`${TRAFFIC_ALERT}${RESOLVED(KIBS)}`);
      expect(await pages.node.locator("#node-detail a.alert-count").count()).toBe(0);
      await anon.screenshot(pages.alerts, "alerts-resolved-traffic");
      for (const [i, name] of Object.keys(pages).entries()) await stay[i](name);
      expect(anon.problems()).toEqual([]);
      await Promise.all(Object.values(pages).map((p) => p.close()));
    }),
    90_000,
  );

  it(
    "fires an alert when a node's agent stops reporting, shown live on the pages, and resolves it when the agent is back",
    logged(async () => {
      const n2 = c.node(1);
      const pages = {
        alerts: await anon.open("/alerts"),
        overview: await anon.open("/"),
        node: await anon.open(`/nodes/${N2}`),
      };
      const stay = await Promise.all(Object.values(pages).map(stayPut));
      const id = await createThreshold({
        metric: "heartbeatAgeSeconds",
        scope: { kind: "node", target: N2 },
        upper: 3,
        holdSeconds: 0,
        description: "agent silent",
      });
      // reporting every 0.5 s: well within the limit
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await alertsOf(id)).toEqual([]);

      const agent = c.agents.get(n2.name)!;
      expect(await agent.stop(), "the agent stops cleanly").toBe(0);
      const stoppedAt = Date.now();
      try {
        const fired = await alertIn(id, "active", 15_000);
        expect(fired).toMatchObject({
          metric: "heartbeatAgeSeconds",
          target: N2,
          targetKind: "node",
          node: N2,
          bound: "upper",
          limit: 3,
        });
        expect(fired.value).toBeGreaterThan(3);
        expect(fired.value).toBeLessThan((Date.now() - stoppedAt) / 1000 + 2);
        await Promise.all([
          expect.poll(() => text(pages.alerts, "#alerts tr.alert-active"), { timeout: 12_000 }).toMatch(
            pattern`${SILENT_ALERT}${ACTIVE(SECONDS)}`,
          ),
          expect.poll(() => text(pages.overview, ".alert-banner li"), { timeout: 8_000 }).toMatch(
            pattern`^alrt-n2: heartbeat age ${SECONDS}, above 3 s · fired ${AGO}$`,
          ),
          expect.poll(() => text(pages.node, "#node-alerts tr.alert-active"), { timeout: 8_000 }).toMatch(
            pattern`${SILENT_ALERT}${ACTIVE(SECONDS)}`,
          ),
          expect.poll(() => text(pages.node, "#node-detail .node header .status"), { timeout: 8_000 }).toMatch(
            /^(Stale|Lost)/,
          ),
        ]);
        // the reading follows the silence as it grows
        await expect.poll(async () => (await alertsOf(id))[0].lastValue, { timeout: 5_000 }).toBeGreaterThan(
          fired.value,
        );
        await Promise.all(Object.entries(pages).map(([name, p]) => anon.screenshot(p, `${name}-alert-silent`)));
      } finally {
        c.startAgent(n2);
      }
      const resolved = await alertIn(id, "resolved", 30_000);
      expect(resolved.resolvedReason).toBe("recovered");
      expect(resolved.peak).toBeGreaterThan(resolved.value);
      await Promise.all([
        expect.poll(() => text(pages.alerts, "#alerts"), { timeout: 12_000 }).toContain(
          "Nothing is out of its limits: no alert is active.",
        ),
        expect.poll(() => text(pages.overview, ".alert-banner"), { timeout: 8_000 }).toContain("No active alerts."),
        expect.poll(() => text(pages.node, "#node-detail .node header .status"), { timeout: 8_000 }).toMatch(/^Ready/),
      ]);
      expect(await text(pages.node, "#node-alerts")).toContain(`Nothing on ${N2} or its pods is out of its limits.`);
      expect(await text(pages.alerts, `${HISTORY_ROWS}:has-text("${N2}")`)).toMatch(
        pattern`${SILENT_ALERT}${RESOLVED(SECONDS)}`,
      );
      await anon.screenshot(pages.alerts, "alerts-resolved-silent");
      for (const [i, name] of Object.keys(pages).entries()) await stay[i](name);
      expect(anon.problems()).toEqual([]);
      await Promise.all(Object.values(pages).map((p) => p.close()));
    }),
    90_000,
  );
});
