// SPDX-License-Identifier: Apache-2.0
/** The thresholds and alerts API: CRUD, validation naming fields, auth, and what a change does to alerts. */
import { describe, expect, it } from "vitest";
import { evaluateAlerts } from "../alerts/evaluate.ts";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import {
  AS_ADMIN,
  batch,
  bearer,
  getJson,
  iface,
  postBatch,
  READ_TOKEN,
  send,
  T0,
  useTestApp,
} from "../test-support.ts";

const s = useTestApp();

const WEB_RX = {
  metric: "rxBytesPerSec",
  scope: { kind: "pod", target: "default/web" },
  upper: 1_000_000,
  holdSeconds: 30,
  description: "web flooded",
};

async function create(body: unknown) {
  const res = await send(s.app, "POST", "/api/v1/thresholds", body, AS_ADMIN);
  return { status: res.status, body: await res.json() };
}

describe("thresholds CRUD", () => {
  it("creates, lists, reads, replaces and deletes", async () => {
    const created = await create(WEB_RX);
    expect(created).toEqual({
      status: 201,
      body: {
        id: expect.stringMatching(/^[0-9a-f]{16}$/),
        metric: "rxBytesPerSec",
        unit: "B/s",
        scope: { kind: "pod", target: "default/web" },
        upper: 1_000_000,
        lower: null,
        holdSeconds: 30,
        description: "web flooded",
        enabled: true,
        createdAt: new Date(T0 + 500).toISOString(),
        updatedAt: new Date(T0 + 500).toISOString(),
        active: 0,
        pending: 0,
      },
    });
    const { id } = created.body;
    // Defaults: hold 60 s, enabled.
    const second = (await create({ metric: "heartbeatAgeSeconds", scope: { kind: "all" }, upper: 90 })).body;
    expect(second).toMatchObject({
      scope: { kind: "all" },
      holdSeconds: 60,
      enabled: true,
      description: null,
      unit: "s",
    });

    expect((await getJson(s.app, "/api/v1/thresholds")).body.map((t: { id: number }) => t.id)).toEqual([id, second.id]);
    expect(await getJson(s.app, `/api/v1/thresholds/${id}`)).toEqual({ status: 200, body: created.body });

    s.clock.now += 1_000;
    const replaced = await send(s.app, "PUT", `/api/v1/thresholds/${id}`, {
      metric: "txBytesPerSec",
      scope: { kind: "node", target: "node-a" },
      lower: 10,
      enabled: false,
    }, AS_ADMIN);
    expect(replaced.status).toBe(200);
    // A whole replacement: what was left out is unset or its default.
    expect(await replaced.json()).toEqual({
      ...created.body,
      metric: "txBytesPerSec",
      scope: { kind: "node", target: "node-a" },
      upper: null,
      lower: 10,
      holdSeconds: 60,
      description: null,
      enabled: false,
      updatedAt: new Date(T0 + 1_500).toISOString(),
    });

    const deleted = await send(s.app, "DELETE", `/api/v1/thresholds/${id}`, undefined, AS_ADMIN);
    expect(deleted.status).toBe(200);
    expect((await deleted.json()).id).toBe(id);
    expect((await getJson(s.app, `/api/v1/thresholds/${id}`)).status).toBe(404);
    expect((await getJson(s.app, "/api/v1/thresholds")).body).toHaveLength(1);
  });

  it("404 for an unknown id, 400 for a malformed one", async () => {
    const unknown = "0123456789abcdef";
    expect((await send(s.app, "PUT", `/api/v1/thresholds/${unknown}`, WEB_RX, AS_ADMIN)).status).toBe(404);
    expect((await send(s.app, "DELETE", `/api/v1/thresholds/${unknown}`, undefined, AS_ADMIN)).status).toBe(404);
    const bad = await getJson(s.app, "/api/v1/thresholds/nope");
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([{ path: "id", message: "must be a threshold id (16 hex digits)" }]);
  });
});

describe("validation", () => {
  it.each([
    [{ ...WEB_RX, metric: undefined }, "metric", "required"],
    [{ ...WEB_RX, metric: "cpu" }, "metric", expect.stringMatching(/^must be one of rxBytesPerSec, /)],
    [{ ...WEB_RX, scope: { kind: "cluster" } }, "scope.kind", 'must be one of "all", "node", "pod", "all-pods"'],
    [{ ...WEB_RX, scope: { kind: "node" } }, "scope.target", "required"],
    [
      { ...WEB_RX, scope: { kind: "pod", target: "web" } },
      "scope.target",
      'must be "namespace/name" (two lowercase RFC 1123 names)',
    ],
    [{ ...WEB_RX, scope: { kind: "all", target: "node-a" } }, "scope.target", "unknown field"],
    [{ ...WEB_RX, upper: undefined }, "upper", "give an upper or a lower limit (or both)"],
    [{ ...WEB_RX, upper: "lots" }, "upper", "must be a number"],
    [{ ...WEB_RX, lower: -1 }, "lower", "must not be negative"],
    [{ ...WEB_RX, lower: 1_000_000 }, "lower", "must be below the upper limit"],
    [{ ...WEB_RX, holdSeconds: 1.5 }, "holdSeconds", "must be whole seconds"],
    [{ ...WEB_RX, holdSeconds: 8 * 86_400 }, "holdSeconds", "must be at most 604800 (7 days)"],
    [
      { ...WEB_RX, metric: "heartbeatAgeSeconds" },
      "scope.kind",
      'heartbeatAgeSeconds applies to nodes only ("all" or "node")',
    ],
    [
      { ...WEB_RX, metric: "dnsLatencyP95Ms", upper: 2_500 },
      "upper",
      "must be below 2500 for dnsLatencyP95Ms: a value past 2500 reads as 2500",
    ],
    [
      { ...WEB_RX, metric: "dnsLatencyP95Ms", upper: undefined, lower: 3_000 },
      "lower",
      "must be below 2500 for dnsLatencyP95Ms: a value past 2500 reads as 2500",
    ],
    [{ ...WEB_RX, enabled: "yes" }, "enabled", expect.any(String)],
    [{ ...WEB_RX, severity: "high" }, "severity", "unknown field"],
  ])("400 naming the field: %o → %s", async (body, path, message) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid threshold");
    expect(res.body.issues).toContainEqual({ path, message });
  });

  it("takes the DNS metrics, per pod and per node", async () => {
    for (const metric of ["dnsNxdomainPerSec", "dnsServfailPerSec", "dnsLatencyP95Ms"]) {
      const res = await create({ ...WEB_RX, metric, upper: 2_499 });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ metric, upper: 2_499 });
    }
    const node = await create({ metric: "dnsLatencyP95Ms", scope: { kind: "node", target: "node-a" }, upper: 200 });
    expect(node).toMatchObject({ status: 201, body: { unit: "ms" } });
  });

  it("400 for a body that is not JSON, on PUT too", async () => {
    const { id } = (await create(WEB_RX)).body;
    expect((await send(s.app, "POST", "/api/v1/thresholds", "{", AS_ADMIN)).status).toBe(400);
    const res = await send(s.app, "PUT", `/api/v1/thresholds/${id}`, { ...WEB_RX, upper: null }, AS_ADMIN);
    expect(res.status).toBe(400);
    expect((await res.json()).issues).toEqual([{ path: "upper", message: "give an upper or a lower limit (or both)" }]);
  });
});

describe("auth", () => {
  it("writes need the admin token: 401 without, 403 with the read token", async () => {
    expect((await send(s.app, "POST", "/api/v1/thresholds", WEB_RX)).status).toBe(401);
    expect((await send(s.app, "POST", "/api/v1/thresholds", WEB_RX, bearer(READ_TOKEN))).status).toBe(403);
    const { id } = (await create(WEB_RX)).body;
    expect((await send(s.app, "PUT", `/api/v1/thresholds/${id}`, WEB_RX, bearer(READ_TOKEN))).status).toBe(403);
    expect((await send(s.app, "DELETE", `/api/v1/thresholds/${id}`)).status).toBe(401);
    expect((await getJson(s.app, "/api/v1/thresholds")).body).toHaveLength(1);
  });

  it("reads follow EBPF_K8S_READ_AUTH", async () => {
    s.rebuild({ settings: { readAuth: "token" } });
    expect((await getJson(s.app, "/api/v1/thresholds")).status).toBe(401);
    expect((await getJson(s.app, "/api/v1/alerts")).status).toBe(401);
    expect((await getJson(s.app, "/api/v1/alerts", bearer(READ_TOKEN))).status).toBe(200);
  });
});

describe("alerts", () => {
  /** node-a and node-b at 10,000 B/s RX, received at T0 + 10.5 s. */
  async function busyNodes() {
    for (const node of ["node-a", "node-b"]) {
      await postBatch(s.app, batch({ node, seq: 1, ts: T0, interfaces: [iface({ rxBytes: 0 })] }));
      s.clock.now = T0 + 10_500;
      await postBatch(s.app, batch({ node, seq: 2, ts: T0 + 10_000, interfaces: [iface({ rxBytes: 100_000 })] }));
    }
  }
  const evaluate = (at: number) => evaluateAlerts(s.db, at, { staleAfterMs: 30_000, retention: DEFAULT_RETENTION });
  const alerts = async (query = "") => (await getJson(s.app, `/api/v1/alerts${query}`)).body;
  const everyNode = { metric: "rxBytesPerSec", scope: { kind: "all" }, upper: 5_000, holdSeconds: 0 };

  it("lists active alerts first, then the history, with state, node, threshold, since and limit filters", async () => {
    await busyNodes();
    const t = (await create(everyNode)).body;
    await evaluate(T0 + 11_000);
    // node-b drops back to 1,000 B/s: its alert resolves.
    s.clock.now = T0 + 20_500;
    await postBatch(
      s.app,
      batch({ node: "node-b", seq: 3, ts: T0 + 20_000, interfaces: [iface({ rxBytes: 110_000 })] }),
    );
    await evaluate(T0 + 21_000);

    const all = await alerts();
    expect(all).toEqual([
      {
        id: 1,
        state: "active",
        thresholdId: t.id,
        metric: "rxBytesPerSec",
        unit: "B/s",
        scope: { kind: "all" },
        targetKind: "node",
        target: "node-a",
        node: "node-a",
        bound: "upper",
        limit: 5_000,
        upper: 5_000,
        lower: null,
        holdSeconds: 0,
        description: null,
        breachedSince: new Date(T0 + 11_000).toISOString(),
        firedAt: new Date(T0 + 11_000).toISOString(),
        resolvedAt: null,
        resolvedReason: null,
        value: 10_000,
        peak: 10_000,
        trough: 10_000,
        lastValue: 10_000,
      },
      expect.objectContaining({
        id: 2,
        state: "resolved",
        target: "node-b",
        resolvedAt: new Date(T0 + 21_000).toISOString(),
        resolvedReason: "recovered",
      }),
    ]);
    expect((await alerts("?state=active")).map((a: { id: number }) => a.id)).toEqual([1]);
    expect((await alerts("?state=resolved")).map((a: { id: number }) => a.id)).toEqual([2]);
    expect((await alerts("?node=node-b")).map((a: { id: number }) => a.id)).toEqual([2]);
    expect((await alerts(`?threshold=${t.id}&limit=1`)).map((a: { id: number }) => a.id)).toEqual([1]);
    s.clock.now = T0 + 30_000;
    expect((await alerts("?since=5s")).map((a: { id: number }) => a.id)).toEqual([1]); // node-b's ended 9 s ago
    expect((await alerts(`?since=${new Date(T0 + 21_000).toISOString()}`)).map((a: { id: number }) => a.id)).toEqual([
      1,
      2,
    ]);
    expect((await getJson(s.app, `/api/v1/thresholds/${t.id}`)).body).toMatchObject({ active: 1, pending: 0 });
  });

  it.each([
    ["?state=firing", "state"],
    ["?node=Node_A", "node"],
    ["?since=yesterday", "since"],
    ["?limit=0", "limit"],
    ["?severity=high", "severity"],
  ])("400 naming the parameter: %s", async (query, path) => {
    const { status, body } = await getJson(s.app, `/api/v1/alerts${query}`);
    expect(status).toBe(400);
    expect(body.issues.map((i: { path: string }) => i.path)).toEqual([path]);
  });

  it("new limits keep an alert for the next evaluation to judge; another metric, switching off or deleting resolve it", async () => {
    await busyNodes();
    const { id } = (await create(everyNode)).body;
    /** Evaluation and PUTs 1 s apart, so the history's order (latest resolved first) is the order of the steps. */
    const step = () => evaluate(s.clock.now += 1_000);
    const put = async (body: object) => {
      s.clock.now += 1_000;
      expect((await send(s.app, "PUT", `/api/v1/thresholds/${id}`, { ...everyNode, ...body }, AS_ADMIN)).status).toBe(
        200,
      );
    };
    const latestReasons = async () =>
      (await alerts("?state=resolved")).slice(0, 2).map((a: { resolvedReason: string }) => a.resolvedReason);

    await step();
    await put({ upper: 20_000 });
    expect((await alerts()).map((a: { target: string; state: string }) => [a.target, a.state])).toEqual([[
      "node-b",
      "active",
    ], ["node-a", "active"]]);
    await step();
    expect(await latestReasons()).toEqual(["recovered", "recovered"]);

    await put({ upper: 5_000 });
    await step();
    await put({ metric: "txBytesPerSec", lower: 1 });
    expect(await alerts("?state=active")).toEqual([]);
    expect(await latestReasons()).toEqual(["threshold-changed", "threshold-changed"]);

    await put({});
    await step();
    await put({ enabled: false });
    expect(await latestReasons()).toEqual(["threshold-disabled", "threshold-disabled"]);
    expect(await step()).toEqual({ fired: 0, resolved: 0, pending: 0 }); // switched off: not evaluated

    await put({ holdSeconds: 60 });
    await step();
    expect((await getJson(s.app, `/api/v1/thresholds/${id}`)).body).toMatchObject({ active: 0, pending: 2 });
    await send(s.app, "DELETE", `/api/v1/thresholds/${id}`, undefined, AS_ADMIN);
    expect(await step()).toEqual({ fired: 0, resolved: 0, pending: 0 });
    expect(await alerts("?state=active")).toEqual([]);
    expect(await alerts("?state=resolved")).toHaveLength(6); // the history outlives the threshold
  });
});
