// SPDX-License-Identifier: Apache-2.0
/**
 * A batch an agent's full spool merged (agent/spool/merge.ts) meets the
 * store's idempotency as it is: it carries the seq of the newest batch it
 * absorbed, so it is stored once after the batch kept apart before it (the
 * one that was being sent), and a resent source of it is a duplicate.
 */
import { expect, it } from "vitest";
import { flow } from "../monitoring/fixtures.test-support.ts";
import { post, report, WEB } from "../monitoring/scenario.test-support.ts";
import { ack, batch, getJson, iface, postBatch, T0, useTestApp } from "../test-support.ts";

const s = useTestApp();
const iso = (ms: number) => new Date(ms).toISOString();

it("a merged batch (seqs 3 to 6, sent as 6) after batch 2: totals exact, gaps in seq accepted, a source resent changes nothing", async () => {
  await post(s, { seq: 1, ts: T0, pods: [report(WEB, 1)], interfaces: [iface({ rxPackets: 10 })] });
  await post(s, {
    seq: 2,
    ts: T0 + 1_000,
    flows: [flow({ packets: 5, bytes: 500 })],
    interfaces: [iface({ rxPackets: 20 })],
  });
  // four intervals in one: the flow records summed, the interface counters the newest (cumulative)
  await post(s, {
    seq: 6,
    ts: T0 + 5_000,
    interval: 4,
    pods: [report(WEB, 6)],
    flows: [flow({ packets: 40, bytes: 4_000 })],
    interfaces: [iface({ rxPackets: 60 })],
  });
  const totals = async () => (await getJson(s.app, `/api/v1/flows?since=${iso(T0 - 1_000)}`)).body.totals;
  expect(await totals()).toEqual({ packets: 45, bytes: 4_500 });

  // what a merge absorbed never arrives on its own; if it did (a copy from elsewhere), it would be a duplicate
  const again = await postBatch(s.app, batch({ seq: 4, ts: T0 + 3_000, flows: [flow({ packets: 10, bytes: 1_000 })] }));
  expect(await again.json()).toEqual(ack(6, true));
  expect(await totals()).toEqual({ packets: 45, bytes: 4_500 });
  const ifs = (await getJson(s.app, "/api/v1/nodes/node-a/interfaces")).body;
  expect(ifs.map((i: { ifname: string; rxPackets: number }) => [i.ifname, i.rxPackets])).toEqual([["veth0", 60]]);
});
