// SPDX-License-Identifier: Apache-2.0
/** The read API, health check, unknown routes and the 500 path. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  batch,
  BOOT_A,
  credentialFor,
  getJson,
  iface,
  openTestDb,
  postBatch,
  testApp,
  type TestDb,
} from "../test-support.ts";

let t: TestDb;
beforeEach(async () => {
  t = await openTestDb();
});
afterEach(() => t.close());

describe("GET /api/v1/nodes", () => {
  it("is an empty array before any agent reported", async () => {
    const { app } = testApp(t.db);
    expect(await getJson(app, "/api/v1/nodes")).toEqual({ status: 200, body: [] });
  });

  it("lists nodes by name with last seen, its age and interface count", async () => {
    const { app, clock } = testApp(t.db);
    const seenB = clock.now;
    await postBatch(app, batch({ node: "node-b", interfaces: [iface(), iface({ ifname: "eth0", ifindex: 2 })] }));
    clock.now += 1_000;
    await postBatch(app, batch({ node: "node-a" }));
    clock.now += 41_700;

    const { status, body } = await getJson(app, "/api/v1/nodes");
    expect(status).toBe(200);
    expect(body).toEqual([
      {
        name: "node-a",
        status: "Stale",
        lastSeen: new Date(seenB + 1_000).toISOString(),
        lastSeenAgoSeconds: 41,
        bootId: BOOT_A,
        interfaces: 1,
        agentVersion: null,
        kernel: null,
      },
      {
        name: "node-b",
        status: "Stale",
        lastSeen: new Date(seenB).toISOString(),
        lastSeenAgoSeconds: 42,
        bootId: BOOT_A,
        interfaces: 2,
        agentVersion: null,
        kernel: null,
      },
    ]);
  });

  it("answers pretty JSON for curl", async () => {
    const { app } = testApp(t.db);
    const res = await app.request("/api/v1/nodes");
    expect(res.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    expect(await res.text()).toBe("[]\n");
  });
});

describe("GET /api/v1/nodes/:node/interfaces", () => {
  it("lists interfaces by name", async () => {
    const { app } = testApp(t.db);
    await postBatch(
      app,
      batch({ interfaces: [iface({ ifname: "veth9", ifindex: 9 }), iface({ ifname: "eth0", ifindex: 2 })] }),
    );
    const { body } = await getJson(app, "/api/v1/nodes/node-a/interfaces");
    expect(body.map((i: { ifname: string }) => i.ifname)).toEqual(["eth0", "veth9"]);
  });

  it("404 for a node that never reported", async () => {
    const { app } = testApp(t.db);
    expect(await getJson(app, "/api/v1/nodes/ghost/interfaces")).toEqual({
      status: 404,
      body: { error: "node 'ghost' not found" },
    });
  });

  it("400 naming the parameter for an invalid node name", async () => {
    const { app } = testApp(t.db);
    const { status, body } = await getJson(app, "/api/v1/nodes/Bad_Name/interfaces");
    expect(status).toBe(400);
    expect(body).toEqual({ error: "invalid node name", issues: [{ path: "node", message: expect.any(String) }] });
  });
});

describe("other routes", () => {
  it("GET /healthz", async () => {
    const { app } = testApp(t.db);
    expect(await getJson(app, "/healthz")).toEqual({ status: 200, body: { ok: true } });
  });

  it("unknown /api routes are 404 JSON", async () => {
    const { app } = testApp(t.db);
    expect(await getJson(app, "/api/v1/nope")).toEqual({
      status: 404,
      body: { error: "no route for GET /api/v1/nope" },
    });
    const wrongMethod = await app.request("/api/v1/ingest");
    expect(wrongMethod.status).toBe(404);
    expect(await wrongMethod.json()).toEqual({ error: "no route for GET /api/v1/ingest" });
  });

  it("an unexpected error is a 500 JSON answer and the app keeps serving", async () => {
    const logError = vi.fn();
    const { app } = testApp(t.db, { logError });
    await credentialFor(app, "node-a"); // joined while the database still worked
    t.db.$client.close(); // every query now throws

    expect(await getJson(app, "/api/v1/nodes")).toEqual({ status: 500, body: { error: "internal error" } });
    expect((await postBatch(app, batch())).status).toBe(500);
    expect(logError).toHaveBeenCalledTimes(2);
    expect(logError.mock.calls[0]![0]).toBe("GET /api/v1/nodes failed:");
    expect(await getJson(app, "/healthz")).toEqual({ status: 200, body: { ok: true } });
  });
});

describe("odd requests", () => {
  it.each([
    ["GET", "/api/v1/nodes/%E0%A4%A/interfaces"],
    ["GET", "/api/v1/nodes/%00/modules"],
    ["GET", "/api/v1/nodes/" + "a".repeat(300)],
    ["PUT", "/api/v1/nodes/node-a/modules/%FF"],
    ["DELETE", "/api/v1/join-tokens/%"],
    ["GET", "/nodes/%E0%A4%A"],
    ["GET", "/fragments/nodes/..%2F..%2Fetc"],
    ["POST", "/api/v1/join"],
    ["PATCH", "/api/v1/nodes"],
    ["GET", "/login?next=%"],
  ])("%s %s → 4xx, never 5xx", async (method, path) => {
    const { app } = testApp(t.db);
    const res = await app.request(path, { method, headers: { authorization: "Bearer x" } });
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(500);
  });
});
