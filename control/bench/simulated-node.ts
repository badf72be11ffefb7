/**
 * What a simulated agent sends: a join request, then batches of
 * BENCH_RECORDS interface records with growing counters plus an inventory,
 * shaped like a real node's (veths of pods, a bridge, a NIC).
 */
import { WIRE_VERSION, type Batch, type Inventory } from "../wire/batch.ts";

const PROGRAMS_PER_MODULE = 2;

export function nodeName(i: number): string {
  return `bench-node-${String(i).padStart(4, "0")}`;
}

export function inventoryFor(interfaces: number): Inventory {
  const modules = ["ifstats", "flows", "tcp", "drops"] as const;
  return {
    agentVersion: "0.2.0-bench",
    kernel: "6.12.48+deb13-amd64",
    btf: true,
    bpfStats: true,
    features: Object.fromEntries(
      ["prog:sched_cls", "prog:xdp", "prog:tracepoint", "prog:sock_ops", "prog:sk_msg", "map:sockhash", "map:lru_hash", "map:percpu_hash", "map:ringbuf", "link:tcx"].map((f) => [f, true]),
    ),
    modules: [...modules.map((name) => ({ name, desired: true, state: "on" as const })), { name: "lb", desired: false, state: "off" }, { name: "accel", desired: false, state: "off" }],
    programs: modules.flatMap((module, m) =>
      Array.from({ length: PROGRAMS_PER_MODULE }, (_, p) => ({
        id: 100 + m * 10 + p,
        name: `${module}_${p === 0 ? "ingress" : "egress"}`,
        type: "sched_cls",
        module,
        attach: `tc ${p === 0 ? "ingress" : "egress"} on ${interfaces} interfaces`,
        runCount: 1_000_000 + m,
        runTimeNs: 85_000_000 + m,
      })),
    ),
    maps: modules.map((module, m) => ({ id: 200 + m, name: `${module}_map`, type: "percpu_hash", module, maxEntries: 65_536, entries: 1_000 + m })),
    spool: { pending: 0, dropped: 0 },
  };
}

/** Batch `seq` of a node: every counter grows with seq, as cumulative kernel counters do. */
export function batchFor(node: string, bootId: string, seq: number, records: number, intervalSeconds: number, inventory: Inventory): Batch {
  const interfaces = Array.from({ length: records }, (_, i) => ({
    // Pod veths are named from a hash (veth3f2a1b9c); multiplying by an odd constant mod 2^32 keeps them unique.
    ifname: i === 0 ? "eth0" : i === 1 ? "cni0" : `veth${((i * 2654435761) >>> 0).toString(16).padStart(8, "0")}`,
    ifindex: i + 2,
    rxPackets: seq * (1_000 + i),
    rxBytes: seq * (1_000 + i) * 800,
    txPackets: seq * (900 + i),
    txBytes: seq * (900 + i) * 600,
    drops: seq % 3,
  }));
  return { v: WIRE_VERSION, node, bootId, seq, ts: Date.now(), interval: intervalSeconds, interfaces, inventory };
}
