// SPDX-License-Identifier: Apache-2.0
/**
 * TCP totals over the cluster: a connection between two pods is reported by
 * both ends; what belongs to the connection counts once, what each end does
 * on its own (retransmits) counts from both.
 */
import { expect, it } from "vitest";
import { tcp } from "../../monitoring/fixtures.test-support.ts";
import { DB_POD, post, report, WEB } from "../../monitoring/scenario.test-support.ts";
import { windowOn } from "../../monitoring/rollup.ts";
import { T0, useTestApp } from "../../test-support.ts";
import { queryTcp } from "./tcp.ts";

const s = useTestApp();

it("counts a pod-to-pod connection once, and the retransmits of both ends", async () => {
  await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1)] });
  await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
  await post(s, {
    node: "node-a",
    seq: 2,
    ts: T0 + 10_000,
    tcp: [tcp({ opened: 1, closed: 1, retransmits: 3, resetsRx: 1 })],
  });
  const server = tcp({
    pod: "u-db",
    local: "10.0.2.2",
    remote: "10.0.1.2",
    role: "server",
    opened: 1,
    closed: 1,
    retransmits: 2,
    resetsTx: 1,
  });
  await post(s, { node: "node-b", seq: 2, ts: T0 + 10_000, tcp: [server] });
  const { totals, connections } = await queryTcp(s.db, windowOn("raw", T0, T0 + 20_000));
  expect(connections).toHaveLength(2);
  expect(totals).toMatchObject({ opened: 1, closed: 1, retransmits: 5, resetsRx: 1, resetsTx: 0 });
});
