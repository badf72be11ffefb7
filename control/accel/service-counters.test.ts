// SPDX-License-Identifier: Apache-2.0
/**
 * Acceleration counters per service (services/views.ts `accel`): the rules of
 * kind service covering a port, their counters summed over nodes and over the
 * window; a rule naming no port on every port of the service; pods rules and
 * other services' rules not at all; minutes before the window left out.
 */
import { describe, expect, it } from "vitest";
import { backends, service, WEB } from "../services/fixtures.test-support.ts";
import { createService } from "../services/model.ts";
import { readVersion } from "../services/version.ts";
import { batch, getJson, postBatch, T0, useTestApp } from "../test-support.ts";
import type { AccelCounters } from "../wire/accel.ts";
import { createRule, deleteRule } from "./rules.ts";

const s = useTestApp();

const ADMIN_PORT = service("web", "10.96.0.10", { portName: "admin", port: 81, backends: backends("10.244.1.5") });
const DB = service("db", "10.96.0.11", { backends: backends("10.244.1.6") });

describe("acceleration counters on the services", () => {
  it("each port shows the service rules covering it, summed over nodes and the window", async () => {
    for (const svc of [WEB, ADMIN_PORT, DB]) await createService(s.db, svc, T0);
    await createRule(s.db, { kind: "service", namespace: "default", name: "web" }, T0); // 1: every port of web
    await createRule(s.db, { kind: "service", namespace: "default", name: "web", portName: "http" }, T0); // 2
    await createRule(s.db, { kind: "service", namespace: "default", name: "db" }, T0); // 3
    await createRule(s.db, { kind: "pods", namespace: "default", selector: { app: "web" } }, T0); // 4: not a service's
    const version = await readVersion(s.db);
    const accel = (rules: AccelCounters["rules"]): AccelCounters => ({ version, rules });
    await postBatch(s.app, batch({ node: "node-a", seq: 1, ts: T0 - 2 * 3_600_000, accel: accel([[2, 100, 1e6]]) }));
    await postBatch(
      s.app,
      batch({
        node: "node-a",
        seq: 2,
        ts: T0 + 1_000,
        accel: accel([[1, 10, 1000], [2, 3, 300], [3, 7, 700], [4, 5, 5]]),
      }),
    );
    await postBatch(s.app, batch({ node: "node-b", seq: 1, ts: T0 + 2_000, accel: accel([[1, 2, 200], [2, 1, 10]]) }));
    s.clock.now = T0 + 60_000;

    const web = (await getJson(s.app, "/api/v1/services/default/web")).body.services;
    expect(web.map((v: { portName: string; accel: unknown }) => [v.portName, v.accel])).toEqual([
      ["admin", { connections: 12, bytes: 1200, rules: [1] }],
      ["http", { connections: 16, bytes: 1510, rules: [1, 2] }],
    ]);
    expect((await getJson(s.app, "/api/v1/services/default/db/-")).body.accel).toEqual({
      connections: 7,
      bytes: 700,
      rules: [3],
    });
    // the window reaches back to the batch of two hours ago
    const http = (await getJson(s.app, "/api/v1/services/default/web/http?since=3h")).body;
    expect(http.accel).toEqual({ connections: 116, bytes: 1_001_510, rules: [1, 2] });

    await deleteRule(s.db, 1, T0);
    const after = (await getJson(s.app, "/api/v1/services/default/web")).body.services;
    expect(after.map((v: { accel: unknown }) => v.accel)).toEqual([
      { connections: 0, bytes: 0, rules: [] },
      { connections: 4, bytes: 310, rules: [2] },
    ]);
  });
});
