// SPDX-License-Identifier: Apache-2.0
/**
 * A node as a real agent reports it, for the node page's browser tests: the
 * programs and maps of every monitoring module (names, types and sizes of
 * bpf/*.bpf.c, with single-slot config arrays and per-CPU arrays among them),
 * two watched interfaces (eth0, cni0), pods with traffic, TCP rows and drops
 * of several kernel reasons. Two batches a second apart, so rates are known.
 *
 * The pod `web` receives more than the node's watched interfaces do (its
 * traffic with `cache`, on the same node, crosses neither eth0 nor cni0).
 */
import { pod, tcp } from "../../control/monitoring/fixtures.test-support.ts";
import { iface, inventory } from "../../control/test-support.ts";
import type { Batch, Inventory, MapInfo, ModuleName } from "../../control/wire/batch.ts";
import type { DropRecord, PodReport } from "../../control/wire/monitoring.ts";

export const NODE = "node-h";

/** Drops the drops module reported, by kernel reason: 171 packets in all (as in the issue's screenshot). */
export const DROPS: DropRecord[] = [
  { pod: "u-web", reason: "NO_SOCKET", packets: 120, bytes: 7_200 },
  { pod: "u-cache", reason: "QUEUE_PURGE", packets: 40, bytes: 2_400 },
  { ifname: "eth0", reason: "NETFILTER_DROP", packets: 10, bytes: 600 },
  { reason: "(other)", packets: 1, bytes: 60 },
];
export const DROPPED = DROPS.reduce((n, d) => n + d.packets, 0);

/** eth0 and cni0: what ifstats counts (drops: 1, since the agent started). */
const INTERFACES = (k: number) => [
  iface({
    ifname: "eth0",
    ifindex: 2,
    rxBytes: 200_000 * k,
    rxPackets: 200 * k,
    txBytes: 100_000 * k,
    txPackets: 100 * k,
    drops: 1,
  }),
  iface({ ifname: "cni0", ifindex: 3, rxBytes: 34_000 * k, rxPackets: 40 * k, txBytes: 30_000 * k, txPackets: 30 * k }),
];

const PODS = [
  pod("u-web", "web", ["10.0.1.2"], { hostVeth: "veth1" }),
  pod("u-cache", "cache", ["10.0.1.3"], { hostVeth: "veth2" }),
  pod("u-api", "api", ["10.0.1.4"], { hostVeth: "veth3" }),
];

/** `web` receives 400 KB/s, more than eth0 and cni0 together (234 KB/s). */
const podReports = (k: number): PodReport[] =>
  PODS.map((p, i) => ({
    ...p,
    rxBytes: (i === 0 ? 400_000 : 1_000) * k,
    rxPackets: (i === 0 ? 300 : 2) * k,
    txBytes: 2_000 * k,
    txPackets: 4 * k,
    drops: 0,
  }));

type P = [string, string, ModuleName, string];
const PROGRAMS: P[] = [
  ["ifstats_ingress", "sched_cls", "ifstats", "tc ingress eth0"],
  ["ifstats_egress", "sched_cls", "ifstats", "tc egress eth0"],
  ["ifstats_ingress", "sched_cls", "ifstats", "tc ingress cni0"],
  ["ifstats_egress", "sched_cls", "ifstats", "tc egress cni0"],
  ["ifstats_drop", "tracepoint", "ifstats", "tracepoint skb/kfree_skb"],
  ...["veth1", "veth2", "veth3"].flatMap((v): P[] => [
    ["flows_ingress", "sched_cls", "flows", `tc ingress ${v}`],
    ["flows_egress", "sched_cls", "flows", `tc egress ${v}`],
    ["dns_ingress", "sched_cls", "dns", `tc ingress ${v}`],
    ["dns_egress", "sched_cls", "dns", `tc egress ${v}`],
  ]),
  ["drops_kfree_skb", "tracepoint", "drops", "tracepoint skb/kfree_skb"],
  ...["tcp_state", "tcp_destroy", "tcp_retransmit", "tcp_rst_rx", "tcp_rst_tx"].map((n): P => [
    n,
    "tracing",
    "tcp",
    `tracepoint ${n}`,
  ]),
];

type M = [string, string, ModuleName, number, number];
/** [name, type, module, maxEntries, entries]: arrays report their non-zero slots, so a config array is 1 of 1. */
const MAPS: M[] = [
  ["ifstats", "percpu_array", "ifstats", 4096, 2],
  ["ifstats_big", "percpu_hash", "ifstats", 1024, 0],
  ["ifstats_cfg", "array", "ifstats", 1, 1],
  ["flows", "lru_hash", "flows", 65536, 9000],
  ["flow_stats", "percpu_array", "flows", 8, 8],
  ["tcp_stats", "lru_hash", "tcp", 16384, 15800],
  ["tcp_socks", "lru_hash", "tcp", 65536, 120],
  ["tcp_stats_created", "percpu_array", "tcp", 1, 1],
  ["drops", "percpu_hash", "drops", 4096, 4],
  ["drops_overflow", "percpu_array", "drops", 1, 1],
  ["drop_endpoints", "hash", "drops", 4096, 12],
  ["dns_config", "array", "dns", 1, 1],
  ["dns_servers", "lru_hash", "dns", 1024, 2],
  ["dns_pending", "lru_hash", "dns", 8192, 10],
  ["dns_names", "hash", "dns", 8192, 7900],
  ["dns_names_other", "hash", "dns", 1024, 3],
  ["dns_stats", "percpu_array", "dns", 16, 16],
  ["dns_scratch", "percpu_array", "dns", 1, 1],
];

/** The hash and LRU maps of MAPS whose fill is high (tcp_stats 96 %, dns_names 96 %): the only bars that may be red. */
export const FULL_HASH_MAPS = ["tcp_stats", "dns_names"];
/** Arrays at 100 % by design. */
export const FULL_ARRAYS = MAPS.filter(([, type, , max, n]) => type.endsWith("array") && n === max).map(([n]) => n);

export function nodeInventory(overrides: Partial<Inventory> = {}): Inventory {
  const on = ["ifstats", "flows", "tcp", "drops", "dns"] as const;
  return inventory({
    agentVersion: "0.3.0",
    kernel: "6.12.0-demo",
    features: { "prog:sched_cls": true, "prog:xdp": true, "map:lru_hash": true, "map:sockhash": true },
    modules: [
      ...on.map((name) => ({ name, desired: true, state: "on" as const })),
      { name: "lb", desired: false, state: "off" },
      { name: "gateway", desired: false, state: "off" },
      { name: "accel", desired: false, state: "unsupported" },
    ],
    programs: PROGRAMS.map(([name, type, module, attach], i) => ({
      id: 100 + i,
      name,
      type,
      module,
      attach,
      runCount: 1_000 * (i + 1),
      runTimeNs: 90_000 * (i + 1),
    })),
    maps: MAPS.map(([name, type, module, maxEntries, entries], i): MapInfo => ({
      id: 200 + i,
      name,
      type,
      module,
      maxEntries,
      entries,
    })),
    spool: { pending: 2, dropped: 0, merged: 0, quarantined: 0, quarantineDropped: 0 },
    ...overrides,
  });
}

const TCP = Array.from({ length: 12 }, (_, i) =>
  tcp({
    pod: "u-web",
    local: "10.0.1.2",
    remote: `10.0.2.${10 + i}`,
    port: 5432 + i,
    opened: 3,
    closed: 2,
    durationMs: 40,
    retransmits: i % 3,
    srttUsSum: 800,
    srttSamples: 4,
  }));

/** The node's two batches, a second apart, the latest `ago` ms before now (in the default 5-minute window). */
export function nodeBatches(now: number, inv: Inventory = nodeInventory()): Partial<Batch>[] {
  const base = { node: NODE, interval: 1, inventory: inv };
  return [
    { ...base, seq: 1, ts: now - 2_000, interfaces: INTERFACES(1), pods: podReports(1) },
    {
      ...base,
      seq: 2,
      ts: now - 1_000,
      interfaces: INTERFACES(2),
      pods: podReports(2),
      tcp: TCP,
      drops: DROPS,
    },
  ];
}
