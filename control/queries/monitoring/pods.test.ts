// SPDX-License-Identifier: Apache-2.0
/**
 * The overview's top talkers at any cluster size: topPodsByRate reads the
 * pods of the highest rate classes through the pods_rate_class index
 * (migration 0013), not every pod (100,000 at 5,000 nodes;
 * control/bench/render.ts), and still answers exactly.
 */
import type { InValue } from "@libsql/client";
import { expect, it } from "vitest";
import { CACHE, DB_POD, post, report, WEB } from "../../monitoring/scenario.test-support.ts";
import { T0, useTestApp } from "../../test-support.ts";
import { topPodsByRate, topPodsQuery } from "./pods.ts";

const s = useTestApp();

it("finds the n-th highest class and reads the pods from it up through the pods_rate_class index, not every pod", async () => {
  const { sql, params } = topPodsQuery(s.db, 10).toSQL();
  const plan = (await s.db.$client.execute({ sql: `EXPLAIN QUERY PLAN ${sql}`, args: params as InValue[] })).rows
    .map((r) => String(r.detail));
  expect(plan.filter((d) => d.includes("USING INDEX pods_rate_class")), plan.join("\n")).toHaveLength(2);
  expect(plan.filter((d) => d.startsWith("SCAN pods") && !d.includes("USING")), plan.join("\n")).toEqual([]);
});

it("lists current pods with traffic, busiest first, at most n, leaving out vanished ones", async () => {
  await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1), report(CACHE, 1)] });
  await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
  await post(s, { node: "node-a", seq: 2, ts: T0 + 10_000, pods: [report(WEB, 2), report(CACHE, 3)] });
  await post(s, { node: "node-b", seq: 2, ts: T0 + 10_000, pods: [report(DB_POD, 5)] });
  // Both ways: web 2,000 B/s, cache 4,000, db 8,000 (classes 42, 44, 48).
  expect((await topPodsByRate(s.db, 2)).map((p) => p.name)).toEqual(["db", "cache"]);
  expect((await topPodsByRate(s.db, 1)).map((p) => p.name)).toEqual(["db"]);
  // cache's node stops listing it: vanished, it leaves the index's rows (vanished_at IS NULL).
  await post(s, { node: "node-a", seq: 3, ts: T0 + 20_000, pods: [report(WEB, 3)] });
  expect((await topPodsByRate(s.db, 10)).map((p) => p.name)).toEqual(["db", "web"]);
});
