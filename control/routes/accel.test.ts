// SPDX-License-Identifier: Apache-2.0
/** The acceleration rules API: validation, auth, ids, the lb state carrying the rules, counters from batches. */
import { describe, expect, it } from "vitest";
import { createService } from "../services/model.ts";
import { backends, service } from "../services/fixtures.test-support.ts";
import {
  AS_ADMIN,
  batch,
  bearer,
  credentialFor,
  getJson,
  postBatch,
  READ_TOKEN,
  send,
  T0,
  useTestApp,
} from "../test-support.ts";

const s = useTestApp();

const REDIS = { kind: "service", namespace: "default", name: "redis" };
const NGINX_PODS = { kind: "pods", namespace: "ingress", selector: { app: "nginx" }, description: "ingress" };

async function state() {
  const res = await s.app.request("/api/v1/lb/state", { headers: bearer(await credentialFor(s.app, "node-a")) });
  return res.json();
}

describe("accel rules", () => {
  it("are created with the smallest free id, listed with zero counters, and reach agents with the lb state under a new version", async () => {
    const before = await state();
    const a = await send(s.app, "POST", "/api/v1/accel/rules", REDIS, AS_ADMIN);
    expect([a.status, await a.json()]).toEqual([201, { ...REDIS, id: 1 }]);
    const b = await send(s.app, "POST", "/api/v1/accel/rules", NGINX_PODS, AS_ADMIN);
    expect(await b.json()).toEqual({ ...NGINX_PODS, id: 2 });
    const after = await state();
    expect(after.version).toBe(before.version + 2);
    expect(after.accel).toEqual([{ ...REDIS, id: 1 }, { ...NGINX_PODS, id: 2 }]);
    const list = await getJson(s.app, "/api/v1/accel/rules");
    expect(list.body.rules).toEqual([
      { rule: { ...REDIS, id: 1 }, connections: 0, bytes: 0 },
      { rule: { ...NGINX_PODS, id: 2 }, connections: 0, bytes: 0 },
    ]);
    // deleting 1 frees it for the next rule
    expect((await send(s.app, "DELETE", "/api/v1/accel/rules/1", undefined, AS_ADMIN)).status).toBe(200);
    expect((await send(s.app, "DELETE", "/api/v1/accel/rules/1", undefined, AS_ADMIN)).status).toBe(404);
    const c = await send(s.app, "POST", "/api/v1/accel/rules", { ...REDIS, portName: "" }, AS_ADMIN);
    expect(await c.json()).toEqual({ ...REDIS, portName: "", id: 1 });
    const put = await send(s.app, "PUT", "/api/v1/accel/rules/2", {
      ...NGINX_PODS,
      selector: { app: "nginx", tier: "edge" },
    }, AS_ADMIN);
    expect(await put.json()).toEqual({ ...NGINX_PODS, selector: { app: "nginx", tier: "edge" }, id: 2 });
    expect((await send(s.app, "PUT", "/api/v1/accel/rules/9", REDIS, AS_ADMIN)).status).toBe(404);
  });

  it("refuse bad input with a 400 naming the field, and writes without the admin token", async () => {
    const bad = await send(
      s.app,
      "POST",
      "/api/v1/accel/rules",
      { kind: "pods", namespace: "default", selector: {} },
      AS_ADMIN,
    );
    expect(bad.status).toBe(400);
    expect((await bad.json()).issues.map((i: { path: string }) => i.path)).toEqual(["selector"]);
    const kind = await send(s.app, "POST", "/api/v1/accel/rules", { kind: "vip", namespace: "default" }, AS_ADMIN);
    expect((await kind.json()).issues[0].path).toBe("kind");
    const extra = await send(s.app, "POST", "/api/v1/accel/rules", { ...REDIS, vip: "10.96.0.1" }, AS_ADMIN);
    expect(extra.status).toBe(400);
    expect((await send(s.app, "POST", "/api/v1/accel/rules", REDIS)).status).toBe(401);
    expect((await send(s.app, "POST", "/api/v1/accel/rules", REDIS, bearer(READ_TOKEN))).status).toBe(403);
    expect((await getJson(s.app, "/api/v1/accel/rules/abc")).status).toBe(400);
  });

  it("add the counters of batches per rule; rows of unknown rules are dropped; a duplicate batch counts once", async () => {
    await createService(s.db, service("redis", "10.96.0.20", { backends: backends("10.244.1.5") }), T0);
    await send(s.app, "POST", "/api/v1/accel/rules", REDIS, AS_ADMIN);
    const { version } = await state();
    const b1 = batch({ seq: 1, ts: T0, accel: { version, rules: [[1, 3, 3000], [7, 1, 1]] } });
    expect((await postBatch(s.app, b1)).status).toBe(200);
    expect((await postBatch(s.app, b1)).status).toBe(200); // duplicate
    await postBatch(s.app, batch({ node: "node-b", seq: 1, ts: T0, accel: { version, rules: [[1, 2, 500]] } }));
    const one = await getJson(s.app, "/api/v1/accel/rules/1");
    expect(one.body).toEqual({ rule: { ...REDIS, id: 1 }, connections: 5, bytes: 3500 });
    const bad = await postBatch(s.app, batch({ seq: 2, ts: T0 + 1000, accel: { version, rules: [[0, 1, 1]] } }));
    expect(bad.status).toBe(400);
  });

  it("counters saturate at 2^53 - 1, where libSQL could no longer read them back", async () => {
    await send(s.app, "POST", "/api/v1/accel/rules", REDIS, AS_ADMIN);
    const { version } = await state();
    const max = Number.MAX_SAFE_INTEGER;
    const rules = Array<[number, number, number]>(1_023).fill([1, max, max]);
    for (const seq of [1, 2]) {
      expect((await postBatch(s.app, batch({ seq, ts: T0, accel: { version, rules } }))).status).toBe(200);
    }
    expect(await getJson(s.app, "/api/v1/accel/rules/1")).toEqual({
      status: 200,
      body: { rule: { ...REDIS, id: 1 }, connections: max, bytes: max },
    });
  });
});
