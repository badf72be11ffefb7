// SPDX-License-Identifier: Apache-2.0
/**
 * Browser tests' harness: Debian's Chromium (/usr/bin/chromium, installed by
 * scripts/setup.sh) driven by playwright-core through `executablePath`; no
 * browser is ever downloaded.
 *
 *   const missing = browserMissing();              // skip reason, or null (throws under CI=true)
 *   describe.skipIf(missing)("…", () => {
 *     let b: BrowserSession;
 *     beforeAll(async () => { b = await openBrowser(cluster.url); });
 *     afterAll(async () => { await b?.close(); });
 *     it("…", async () => {
 *       await b.login(cluster.adminToken);          // optional: the session cookie, through /login
 *       const page = await b.open("/pods");         // loaded, htmx ready
 *       await b.screenshot(page, "pods");            // artifacts/screenshots/pods.png
 *       b.expectError("POST", "/thresholds", 422);   // optional: the one error answer the next step provokes
 *       expect(b.problems()).toEqual([]);            // console errors, page errors, failed or foreign requests
 *     });
 *   });
 *
 * A session is one Chromium process with a fresh profile in a temporary
 * directory of its own, removed on close (and at exit if the test process
 * ends first). Every request of every page is recorded; a request to any
 * origin but the control plane's is refused before it is sent, so a page can
 * never reach outside the machine (and the test sees it in `problems()`).
 *
 * Strict: every console error, page error, failed request and error answer is
 * a problem, Chromium's own lines included. A test that provokes an error
 * answer on purpose declares that one request (expectError); nothing else is
 * excused.
 */
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { REPO } from "../procs.ts";

/** Debian's build; EBPF_K8S_CHROMIUM points elsewhere (another Chromium or Chrome binary). */
export const CHROMIUM = process.env.EBPF_K8S_CHROMIUM ?? "/usr/bin/chromium";

/** Where screenshots land (gitignored, next to the test runners' JUnit reports). */
export const SCREENSHOT_DIR = `${REPO}artifacts/screenshots`;

/**
 * Flags that work on this machine, as root, on a closed network: no sandbox
 * (root), no GPU, and none of Chromium's own background connections (updates,
 * sync, field trials, QUIC), which a closed network refuses many at a time.
 * Playwright adds --headless, and --user-data-dir (the session's fresh profile: it refuses it in args).
 */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** Playwright's wait for anything (navigation, selectors, expect.poll excluded). */
const ACTION_TIMEOUT_MS = 15_000;

/**
 * Why browser tests cannot run here, or null. Under CI=true a missing browser
 * fails the run instead of skipping it: CI's set-up installs it.
 */
export function browserMissing(): string | null {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return null;
  } catch {
    const msg =
      `browser tests need Chromium at ${CHROMIUM} (Debian package 'chromium': run npm run setup, or set EBPF_K8S_CHROMIUM)`;
    if (process.env.CI === "true") throw new Error(`${msg} (CI=true: browser tests must run)`);
    console.warn(`skipping: ${msg}`);
    return msg;
  }
}

export interface Problem {
  kind: "console" | "pageerror" | "requestfailed" | "foreign" | "http";
  /** The page's URL when it happened. */
  page: string;
  text: string;
}

export interface BrowserSession {
  /** The control plane's origin, e.g. http://127.0.0.1:18123: paths are relative to it, and only it is allowed. */
  readonly origin: string;
  readonly context: BrowserContext;
  /** Chromium's profile (its --user-data-dir), removed by close(). */
  readonly profileDir: string;
  /** Every request any page made, in order: method and full URL. */
  readonly requests: { method: string; url: string; page: string }[];
  /** Console errors, uncaught page errors, failed requests (not merely aborted), refused foreign requests, HTTP answers ≥ 400 (but those declared by expectError). */
  problems(): Problem[];
  /**
   * Declares one error answer the test provokes on purpose: `status` for
   * `method path` (the path with its query, as the page sends it). That
   * answer and the one console line Chromium logs about it ("Failed to load
   * resource: … status of 422") are no problem; a second one is, and so is
   * any other status or URL.
   */
  expectError(method: string, path: string, status: number): void;
  /** Forgets what was recorded so far (requests and problems), and the error answers declared. */
  reset(): void;
  /** A new tab at `path`, after its load event, with htmx loaded. `status` is the answer the page must have (200); an error status is declared as expected (expectError). */
  open(path: string, opts?: { status?: number }): Promise<Page>;
  /** Logs in through /login with a token (stored as the session cookie for this session's later pages). */
  login(token: string): Promise<void>;
  /** A full-page PNG at SCREENSHOT_DIR/<name>.png; returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  /** Closes Chromium and removes its profile. Harmless twice. */
  close(): Promise<void>;
}

/** Resolves once htmx is loaded and has processed the document. */
export async function htmxReady(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    typeof (window as unknown as { htmx?: { version?: string } }).htmx?.version === "string"
  );
}

/**
 * A test's afterAll: closes the browser, then stops what the test started (a ControlProcess: its process and
 * directory), those also when closing the browser fails.
 */
export async function closeAll(
  b: BrowserSession | undefined,
  ...started: Array<{ stop(): Promise<unknown> } | undefined>
): Promise<void> {
  try {
    await b?.close();
  } finally {
    for (const one of started) await one?.stop();
  }
}

/**
 * Waits for the page's next answer from `fragment` (a live region's refresh, a path) and for htmx to have swapped
 * it in: no element of the page still swapping, settling or waiting for an answer. No fixed pause.
 */
export async function refreshed(page: Page, fragment: string): Promise<void> {
  await page.waitForResponse((r) => new URL(r.url()).pathname === fragment, { timeout: 15_000 });
  await page.waitForFunction(() => !document.querySelector(".htmx-swapping, .htmx-settling, .htmx-request"));
}

/**
 * Puts a marker on `window`; `sameDocument` later tells whether the page is
 * still that document (true) or was reloaded or navigated away (false).
 */
export async function markDocument(page: Page): Promise<{ sameDocument(): Promise<boolean> }> {
  const mark = `m${Math.random().toString(36).slice(2)}`;
  await page.evaluate((m) => ((window as unknown as Record<string, string>).__ek8sMark = m), mark);
  return {
    sameDocument: () => page.evaluate((m) => (window as unknown as Record<string, string>).__ek8sMark === m, mark),
  };
}

/**
 * An error answer a test declared, and whether it came and whether Chromium's
 * console line about it did (each excused once).
 *
 * Declared per request rather than as a status for the whole session: a
 * blanket "422 is fine" would also hide a 422 (or, for 404, a missing asset)
 * that nobody meant, on any page. Chromium logs "Failed to load resource: the
 * server responded with a status of N" for every error answer a page loads,
 * htmx's requests included, and a page cannot silence it; the line carries
 * the request's URL as its location, so it is matched to exactly the request
 * the test declared, and to no other.
 */
interface ExpectedError {
  method: string;
  url: string;
  status: number;
  answered: boolean;
  logged: boolean;
}

const STATUS_LINE = /^Failed to load resource: the server responded with a status of (\d{3})\b/;

/** Opens a session against the control plane at `baseUrl`. */
export async function openBrowser(baseUrl: string): Promise<BrowserSession> {
  const origin = new URL(baseUrl).origin;
  const profile = mkdtempSync(`${tmpdir()}/ek8s-chromium-`);
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  process.once("exit", removeProfile);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1366, height: 768 }, // a laptop screen
      timeout: 30_000,
    });
  } catch (e) {
    removeProfile();
    process.off("exit", removeProfile);
    throw e;
  }
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);

  const requests: BrowserSession["requests"] = [];
  let problems: Problem[] = [];
  const expected: ExpectedError[] = [];
  /** Marks the first declared error that `match`es and is not yet `seen` so: true when there is one. */
  const excuse = (seen: "answered" | "logged", match: (e: ExpectedError) => boolean) => {
    const found = expected.find((e) => !e[seen] && match(e));
    if (found !== undefined) found[seen] = true;
    return found !== undefined;
  };
  const expectedLine = (text: string, url: string) => {
    const status = Number(STATUS_LINE.exec(text)?.[1]);
    return excuse("logged", (e) => e.url === url && e.status === status);
  };
  const isOurs = (url: string) => url.startsWith("data:") || url.startsWith("about:") || new URL(url).origin === origin;

  // Refuse anything not for the control plane before it is sent.
  await context.route(
    (url) => !isOurs(url.href),
    (route) => route.abort("blockedbyclient"),
  );

  const watch = (page: Page) => {
    const where = () => page.url();
    page.on("console", (m) => {
      if (m.type() !== "error") return;
      const { url } = m.location();
      if (expectedLine(m.text(), url)) return;
      // Chromium's line about a resource does not name it; its location does.
      const text = m.text().startsWith("Failed to load resource") ? `${m.text()}: ${url}` : m.text();
      problems.push({ kind: "console", page: where(), text });
    });
    page.on("pageerror", (e) => problems.push({ kind: "pageerror", page: where(), text: e.stack ?? e.message }));
    page.on("request", (r) => {
      requests.push({ method: r.method(), url: r.url(), page: where() });
      if (!isOurs(r.url())) problems.push({ kind: "foreign", page: where(), text: `${r.method()} ${r.url()}` });
    });
    page.on("requestfailed", (r) => {
      // ERR_ABORTED: given up by the page or the browser (a tab closed mid-poll, a navigation), not refused or broken
      const why = r.failure()?.errorText ?? "";
      if (isOurs(r.url()) && why !== "net::ERR_ABORTED") {
        problems.push({ kind: "requestfailed", page: where(), text: `${r.method()} ${r.url()}: ${why}` });
      }
    });
    page.on("response", (r) => {
      const [method, url, status] = [r.request().method(), r.url(), r.status()];
      if (status < 400 || excuse("answered", (e) => e.method === method && e.url === url && e.status === status)) {
        return;
      }
      problems.push({ kind: "http", page: where(), text: `${status} ${method} ${url}` });
    });
  };
  context.pages().forEach(watch);
  context.on("page", watch);

  let closed = false;
  const session: BrowserSession = {
    origin,
    context,
    profileDir: profile,
    requests,
    problems: () => [...problems],
    reset() {
      requests.length = 0;
      problems = [];
      expected.length = 0;
    },
    expectError(method, path, status) {
      expected.push({ method, url: new URL(path, origin).href, status, answered: false, logged: false });
    },
    async open(path, { status = 200 } = {}) {
      if (status >= 400) session.expectError("GET", path, status);
      const page = await context.newPage();
      const res = await page.goto(new URL(path, origin).href, { waitUntil: "load" });
      if (res?.status() !== status) {
        throw new Error(
          `GET ${path}: status ${res?.status()}, expected ${status}\n${(await res?.text())?.slice(0, 2000)}`,
        );
      }
      await htmxReady(page);
      return page;
    },
    async login(token) {
      const page = await session.open("/login");
      try {
        await page.fill('input[name="token"]', token);
        const [res] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/login"),
          page.click('button[type="submit"]'),
        ]);
        const location = res.headers().location;
        if (res.status() !== 303 || !location) {
          const why = await page.locator('[role="alert"]').textContent().catch(() => null);
          throw new Error(`login refused: ${res.status()} ${why ?? ""}`.trim());
        }
        await page.waitForURL(new URL(location, origin).href);
      } finally {
        await page.close();
      }
    },
    async screenshot(page, name) {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const file = `${SCREENSHOT_DIR}/${name.replace(/[^A-Za-z0-9._-]+/g, "_")}.png`;
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } finally {
        removeProfile();
        process.off("exit", removeProfile);
      }
    },
  };
  return session;
}
