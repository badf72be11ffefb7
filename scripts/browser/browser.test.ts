/**
 * The browser harness itself, against a tiny server on loopback (no kernel,
 * no control plane): what the page tests rely on to fail must really fail —
 * console errors, page errors, error answers and requests to another origin
 * are reported, and the other origin never receives anything; a reload is
 * told from an in-place update; screenshots are PNG files; the profile goes
 * with the session.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../procs.ts";
import { browserMissing, type BrowserSession, markDocument, openBrowser } from "./browser.ts";

const missing = browserMissing();

const HTMX = readFileSync(`${REPO}node_modules/htmx.org/dist/htmx.min.js`, "utf8");
const page = (body: string) =>
  `<!doctype html><html><head><title>t</title><script src="/htmx.js"></script></head><body>${body}</body></html>`;

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
      if (req.url === "/") return html(page(`<p id="live" hx-get="/tick" hx-trigger="every 200ms">0</p>`));
      if (req.url === "/tick") return html(String(++ticks));
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

  it("lets an allowed status through, its answer and Chromium's console line about it, and nothing else", async () => {
    const allowing = await openBrowser(b.origin, { allowStatus: [404] });
    try {
      const p = await allowing.open("/bad");
      // the same page as above, less the 404 of /missing: no http problem, and no console line "… status of 404"
      await expect.poll(() => allowing.problems().map((x) => x.kind).sort(), { timeout: 10_000 }).toEqual([
        "console",
        "console",
        "foreign",
        "pageerror",
      ]);
      const lines = allowing.problems().filter((x) => x.kind === "console").map((x) => x.text).sort();
      expect(lines).toEqual(["Failed to load resource: net::ERR_BLOCKED_BY_CLIENT.Inspector", "something broke"]);
      expect(allowing.requests.map((r) => new URL(r.url).pathname)).toContain("/missing");
      await p.close();
    } finally {
      await allowing.close();
    }
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
