// SPDX-License-Identifier: Apache-2.0
/**
 * What the API and page tests of monitoring post: three pods on two nodes
 * with known cumulative counters, and a helper posting a batch through
 * /api/v1/ingest at a pinned control-plane time.
 */
import { expect } from "vitest";
import { batch, postBatch, T0, type TestContext } from "../test-support.ts";
import type { Batch } from "../wire/batch.ts";
import type { PodReport } from "../wire/monitoring.ts";
import type { PodInfo } from "../wire/pods.ts";
import { pod } from "./fixtures.test-support.ts";

/** node-a: web and cache; node-b: db. */
export const WEB = pod("u-web", "web", ["10.0.1.2"], {
  hostVeth: "veth-web",
  ifindex: 11,
  labels: { app: "web", tier: "front" },
  owner: { kind: "ReplicaSet", name: "web-7d9f" },
});
export const CACHE = pod("u-cache", "cache", ["10.0.1.3"]);
export const DB_POD = pod("u-db", "db", ["10.0.2.2"], { namespace: "data" });

/** Cumulative counters: 100 packets and 10,000 bytes more each way per report (n = 1, 2, 3), so 1,000 B/s over 10 s. */
export const report = (p: PodInfo, n: number): PodReport => ({
  ...p,
  rxPackets: 100 * n,
  rxBytes: 10_000 * n,
  txPackets: 50 + 100 * n,
  txBytes: 5_000 + 10_000 * n,
  drops: n,
});

/** Posts at control-plane time ts + 500 (the agent clock is the control plane's, give or take). */
export async function post(s: TestContext, b: Partial<Batch>) {
  s.clock.now = (b.ts ?? T0) + 500;
  const res = await postBatch(s.app, batch(b));
  expect(res.status, await res.clone().text()).toBe(200);
}

/** Each node's first batch, at T0: its pods only (node-a: web and cache; node-b: db), so records after it are attributed. */
export async function postPods(s: TestContext) {
  await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1), report(CACHE, 1)] });
  await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
}

/** When node-a's third batch (T0 + 20 s) was received, in scenarios where it no longer lists cache. */
export const VANISHED_AT = T0 + 20_500;
/** Query time: 10 s after the last batch. */
export const NOW = T0 + 30_000;
