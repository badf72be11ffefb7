// SPDX-License-Identifier: Apache-2.0
/**
 * The browser harness itself, against a tiny server on loopback (no kernel,
 * no control plane): what the page tests rely on to fail must really fail —
 * console errors, page errors, error answers (a missing icon's 404 and
 * Chromium's line about it included) and requests to another origin are
 * reported, and the other origin never receives anything; only an error
 * answer a test declares, on its URL, is not; a reload is told from an
 * in-place update; screenshots are PNG files; the profile goes with the
 * session.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../procs.ts";
import { browserMissing, type BrowserSession, markDocument, openBrowser } from "./browser.ts";

const missing = browserMissing();

const HTMX = readFileSync(`${REPO}node_modules/htmx.org/dist/htmx.min.js`, "utf8");
const page = (body: string, icon = "/icon.svg") =>
  `<!doctype html><html><head><title>t</title><link rel="icon" href="${icon}"><script src="/htmx.js"></script></head><body>${body}</body></html>`;
const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>';

function listen(host: string, handler: RequestListener): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve(server));
  });
}
const portOf = (s: Server) => (s.address() as AddressInfo).port;
const closeServer = (s: Server | undefined) => new Promise<void>((r) => (s ? s.close(() => r()) : r()));

describe.skipIf(missing)("browser harness", () => {
  let server: Server, other: Server;
  let b: BrowserSession;
  /** Requests the other origin received: must stay 0. */
  let otherHits = 0;
  let ticks = 0;
  let refusals = 0;
  const form = (errors: string) =>
    `<form id="f" hx-post="/form?step=1" hx-swap="outerHTML">${errors}<button>send</button></form>`;

  beforeAll(async () => {
    // Another origin on loopback (127.0.0.2): if the harness let a request through, it would land here.
    other = await listen("127.0.0.2", (_req, res) => {
      otherHits++;
      res.end("leaked");
    });
    const foreign = `http://127.0.0.2:${portOf(other)}`;
    server = await listen("127.0.0.1", (req, res) => {
      const html = (s: string) => res.writeHead(200, { "content-type": "text/html" }).end(s);
      if (req.url === "/htmx.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(HTMX);
      if (req.url === "/icon.svg") return res.writeHead(200, { "content-type": "image/svg+xml" }).end(ICON);
      if (req.url === "/") return html(page(`<p id="live" hx-get="/tick" hx-trigger="every 200ms">0</p>`));
      if (req.url === "/tick") return html(String(++ticks));
      if (req.url === "/no-icon") return html(page("<p>an icon linked but missing</p>", "/missing-icon.svg"));
      // a form answered 422, sent back with its errors, which htmx swaps in: as the pages' forms do
      if (req.url === "/form") {
        return html(page(`${form("")}<script>htmx.config.responseHandling = [{ code: "422", swap: true }];</script>`));
      }
      if (req.method === "POST" && req.url === "/form?step=1") {
        return res.writeHead(422, { "content-type": "text/html" }).end(form(`<p class="refused">${++refusals}</p>`));
      }
      if (req.url === "/bad") {
        return html(page(`<img src="${foreign}/pixel.png"><script>
          console.error("something broke");
          fetch("/missing");
          setTimeout(() => { throw new Error("uncaught here"); }, 0);
        </script>`));
      }
      res.writeHead(404).end("no");
    });
    b = await openBrowser(`http://127.0.0.1:${portOf(server)}`);
  }, 60_000);

  afterAll(async () => {
    await b?.close();
    await closeServer(server);
    await closeServer(other);
  });

  it(
    "opens a clean page with no problems, records its requests, and tells in-place updates from a reload",
    async () => {
      const p = await b.open("/");
      const mark = await markDocument(p);
      await p.waitForFunction(() => Number(document.getElementById("live")?.textContent) >= 2);
      expect(await mark.sameDocument()).toBe(true);
      await p.reload();
      expect(await mark.sameDocument()).toBe(false);
      expect(b.problems()).toEqual([]);
      const paths = b.requests.map((r) => new URL(r.url).pathname);
      expect(paths).toContain("/htmx.js");
      expect(paths).toContain("/tick");
      await p.close();
    },
    30_000,
  );

  it(
    "reports console errors, page errors, error answers and other origins, and lets nothing reach another origin",
    async () => {
      b.reset();
      const p = await b.open("/bad");
      await expect.poll(() => b.problems().map((x) => x.kind).sort(), { timeout: 10_000 })
        .toEqual(expect.arrayContaining(["console", "foreign", "http", "pageerror"]));
      const text = b.problems().map((x) => `${x.kind}: ${x.text}`).join("\n");
      expect(text).toMatch(/console: something broke/);
      expect(text).toMatch(/pageerror: Error: uncaught here/);
      expect(text).toMatch(/http: 404 GET .*\/missing/);
      expect(text).toMatch(/foreign: GET http:\/\/127\.0\.0\.2:\d+\/pixel\.png/);
      expect(otherHits).toBe(0);
      await p.close();
    },
    30_000,
  );

  it("reports a linked icon that is missing: its 404 and Chromium's console line about it", async () => {
    b.reset();
    const p = await b.open("/no-icon");
    await expect.poll(() => b.problems().map((x) => `${x.kind}: ${x.text}`).sort(), { timeout: 10_000 }).toEqual([
      expect.stringMatching(
        /^console: Failed to load resource: the server responded with a status of 404 .*\/missing-icon\.svg$/,
      ),
      expect.stringMatching(/^http: 404 GET .*\/missing-icon\.svg$/),
    ]);
    await p.close();
  }, 30_000);

  it("excuses a declared error answer on its URL, and Chromium's line about it, once; nothing else", async () => {
    b.reset();
    const p = await b.open("/form");
    /** Submits the form; its answer's status, once the form it sent back is in place. */
    const send = async () => {
      const [res] = await Promise.all([
        p.waitForResponse((r) => r.request().method() === "POST"),
        p.click("#f button"),
      ]);
      await p.locator("#f .refused", { hasText: String(refusals) }).waitFor();
      return res.status();
    };
    // declared for another URL, or another status: still problems
    b.expectError("POST", "/form?step=2", 422);
    b.expectError("POST", "/form?step=1", 400);
    expect(await send()).toBe(422);
    await expect.poll(() => b.problems().map((x) => x.kind).sort(), { timeout: 10_000 }).toEqual(["console", "http"]);
    // declared as it comes: no problem, its console line neither; the second, undeclared, is one again
    b.reset();
    b.expectError("POST", "/form?step=1", 422);
    expect(await send()).toBe(422);
    expect(await send()).toBe(422);
    await expect.poll(() => b.problems().map((x) => `${x.kind}: ${x.text}`).sort(), { timeout: 10_000 }).toEqual([
      expect.stringMatching(/^console: Failed to load resource: .* status of 422 .*\/form\?step=1$/),
      expect.stringMatching(/^http: 422 POST .*\/form\?step=1$/),
    ]);
    expect(b.requests.filter((r) => r.method === "POST")).toHaveLength(2);
    await p.close();
  }, 30_000);

  it("writes screenshots as PNG files and removes its profile on close", async () => {
    const p = await b.open("/");
    const file = await b.screenshot(p, "harness self-test");
    expect(file).toMatch(/artifacts\/screenshots\/harness_self-test\.png$/);
    expect(readFileSync(file).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(existsSync(b.profileDir)).toBe(true);
    await b.close();
    expect(existsSync(b.profileDir)).toBe(false);
  }, 30_000);
});
