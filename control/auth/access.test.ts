// SPDX-License-Identifier: Apache-2.0
/**
 * The auth matrix of the admin API, the read API and the pages: row by row,
 * what each kind of caller gets.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  AS_ADMIN,
  batch,
  bearer,
  getJson,
  openTestDb,
  postBatch,
  READ_TOKEN,
  send,
  testApp,
  type TestDb,
} from "../test-support.ts";
import { SESSION_COOKIE } from "./access.ts";

let t: TestDb;
beforeEach(async () => {
  t = await openTestDb();
});
afterEach(() => t.close());

/** Every admin endpoint with a request that succeeds for the admin. */
const ADMIN_ENDPOINTS: Array<[method: string, path: string, body: unknown, okStatus: number]> = [
  ["POST", "/api/v1/join-tokens", {}, 201],
  ["GET", "/api/v1/join-tokens", undefined, 200],
  ["DELETE", "/api/v1/join-tokens/0123456789abcdef", undefined, 404], // authorised, then: no such token
  ["PUT", "/api/v1/nodes/node-a/modules/lb", { enabled: true }, 200],
  ["DELETE", "/api/v1/nodes/node-a/credentials", undefined, 200],
  ["POST", "/api/v1/nodes/node-a/rejoin", {}, 404], // authorised, then: no live credential to approve replacing
];

const CALLERS: Array<[who: string, headers: Record<string, string>, status: number, error: RegExp]> = [
  ["no token", {}, 401, /admin token required/],
  ["an invalid token", bearer("ek8s_admin_wrong-wrong-wrong-wrong"), 401, /invalid token/],
  ["a malformed Authorization header", { authorization: `Basic ${ADMIN_TOKEN}` }, 401, /invalid token/],
  ["the read token", bearer(READ_TOKEN), 403, /admin token/],
];

describe("admin endpoints", () => {
  describe.each(ADMIN_ENDPOINTS)("%s %s", (method, path, body, okStatus) => {
    it.each(CALLERS)("with %s → %i JSON", async (_who, headers, status, error) => {
      const { app } = testApp(t.db);
      const res = await send(app, method, path, body, headers);
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect((await res.json()).error).toMatch(error);
      if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    });

    it(`with the admin token → ${okStatus}`, async () => {
      const { app } = testApp(t.db);
      expect((await send(app, method, path, body, AS_ADMIN)).status).toBe(okStatus);
    });

    it("with the admin token in the session cookie but no CSRF proof → 403 (writes only)", async () => {
      const { app } = testApp(t.db);
      const res = await send(app, method, path, body, { cookie: `${SESSION_COOKIE}=${ADMIN_TOKEN}` });
      expect(res.status).toBe(method === "GET" ? okStatus : 403);
      if (method !== "GET") expect((await res.json()).error).toMatch(/cross-site request refused/);
    });

    it("with the admin token in the session cookie and HX-Request or our Origin → allowed", async () => {
      const { app } = testApp(t.db);
      const cookie = { cookie: `${SESSION_COOKIE}=${ADMIN_TOKEN}` };
      expect((await send(app, method, path, body, { ...cookie, "hx-request": "true" })).status).toBe(okStatus);
      const sameOrigin = await app.request(`http://control.test${path}`, {
        method,
        headers: { ...cookie, origin: "http://control.test", "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(sameOrigin.status).toBe(okStatus);
      const otherOrigin = await app.request(`http://control.test${path}`, {
        method,
        headers: { ...cookie, origin: "http://evil.test" },
      });
      expect(otherOrigin.status).toBe(method === "GET" ? okStatus : 403);
    });
  });

  it("nobody is admin when the app has no admin token", async () => {
    const { createApp } = await import("../app.ts");
    const app = createApp(t.db);
    expect((await send(app, "GET", "/api/v1/join-tokens", undefined, AS_ADMIN)).status).toBe(401);
  });
});

describe("read API and pages", () => {
  const READS = [
    "/api/v1/nodes",
    "/api/v1/nodes/node-a",
    "/api/v1/nodes/node-a/interfaces",
    "/api/v1/nodes/node-a/modules",
  ];
  const PAGES = ["/", "/fragments/nodes", "/nodes/node-a", "/fragments/nodes/node-a"];

  async function appWith(readAuth: "open" | "token") {
    const { app } = testApp(t.db, { settings: { readAuth } });
    expect((await postBatch(app, batch())).status).toBe(200);
    return app;
  }

  it.each([...READS, ...PAGES])("open by default: %s → 200 without a token", async (path) => {
    const app = await appWith("open");
    expect((await app.request(path)).status).toBe(200);
  });

  it.each(READS)(
    "EBPF_K8S_READ_AUTH=token: %s → 401 without or with a wrong token, 200 with the read or admin token",
    async (path) => {
      const app = await appWith("token");
      const none = await getJson(app, path);
      expect(none).toEqual({ status: 401, body: { error: "token required to read" } });
      expect((await getJson(app, path, bearer("ek8s_read_wrong-wrong-wrong-wrong"))).status).toBe(401);
      expect((await getJson(app, path, bearer(READ_TOKEN))).status).toBe(200);
      expect((await getJson(app, path, AS_ADMIN)).status).toBe(200);
      expect((await getJson(app, path, { cookie: `${SESSION_COOKIE}=${READ_TOKEN}` })).status).toBe(200);
    },
  );

  it.each(PAGES)(
    "EBPF_K8S_READ_AUTH=token: page %s sends a browser to /login and back, htmx by HX-Redirect",
    async (path) => {
      const app = await appWith("token");
      const browser = await app.request(`http://control.test${path}`);
      expect(browser.status).toBe(303);
      expect(browser.headers.get("location")).toBe(path === "/" ? "/login" : `/login?next=${encodeURIComponent(path)}`);

      const htmx = await app.request(`http://control.test${path}`, {
        headers: { "hx-request": "true", "hx-current-url": "http://control.test/nodes/node-a" },
      });
      expect(htmx.status).toBe(401);
      expect(htmx.headers.get("hx-redirect")).toBe(`/login?next=${encodeURIComponent("/nodes/node-a")}`);

      const withCookie = await app.request(path, { headers: { cookie: `${SESSION_COOKIE}=${READ_TOKEN}` } });
      expect(withCookie.status).toBe(200);
    },
  );

  it("EBPF_K8S_READ_AUTH=token keeps /healthz, /login and the assets open", async () => {
    const app = await appWith("token");
    for (const path of ["/healthz", "/login", "/assets/style.css"]) expect((await app.request(path)).status).toBe(200);
  });

  it("the read token cannot write even with reads protected", async () => {
    const app = await appWith("token");
    expect((await send(app, "PUT", "/api/v1/nodes/node-a/modules/lb", { enabled: true }, bearer(READ_TOKEN))).status)
      .toBe(403);
  });
});

describe("/login and /logout", () => {
  const form = (fields: Record<string, string>) =>
    ({
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    }) as const;

  it("sets an HttpOnly, SameSite=Strict cookie for a valid token and goes back to `next`", async () => {
    const { app } = testApp(t.db);
    const res = await app.request("/login", form({ token: ADMIN_TOKEN, next: "/nodes/node-a" }));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/nodes/node-a");
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toContain(`${SESSION_COOKIE}=${encodeURIComponent(ADMIN_TOKEN)}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/); // plain http here; https gets Secure
    const secure = await app.request("https://control.test/login", form({ token: ADMIN_TOKEN }));
    expect(secure.headers.get("set-cookie")).toMatch(/Secure/);
  });

  it("refuses a wrong token with 401 and sets no cookie", async () => {
    const { app } = testApp(t.db);
    const res = await app.request("/login", form({ token: "nope-nope-nope-nope" }));
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("neither the admin token nor the read token");
  });

  it.each(["//evil.test/x", "https://evil.test/", "javascript:alert(1)", "/\\evil.test"])(
    "never redirects off-site (next=%s)",
    async (next) => {
      const { app } = testApp(t.db);
      const res = await app.request("/login", form({ token: ADMIN_TOKEN, next }));
      expect(res.headers.get("location")).toBe("/");
    },
  );

  it("limits wrong tokens per address with 429", async () => {
    const { app } = testApp(t.db, { settings: { authFailureBurst: 2 } });
    for (let i = 0; i < 2; i++) {
      expect((await app.request("/login", form({ token: "wrong-wrong-wrong" }))).status).toBe(401);
    }
    expect((await app.request("/login", form({ token: ADMIN_TOKEN }))).status).toBe(429);
  });

  it("logout clears the cookie", async () => {
    const { app } = testApp(t.db);
    const res = await app.request("/logout", {
      method: "POST",
      headers: { cookie: `${SESSION_COOKIE}=${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(new RegExp(`^${SESSION_COOKIE}=; Max-Age=0`));
  });
});
