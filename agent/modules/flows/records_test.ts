import { assertEquals } from "../../testing/assert.ts";
import { FLOW_DIR_EGRESS as OUT, FLOW_DIR_INGRESS as IN, FLOW_FLAG_SYN_ONLY } from "./layout.ts";
import { type FlowDelta, FlowDeltas, flowRecords as fromDeltas } from "./records.ts";

const flowRecords = (list: FlowDelta[], veths: Set<number>, cap: number) => fromDeltas(FlowDeltas.of(list), veths, cap);

const d = (
  saddr: string,
  sport: number,
  daddr: string,
  dport: number,
  dir: number,
  ifindex: number,
  packets: number,
  tcpFlags = 0x10,
): FlowDelta => ({ saddr, sport, daddr, dport, proto: 6, dir, ifindex, packets, bytes: packets * 100, tcpFlags });

Deno.test("client ports fold into the service port; observation point per veth direction", () => {
  const veths = new Set([4, 5]);
  const { records, cut } = flowRecords(
    [
      // pod A (10.0.0.1, veth 4) connects twice to B (10.0.0.2, veth 5) port 8080 from two ephemeral ports
      d("10.0.0.1", 40001, "10.0.0.2", 8080, IN, 4, 3, 0x02 | FLOW_FLAG_SYN_ONLY | 0x10),
      d("10.0.0.1", 40002, "10.0.0.2", 8080, IN, 4, 2),
      d("10.0.0.2", 8080, "10.0.0.1", 40001, OUT, 4, 4),
      d("10.0.0.1", 40001, "10.0.0.2", 8080, OUT, 5, 3),
      // a host interface (ifindex 2) sees traffic from the world to port 443, no SYN seen: lower port serves
      d("192.0.2.9", 50000, "10.0.0.1", 443, IN, 2, 7),
    ],
    veths,
    100,
  );
  const brief = records.map((r) => `${r.src}>${r.dst}:${r.port} ${r.toServer ? "c2s" : "s2c"} ${r.obs} ${r.packets}`)
    .sort();
  assertEquals(brief, [
    "10.0.0.1>10.0.0.2:8080 c2s rx 3",
    "10.0.0.1>10.0.0.2:8080 c2s tx 5",
    "10.0.0.2>10.0.0.1:8080 s2c rx 4",
    "192.0.2.9>10.0.0.1:443 c2s host 7",
  ]);
  assertEquals(cut, 0);
});

Deno.test("a SYN decides the server even when the client's port is lower", () => {
  const { records } = flowRecords(
    [
      d("10.0.0.1", 80, "10.0.0.2", 9000, IN, 4, 1, 0x02 | FLOW_FLAG_SYN_ONLY),
      d("10.0.0.2", 9000, "10.0.0.1", 80, OUT, 4, 1, 0x12),
    ],
    new Set([4]),
    10,
  );
  assertEquals(records.map((r) => [r.port, r.toServer]).sort(), [[9000, false], [9000, true]]);
});

Deno.test("the cap keeps the biggest records and counts the rest", () => {
  const deltas = Array.from({ length: 10 }, (_, i) => d("10.0.0.1", 40000 + i, `10.0.1.${i}`, 80, IN, 4, i + 1));
  const { records, cut } = flowRecords(deltas, new Set([4]), 3);
  assertEquals(records.map((r) => r.packets), [10, 9, 8]);
  assertEquals(cut, 7);
});
