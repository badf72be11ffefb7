// SPDX-License-Identifier: Apache-2.0
/** The sums behind the agent's TCP and drop counters of /metrics: every record of every batch, once. */
import { assertEquals } from "./testing/assert.ts";
import { MonitoringTotals } from "./monitoring_totals.ts";
import { type DropRecord, type TcpRecord, zeroTcpCounters } from "../control/wire/monitoring.ts";

const tcp = (c: Partial<TcpRecord>): TcpRecord => ({
  local: "10.0.0.2",
  remote: "10.0.0.3",
  port: 80,
  role: "client",
  ...zeroTcpCounters(),
  ...c,
});
const drop = (packets: number, reason = "NO_SOCKET"): DropRecord => ({ reason, packets, bytes: 40 * packets });

Deno.test("monitoring totals: a batch's TCP and drop records add up; batches without them add nothing", () => {
  const t = new MonitoringTotals();
  t.add({});
  assertEquals([t.tcpOpened, t.tcpRetransmits, t.tcpFailed, t.dropPackets], [
    0,
    0,
    { refused: 0, timeout: 0, other: 0 },
    0,
  ]);
  t.add({
    tcp: [tcp({ opened: 2, retransmits: 3, failedRefused: 1 }), tcp({ failedTimeout: 4, failedOther: 5 })],
    drops: [drop(6), drop(7, "TCP_CSUM")],
  });
  t.add({ tcp: [tcp({ opened: 1, failedRefused: 10 })], drops: [drop(1)] });
  assertEquals([t.tcpOpened, t.tcpRetransmits, t.tcpFailed, t.dropPackets], [
    3,
    3,
    { refused: 11, timeout: 4, other: 5 },
    14,
  ]);
});
