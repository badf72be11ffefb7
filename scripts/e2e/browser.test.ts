// SPDX-License-Identifier: Apache-2.0
/**
 * The pages in real headless Chromium (scripts/browser/browser.ts) against a
 * real control plane fed by the lab: two nodes with one pod each, an agent
 * per node, and traffic between the pods. Every page renders with no console
 * error, no failed request and nothing fetched from anywhere but the control
 * plane (htmx is served by it); its live part polls and swaps without a
 * reload; a module switch made as admin round-trips to the agent and back;
 * a screenshot of every page lands in artifacts/screenshots/. Thresholds
 * and alerts at work: browser-alerts.test.ts.
 *
 * Pods (lab "brw"): n1-p1 on brw-n1, n2-p1 on brw-n2.
 */
import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserMissing, type BrowserSession, markDocument, SCREENSHOT_DIR } from "../browser/browser.ts";
import type { Cluster } from "../cluster.ts";
import type { PodSpec } from "../lab/topology.ts";
import { tcpTransfer, UDP_HDRS, udpExchange } from "../lab/traffic.ts";
import { waitFor } from "../procs.ts";
import { BrowserLab } from "./browser-lab.ts";
import { kernelMissing } from "./kernel.ts";

const missing = kernelMissing() ?? browserMissing();

interface ApiPod {
  name: string;
  state: string;
  rxBytes: number;
}

/** Each page, a text it must show once the lab has reported, and the fragment its htmx polls (none for /login). */
const PAGES = [
  { name: "overview", path: "/", shows: "brw-n2", polls: "/fragments/nodes" },
  { name: "node", path: "/nodes/brw-n1", shows: "cni0", polls: "/fragments/nodes/brw-n1" },
  { name: "pods", path: "/pods", shows: "n2-p1", polls: "/fragments/pods" },
  { name: "pod", path: "/pods/lab/n1-p1", shows: "lab/n2-p1", polls: "/fragments/pods/lab/n1-p1" },
  { name: "servicemap", path: "/servicemap", shows: "Top pods by bytes", polls: "/fragments/servicemap" },
  { name: "services", path: "/services", shows: "shop/web", polls: "/fragments/services" },
  { name: "service", path: "/services/shop/web", shows: "10.96.0.10:80", polls: "/fragments/services/shop/web" },
  { name: "accel", path: "/accel", shows: "No acceleration rules.", polls: "/fragments/accel" },
  { name: "alerts", path: "/alerts", shows: "no alert is active", polls: "/fragments/alerts" },
  { name: "thresholds", path: "/thresholds", shows: "heartbeat age", polls: "/fragments/thresholds" }, // a default threshold
  { name: "login", path: "/login", shows: "Token", polls: null },
] as const;

describe.skipIf(missing)("pages in headless Chromium on a lab cluster", () => {
  const lab = new BrowserLab({ name: "brw", index: 12, port: 19_500 + (process.pid % 400) });
  let c: Cluster;
  let b: BrowserSession, admin: BrowserSession;
  let client: PodSpec, server: PodSpec;

  const logged = (fn: () => Promise<void>) => lab.logged(fn);
  const pod = (name: string) => c.get<ApiPod>(`/api/v1/pods/lab/${name}`);

  beforeAll(async () => {
    await lab.start(async () => {
      c = lab.c;
      [client, server] = lab.pods;
      // something for every table: a UDP flow and a TCP connection across the nodes
      await udpExchange({ client, server, port: 7001, n: 10, req: 300, rep: 700 });
      await tcpTransfer(client, server, 5001, 50_000);
      await waitFor(
        "the flows reported",
        async () =>
          (await c.get<{ flows: { port: number }[] }>("/api/v1/flows")).flows.filter((f) =>
            f.port === 7001 || f.port === 5001
          ).length === 2,
        20_000,
      );
      // a load-balanced service for the services pages
      const res = await c.admin("POST", "/api/v1/services", {
        namespace: "shop",
        name: "web",
        vip: "10.96.0.10",
        port: 80,
        protocol: "TCP",
        backends: [{ ip: server.ip, port: 8080 }],
      });
      if (res.status !== 201) throw new Error(`creating a service: ${res.status} ${await res.text()}`);
      // a connection straight to its backend: the flows name the service, the map draws it
      await tcpTransfer(client, server, 8080, 20_000);
      await waitFor(
        "a flow naming shop/web",
        async () =>
          (await c.get<{ flows: { service: { label: string } | null }[] }>("/api/v1/flows")).flows.some((f) =>
            f.service?.label === "shop/web"
          ),
        20_000,
      );
      b = await lab.browser();
    });
  }, 90_000);

  afterAll(() => lab.down(), 60_000);

  it(
    "renders every page with no error, only the control plane's requests (htmx included), a live poll each, and a screenshot each",
    logged(async () => {
      const started = Date.now();
      const shots: string[] = [];
      const pages = await Promise.all(PAGES.map(async (p) => {
        const page = await b.open(p.path);
        expect(await page.locator("main").innerText(), p.path).toContain(p.shows);
        // one round of polling swapped in, not only the first render
        if (p.polls) {
          await page.waitForResponse((r) => new URL(r.url()).pathname === p.polls && r.ok(), { timeout: 12_000 });
        }
        expect(await page.evaluate(() => (window as unknown as { htmx: { version: string } }).htmx.version), p.path)
          .toMatch(/^2\./);
        shots.push(await b.screenshot(page, p.name));
        return page;
      }));
      expect(b.problems()).toEqual([]);
      const foreign = b.requests.filter((r) => new URL(r.url).origin !== b.origin);
      expect(foreign, "requests to anywhere but the control plane").toEqual([]);
      for (const p of PAGES) {
        const own = b.requests.filter((r) => new URL(r.page).pathname === p.path).map((r) => new URL(r.url).pathname);
        expect(own, `${p.path}: htmx from the control plane`).toContain("/assets/htmx.min.js");
      }
      expect(shots.sort()).toEqual(PAGES.map((p) => `${SCREENSHOT_DIR}/${p.name}.png`).sort());
      for (const f of shots) {
        expect(statSync(f).mtimeMs, `${f} written by this run`).toBeGreaterThanOrEqual(started - 1000);
      }
      await Promise.all(pages.map((p) => p.close()));
    }),
    60_000,
  );

  it(
    "finds nodes by name from the overview's search box, and the live list keeps the search",
    logged(async () => {
      const page = await b.open("/");
      const listed = () => page.locator("table.nodes tbody td:first-child > a").allInnerTexts();
      expect((await listed()).sort()).toEqual(["brw-n1", "brw-n2"]);
      await page.locator("form[role=search] input[name=q]").fill("N2");
      await Promise.all([page.waitForURL((u) => u.search === "?q=N2&sort=status"), page.keyboard.press("Enter")]);
      expect(await listed()).toEqual(["brw-n2"]);
      expect(await page.locator("nav.pager").innerText()).toContain("Nodes 1–1 of 1 whose name contains “n2”");
      // the next poll asks for the same search, and its swap keeps one node listed
      const poll = await page.waitForResponse((r) => new URL(r.url()).pathname === "/fragments/nodes" && r.ok(), {
        timeout: 12_000,
      });
      expect(new URL(poll.url()).searchParams.get("q")).toBe("n2");
      await page.waitForTimeout(200);
      expect(await listed()).toEqual(["brw-n2"]);
      await b.screenshot(page, "overview-search");
      expect(b.problems()).toEqual([]);
      await page.close();
    }),
    60_000,
  );

  it(
    "updates a pod's RX total on /pods in place when traffic arrives, without reloading",
    logged(async () => {
      const page = await b.open("/pods");
      const rxTotal = async () => {
        // the RX total cell (7th column) carries the exact byte count in its title
        const title = await page.locator("table.pods tr", { has: page.locator(`a:text-is("${server.name}")`) }).locator(
          "td:nth-child(7)",
        ).getAttribute("title");
        return Number(title?.replace(/\D/g, ""));
      };
      const before = (await pod(server.name)).rxBytes;
      await expect.poll(rxTotal, { timeout: 15_000 }).toBe(before);
      const doc = await markDocument(page);
      let navigations = 0;
      page.on("framenavigated", (f) => f === page.mainFrame() && navigations++);

      const x = { client, server, port: 7002, n: 8, req: 400, rep: 100 };
      await udpExchange(x);
      await expect.poll(rxTotal, { timeout: 20_000, interval: 500 }).toBe(before + x.n * (x.req + UDP_HDRS));
      expect(await doc.sameDocument(), "the same document: no reload").toBe(true);
      expect(navigations).toBe(0);
      await b.screenshot(page, "pods-after-traffic");
      expect(b.problems()).toEqual([]);
      await page.close();
    }),
    60_000,
  );

  it(
    "switches a module off and on again from the node page as admin, and the agent follows",
    logged(async () => {
      // anonymous: no switches, a way to log in
      const anon = await b.open("/nodes/brw-n1");
      expect(await anon.locator("#modules button").count()).toBe(0);
      expect(await anon.locator("#modules a[href^='/login']").count()).toBe(1);
      await anon.close();

      admin = await lab.browser();
      await admin.login(c.adminToken);
      const page = await admin.open("/nodes/brw-n1");
      expect(await page.locator("header.top").innerText()).toContain("admin");
      const doc = await markDocument(page);
      const row = page.locator("#modules tr", { hasText: "dropped packets and why" });
      const cell = (n: number) => row.locator(`td:nth-child(${n})`).innerText();
      const desired = async () =>
        (await c.get<{ name: string; desired: boolean }[]>("/api/v1/nodes/brw-n1/modules")).find((m) =>
          m.name === "drops"
        )?.desired;
      expect(await cell(2)).toBe("default (on)"); // the cluster's default, not set for this node

      for (const [button, to] of [["Turn off", "off"], ["Turn on", "on"]] as const) {
        await row.locator("button", { hasText: button }).click();
        await expect.poll(() => page.locator("#flash").innerText()).toMatch(
          new RegExp(`drops is now ${to} for brw-n1`),
        );
        expect(await cell(2), "should run: this node's own setting now").toBe(`overridden (${to})`);
        expect(await desired(), "the API's desired state").toBe(to === "on");
        // the agent applies it within an interval; the page's poll shows its report
        await expect.poll(() => cell(3), { timeout: 20_000, interval: 500 }).toBe(to);
        await admin.screenshot(page, `node-admin-drops-${to}`);
      }
      expect(await doc.sameDocument(), "the switch swapped in place: no reload").toBe(true);
      expect(admin.problems()).toEqual([]);
      expect(b.problems()).toEqual([]);
    }),
    60_000,
  );

  it(
    "draws the service between its client and its backend on /servicemap, and lists both on the service's page",
    logged(async () => {
      const map = await b.open("/servicemap?service=shop/web");
      expect(await map.locator("svg.servicemap g.node-service title").allTextContents()).toEqual(["shop/web"]);
      const edges = await map.locator("table.edges tbody tr").evaluateAll((rows) =>
        rows.map((r) => [...r.querySelectorAll("td")].slice(0, 2).map((td) => td.firstChild?.textContent ?? ""))
      );
      expect(edges.sort()).toEqual([[`lab/${client.name}`, "shop/web"], ["shop/web", `lab/${server.name}`]].sort());
      await b.screenshot(map, "servicemap-service");
      await map.close();

      const page = await b.open("/services/shop/web");
      const traffic = page.locator("#traffic");
      expect(await traffic.locator("table.edges").first().innerText()).toContain(`lab/${client.name}`);
      expect(await traffic.locator("table.edges").nth(1).innerText()).toContain(`lab/${server.name}`);
      expect(b.problems()).toEqual([]);
      await page.close();
    }),
    60_000,
  );
});
