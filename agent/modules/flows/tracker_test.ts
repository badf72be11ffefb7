import { assertEquals } from "../../testing/assert.ts";
import { FLOW_KEY_SIZE, FLOW_VALUE_SIZE } from "./layout.ts";
import { FlowTracker } from "./tracker.ts";

const key = (sport: number) => {
  const k = new Uint8Array(FLOW_KEY_SIZE);
  k.set([0xff, 0xff, 10, 0, 0, 1], 10);
  k.set([0xff, 0xff, 10, 0, 0, 2], 26);
  new DataView(k.buffer).setUint16(32, sport, true);
  new DataView(k.buffer).setUint16(34, 80, true);
  k[36] = 6;
  return k;
};
const val = (packets: number, bytes: number, lastSeen: bigint) => {
  const v = new Uint8Array(FLOW_VALUE_SIZE);
  const dv = new DataView(v.buffer);
  dv.setBigUint64(0, BigInt(packets), true);
  dv.setBigUint64(8, BigInt(bytes), true);
  dv.setBigUint64(24, lastSeen, true);
  return v;
};

Deno.test("deltas per interval, recreated entries, idle flows and eviction accounting", () => {
  const t = new FlowTracker();
  let r = t.diff([[key(1), val(10, 1000, 100n)], [key(2), val(1, 60, 100n)]], 200n, 1000n);
  assertEquals(r.deltas.map((d) => [d.sport, d.packets, d.bytes]), [[1, 10, 1000], [2, 1, 60]]);
  // flow 1 grows; flow 2 unchanged and idle for long; flow 3 new
  r = t.diff([[key(1), val(15, 1500, 1500n)], [key(2), val(1, 60, 100n)], [key(3), val(2, 120, 1500n)]], 2000n, 1000n);
  assertEquals(r.deltas.map((d) => [d.sport, d.packets, d.bytes]), [[1, 5, 500], [3, 2, 120]]);
  assertEquals(r.idle.map((k) => new DataView(k.buffer).getUint16(32, true)), [2]);
  // The idle flow got one more packet before it was removed: that packet is not lost.
  const late = t.removed(r.idle[0], val(2, 120, 2100n));
  assertEquals([late?.packets, late?.bytes], [1, 60]);
  // flow 1 was evicted and recreated with fewer packets: its whole value is the delta.
  r = t.diff([[key(1), val(3, 300, 2500n)], [key(3), val(2, 120, 1500n)]], 2600n, 1000n);
  assertEquals(r.deltas.map((d) => [d.sport, d.packets]), [[1, 3]]);
  // created by the kernel: 1, 2, 3 and 1 again = 4; 2 entries left, 1 removed as idle -> 1 evicted.
  assertEquals(t.stats(4, 0), { entries: 2, created: 4, createFailed: 0, removedIdle: 1, evicted: 1 });
});
