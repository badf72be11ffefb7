// SPDX-License-Identifier: Apache-2.0
/** GET /api/v1/lb/state: node credentials, the long poll (204 after the wait, 200 on a change, woken promptly), applied versions. */
import { describe, expect, it } from "vitest";
import { openDb } from "../db/client.ts";
import { createService, syncServices } from "../services/model.ts";
import { lbState } from "../services/state.ts";
import { endWaits } from "../services/watch.ts";
import {
  AS_ADMIN,
  bearer,
  credentialFor,
  getJson,
  openTestDb,
  send,
  T0,
  testApp,
  useTestApp,
} from "../test-support.ts";
import { backends, service } from "../services/fixtures.test-support.ts";
import { LB_POLL_MODULE_HEADER, LbState } from "../wire/services.ts";

const s = useTestApp();

const svc = (name: string, vip: string) => service(name, vip, { backends: backends("10.244.1.5") });

async function poll(query: string, node = "node-a", app = s.app, module?: string) {
  const headers = { ...bearer(await credentialFor(app, node)), ...(module ? { [LB_POLL_MODULE_HEADER]: module } : {}) };
  return app.request(`/api/v1/lb/state${query}`, { headers });
}

/** Whether `p` is still unsettled after `ms`: the request is holding, not answered early. */
async function stillWaiting(p: Promise<unknown>, ms = 200): Promise<boolean> {
  return Promise.race([p.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms))]);
}

/** `p`, or a failure when it has not settled within `ms` (a bound, not a measurement). */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((
    _,
    reject,
  ) => (timer = setTimeout(() => reject(new Error(`not answered within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe("answers", () => {
  it("without after: the whole state, even before any service exists", async () => {
    const res = await poll("");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    expect(await res.json()).toEqual({ version: 0, services: [] });

    await createService(s.db, svc("web", "10.96.0.10"), T0);
    const state = await (await poll("")).json();
    expect(LbState.parse(state)).toEqual(state);
    // The model's state (its JSON is pinned in control/services/model.test.ts), as agents get it.
    expect(state).toEqual(await lbState(s.db));
    expect(state.services.map((x: { id: number; vip: string }) => [x.id, x.vip])).toEqual([[1, "10.96.0.10"]]);
  });

  it("after an older version: 200 at once; after the current one with wait=0: 204 at once", async () => {
    await createService(s.db, svc("web", "10.96.0.10"), T0);
    await createService(s.db, svc("api", "10.96.0.11"), T0);
    const old = await within(1_000, poll("?after=1&wait=60"));
    expect(old.status).toBe(200);
    expect((await old.json()).version).toBe(2);
    const current = await within(1_000, poll("?after=2&wait=0"));
    expect(current.status).toBe(204);
    expect(await current.text()).toBe("");
  });

  it("holds the request for `wait` seconds, then 204; the request timeout does not cut it", async () => {
    s.rebuild({ settings: { requestTimeoutMs: 100 } });
    const started = performance.now();
    const res = await poll("?after=0&wait=1");
    expect(res.status).toBe(204);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  });

  it("a shutting-down control plane ends every wait at once with 204", async () => {
    await credentialFor(s.app, "node-a");
    const waiting = poll("?after=0&wait=30");
    expect(await stillWaiting(waiting)).toBe(true);
    endWaits(s.db);
    expect((await within(1_000, waiting)).status).toBe(204);
  });

  it("400 naming a bad parameter", async () => {
    for (
      const [query, path, message] of [
        ["?after=x", "after", "must be a version (a whole number)"],
        ["?after=-1", "after", "must be a version (a whole number)"],
        ["?wait=61", "wait", "must be whole seconds from 0 to 60"],
        ["?wait=1.5", "wait", "must be whole seconds from 0 to 60"],
        ["?since=1h", "since", "unknown field"],
      ]
    ) {
      const res = await poll(query!);
      expect({ status: res.status, issues: (await res.json()).issues }, query).toEqual({
        status: 400,
        issues: [{ path, message }],
      });
    }
  });
});

describe("wake-up", () => {
  it("a waiting request answers 200 with the new state soon after a change through the API", async () => {
    await createService(s.db, svc("web", "10.96.0.10"), T0);
    await credentialFor(s.app, "node-a");
    const waiting = poll("?after=1&wait=30");
    expect(await stillWaiting(waiting)).toBe(true);
    const created = await send(s.app, "POST", "/api/v1/services", svc("api", "10.96.0.11"), AS_ADMIN);
    expect(created.status).toBe(201);
    const res = await within(2_000, waiting);
    expect(res.status).toBe(200);
    expect((await res.json()).services.map((x: { name: string }) => x.name)).toEqual(["web", "api"]);
  });

  it("every waiting node is woken by one change, each with the same state", async () => {
    const nodes = ["node-a", "node-b", "node-c"];
    await Promise.all(nodes.map((n) => credentialFor(s.app, n)));
    const waiting = nodes.map((n) => poll("?after=0&wait=30", n));
    expect(await stillWaiting(Promise.race(waiting))).toBe(true);
    await syncServices(s.db, "kubernetes", [svc("web", "10.96.0.10")], T0);
    const answers = await within(2_000, Promise.all(waiting));
    const bodies = await Promise.all(answers.map((r) => r.text()));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(bodies).size).toBe(1);
  });

  it("a change made by another replica (another connection to the database) reaches a waiting request within 2 s", async () => {
    const file = await openTestDb("file");
    const path = String((await file.db.$client.execute("PRAGMA database_list")).rows[0]!.file);
    const other = await openDb(`file:${path}`);
    try {
      const { app } = testApp(file.db);
      await credentialFor(app, "node-a");
      const waiting = poll("?after=0&wait=30", "node-a", app);
      expect(await stillWaiting(waiting, 1_500)).toBe(true);
      await createService(other, svc("web", "10.96.0.10"), T0);
      const res = await within(2_000, waiting);
      expect(res.status).toBe(200);
      expect((await res.json()).version).toBe(1);
    } finally {
      other.$client.close();
      file.close();
    }
  });
});

describe("applied versions", () => {
  it("a node polling with after=V has applied V; the services list shows it, and which nodes are in sync", async () => {
    await createService(s.db, svc("web", "10.96.0.10"), T0);
    await poll("?wait=0", "node-a");
    await poll("?after=1&wait=0", "node-b");
    let list = (await getJson(s.app, "/api/v1/services")).body;
    const polledAt = new Date(T0 + 500).toISOString();
    expect(list.nodes).toEqual([
      { node: "node-a", appliedVersion: null, polledAt, inSync: false },
      { node: "node-b", appliedVersion: 1, polledAt, inSync: true },
    ]);
    expect(list.services[0].health.nodes).toEqual({ inSync: 1, total: 2 });

    await createService(s.db, svc("api", "10.96.0.11"), T0);
    await poll("?after=2&wait=0", "node-a");
    list = (await getJson(s.app, "/api/v1/services")).body;
    expect(list.nodes.map((n: { appliedVersion: number }) => n.appliedVersion)).toEqual([2, 1]);
    // web changed at version 1, which both run; api at 2, which only node-a runs.
    expect(list.services.map((x: { name: string; health: { nodes: unknown } }) => [x.name, x.health.nodes])).toEqual([
      ["api", { inSync: 1, total: 2 }],
      ["web", { inSync: 2, total: 2 }],
    ]);

    // The other modules that follow the services poll on their own: their versions are not the node's.
    for (const module of ["drops", "accel", "gateway"]) await poll("?after=1&wait=0", "node-a", s.app, module);
    await poll("?wait=0", "node-c", s.app, "drops"); // a node with lb off is not listed
    await poll("?after=2&wait=0", "node-b", s.app, "lb"); // lb itself, named
    list = (await getJson(s.app, "/api/v1/services")).body;
    expect(list.nodes.map((n: { node: string; appliedVersion: number }) => [n.node, n.appliedVersion])).toEqual([
      ["node-a", 2],
      ["node-b", 2],
    ]);

    // A node that stopped polling longer ago than EBPF_K8S_LOST_AFTER no longer counts.
    s.clock.now += 120_001;
    await poll("?after=2&wait=0", "node-a");
    expect((await getJson(s.app, "/api/v1/services")).body.nodes.map((n: { node: string }) => n.node)).toEqual([
      "node-a",
    ]);
  });

  it("needs a node credential, refused like ingest", async () => {
    const node = await credentialFor(s.app, "node-c");
    await send(s.app, "DELETE", "/api/v1/nodes/node-c/credentials", undefined, AS_ADMIN);
    for (
      const [headers, error] of [
        [{}, "node credential required (Authorization: Bearer); join first"],
        [AS_ADMIN, "unknown node credential (never issued, or its node was deleted); join again with a join token"],
        [bearer(node), "node credential revoked; join again"],
      ] as const
    ) {
      const res = await s.app.request("/api/v1/lb/state", { headers });
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 401, body: { error } });
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="ebpf-k8s"');
    }
    expect((await s.db.$client.execute("SELECT count(*) AS n FROM lb_nodes")).rows[0]!.n).toBe(0);
  });
});
