// SPDX-License-Identifier: Apache-2.0
/**
 * GET /api/v1/drops with drops that name a service (wire version 5): one row
 * per (node, pod, interface, reason, service), `service` an Endpoint or null
 * for the rest of a key's drops, each key adding up to its total; the
 * service filter; exact numbers on raw, 1m and 1h, before and after the
 * rollup. (The store's side, older rows and caps: monitoring-store/
 * drop-services.test.ts.)
 */
import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { runMaintenance } from "../monitoring-store/maintenance.ts";
import { drop } from "../monitoring/fixtures.test-support.ts";
import { DB_POD, NOW, post, postPods } from "../monitoring/scenario.test-support.ts";
import { getJson, T0, useTestApp } from "../test-support.ts";

const s = useTestApp();

const web = { kind: "pod", label: "default/web", uid: "u-web", namespace: "default", name: "web", node: "node-a" };
const db = { kind: "pod", label: "data/db", uid: "u-db", namespace: "data", name: "db", node: "node-b" };
const dbService = { kind: "service", label: "data/db", namespace: "data", name: "db" };
const apiService = { kind: "service", label: "shop/api", namespace: "shop", name: "api" };

/** web's NETFILTER_DROP on node-a: 3 packets to data/db, 2 to shop/api, 4 of none; db's TCP_CSUM all data/db's. */
async function scenario() {
  await postPods(s);
  const onWeb = { pod: "u-web", ifname: "veth-web" };
  await post(s, {
    node: "node-a",
    seq: 2,
    ts: T0 + 10_000,
    drops: [
      drop({ ...onWeb, service: "data/db", packets: 3, bytes: 180 }),
      drop({ ...onWeb, service: "shop/api", packets: 2, bytes: 100 }),
      drop({ ...onWeb, packets: 4, bytes: 240 }),
    ],
  });
  await post(s, {
    node: "node-b",
    seq: 2,
    ts: T0 + 10_000,
    drops: [drop({ pod: DB_POD.uid, reason: "TCP_CSUM", service: "data/db", packets: 1, bytes: 60 })],
  });
  s.clock.now = NOW;
}

const onWeb = { node: "node-a", pod: web, ifname: "veth-web", reason: "NETFILTER_DROP" };
const ROWS = [
  { ...onWeb, service: null, packets: 4, bytes: 240 },
  { ...onWeb, service: dbService, packets: 3, bytes: 180 },
  { ...onWeb, service: apiService, packets: 2, bytes: 100 },
  { node: "node-b", pod: db, ifname: null, reason: "TCP_CSUM", service: dbService, packets: 1, bytes: 60 },
];
const BY_REASON = [
  { reason: "NETFILTER_DROP", packets: 9, bytes: 520 },
  { reason: "TCP_CSUM", packets: 1, bytes: 60 },
];

const drops = async (query: string) => {
  const { status, body } = await getJson(s.app, `/api/v1/drops?${query}`);
  expect(status, JSON.stringify(body)).toBe(200);
  return { drops: body.drops, byReason: body.byReason };
};

describe("GET /api/v1/drops by service", () => {
  beforeEach(scenario);

  it("a row per service and one for the rest, the same on raw, 1m and 1h, before and after the rollup", async () => {
    const windows = ["since=5m", "since=3h", "since=7d"];
    for (const w of windows) expect(await drops(w), w).toEqual({ drops: ROWS, byReason: BY_REASON });
    await runMaintenance(s.db, NOW + 11 * 60_000, DEFAULT_MONITORING_SETTINGS);
    s.clock.now = NOW + 11 * 60_000;
    for (const w of ["since=20m", "since=3h", "since=7d"]) {
      expect(await drops(w), w).toEqual({ drops: ROWS, byReason: BY_REASON });
    }
  });

  it("service= keeps that service's rows; with the other filters too; an unknown service has none", async () => {
    expect(await drops("service=data/db")).toEqual({
      drops: [ROWS[1], ROWS[3]],
      byReason: [{ reason: "NETFILTER_DROP", packets: 3, bytes: 180 }, { reason: "TCP_CSUM", packets: 1, bytes: 60 }],
    });
    expect((await drops("service=data/db&node=node-b")).drops).toEqual([ROWS[3]]);
    expect((await drops("service=shop/api&pod=default/web")).drops).toEqual([ROWS[2]]);
    expect((await drops("service=shop/none")).drops).toEqual([]);
    expect((await drops("service=")).drops).toEqual(ROWS); // empty counts as absent, as a form sends it
    const bad = await getJson(s.app, "/api/v1/drops?service=Data/db");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain("'service'");
  });
});
