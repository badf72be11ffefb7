// SPDX-License-Identifier: Apache-2.0
/**
 * What a simulated agent sends: a join request, then batches shaped like a
 * real node's with every monitoring module on:
 *
 * - `pods` pods with 10.<node>.x.y addresses and cumulative counters growing each batch;
 * - `flows` flow records (deltas), two per conversation (request and reply):
 *   40 % a local pod calling a pod of another node ("tx" out, "rx" reply in),
 *   40 % the mirror image (pods of other nodes calling here: "rx" in, "tx"
 *   reply out), 20 % a pod and the world. The "rx" of a pod-to-pod packet is
 *   the duplicate the control plane drops: the sender's node reports the same
 *   conversation as "tx";
 * - TCP records of the pod-to-pod TCP conversations, a few drop records, a
 *   few interfaces, MonitoringStats and the inventory.
 *
 * A conversation is a slot whose peer (node, pod, port) changes every
 * CHURN_BATCHES batches, staggered by slot: the set of flow keys is mostly
 * stable, a tenth of it new in each batch, like real traffic.
 */
import { type Batch, type InterfaceCounters, type Inventory, WIRE_VERSION } from "../wire/batch.ts";
import type { DropRecord, FlowRecord, PodReport, TcpRecord } from "../wire/monitoring.ts";

export interface NodeShape {
  pods: number;
  /** Flow records per batch (even: two per conversation). */
  flows: number;
  interfaces: number;
}

/** Share of conversations: local pod → remote pod, remote pod → local pod (the mirror), and pod ↔ world. */
const CONVERSATIONS = { client: 0.4, server: 0.4 } as const;
const TCP_RECORDS = 20;
const CHURN_BATCHES = 10;

/** A number from the environment (the benches' BENCH_* settings), else `fallback`. */
export const benchEnv = (name: string, fallback: number): number =>
  process.env[name] ? Number(process.env[name]) : fallback;

/** The node shape the benches make, from BENCH_PODS (20), BENCH_FLOWS (200) and BENCH_INTERFACES (5). */
export const benchShape = (): NodeShape => ({
  pods: benchEnv("BENCH_PODS", 20),
  flows: benchEnv("BENCH_FLOWS", 200),
  interfaces: benchEnv("BENCH_INTERFACES", 5),
});

/** Peers are among the next PEER_SPREAD nodes (a real pod talks to a handful of services, not the whole cluster). */
const PEER_SPREAD = 50;
const PORTS: ReadonlyArray<[port: number, proto: number]> = [
  [80, 6],
  [443, 6],
  [8080, 6],
  [5432, 6],
  [6379, 6],
  [9090, 6],
  [53, 17],
  [8125, 17],
];
/** The simulated pods' namespaces. */
export const NAMESPACES = ["default", "shop", "payments", "monitoring"];
const APPS = ["web", "api", "cart", "checkout", "redis", "postgres", "prometheus", "worker"];
const PROGRAMS_PER_MODULE = 2;

export function nodeName(i: number): string {
  return `bench-node-${String(i).padStart(4, "0")}`;
}

/** A small integer hash (deterministic, well mixed): the same inputs give the same peer on every node. */
function mix(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) h = Math.imul(h ^ x, 0x85ebca6b) ^ (h >>> 13);
  return (Math.imul(h ^ (h >>> 16), 0xc2b2ae35) ^ (h >>> 15)) >>> 0;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
export const podIp = (node: number, pod: number) => `10.${(node >> 8) & 255}.${node & 255}.${pod + 2}`;
export const podUid = (node: number, pod: number) => `${hex(node, 8)}-0000-4000-8000-${hex(pod, 12)}`;
export const podVeth = (node: number, pod: number) => `veth${hex(mix(node, pod), 8)}`;
export const worldIp = (k: number) => `${k % 2 ? "198.51.100" : "203.0.113"}.${1 + (k % 200)}`;

export function inventoryFor(interfaces: number): Inventory {
  const modules = ["ifstats", "flows", "tcp", "drops"] as const;
  return {
    agentVersion: "0.2.0-bench",
    kernel: "6.12.48+deb13-amd64",
    btf: true,
    bpfStats: true,
    features: Object.fromEntries(
      [
        "prog:sched_cls",
        "prog:xdp",
        "prog:tracepoint",
        "prog:sock_ops",
        "prog:sk_msg",
        "map:sockhash",
        "map:lru_hash",
        "map:percpu_hash",
        "map:ringbuf",
        "link:tcx",
      ].map((f) => [f, true]),
    ),
    modules: [...modules.map((name) => ({ name, desired: true, state: "on" as const })), {
      name: "lb",
      desired: false,
      state: "off",
    }, { name: "accel", desired: false, state: "off" }],
    programs: modules.flatMap((module, m) =>
      Array.from({ length: PROGRAMS_PER_MODULE }, (_, p) => ({
        id: 100 + m * 10 + p,
        name: `${module}_${p === 0 ? "ingress" : "egress"}`,
        type: "sched_cls",
        module,
        attach: `tc ${p === 0 ? "ingress" : "egress"} on ${interfaces} interfaces`,
        runCount: 1_000_000 + m,
        runTimeNs: 85_000_000 + m,
      }))
    ),
    maps: modules.map((module, m) => ({
      id: 200 + m,
      name: `${module}_map`,
      type: "percpu_hash",
      module,
      maxEntries: 65_536,
      entries: 1_000 + m,
    })),
    spool: { pending: 0, dropped: 0 },
  };
}

export function podsOf(node: number, seq: number, count: number): PodReport[] {
  return Array.from({ length: count }, (_, p) => {
    const app = APPS[p % APPS.length]!;
    const hash = hex(mix(node, p, 1), 8).slice(0, 5);
    return {
      uid: podUid(node, p),
      namespace: NAMESPACES[p % NAMESPACES.length]!,
      name: `${app}-${hash}-${hex(p, 3)}`,
      labels: { app, "pod-template-hash": hash },
      owner: { kind: "ReplicaSet", name: `${app}-${hash}` },
      ips: [podIp(node, p)],
      hostVeth: podVeth(node, p),
      ifindex: 10 + p,
      netnsIno: 4026532000 + p,
      cgroup: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${
        podUid(node, p).replaceAll("-", "_")
      }.slice`,
      hostNetwork: false,
      rxPackets: seq * (1_000 + p),
      rxBytes: seq * (1_000 + p) * 800,
      txPackets: seq * (900 + p),
      txBytes: seq * (900 + p) * 600,
      drops: seq % 3,
    };
  });
}

/** Pod-to-pod slot `slot`: node j's pod `clientPod` calls node (j + offset)'s pod `serverPod`; the same on both ends. */
function conversation(slot: number, seq: number, nodes: number, pods: number) {
  const epoch = Math.floor((seq + slot) / CHURN_BATCHES);
  const offset = nodes === 1 ? 0 : 1 + (mix(slot, epoch) % Math.min(PEER_SPREAD, nodes - 1));
  const [port, proto] = PORTS[mix(slot, epoch, 2) % PORTS.length]!;
  return { offset, clientPod: slot % pods, serverPod: mix(slot, epoch, 1) % pods, port, proto };
}

/** A conversation's two records as one end sees them: the client's node sends the request (tx) and gets the reply (rx), the server's the reverse. */
function records(
  request: { src: string; dst: string; port: number; proto: number },
  localIsClient: boolean,
  packets: number,
): FlowRecord[] {
  const { src, dst, port, proto } = request;
  const flags = proto === 6 ? 0x1a : 0;
  const fwd = { packets, bytes: packets * 120 }, rev = { packets: packets + 1, bytes: (packets + 1) * 900 };
  return [
    { src, dst, port, proto, toServer: true, obs: localIsClient ? "tx" : "rx", ...fwd, tcpFlags: flags },
    { src: dst, dst: src, port, proto, toServer: false, obs: localIsClient ? "rx" : "tx", ...rev, tcpFlags: flags },
  ];
}

/** Batch `seq` of node `node` (of `nodes`): pods' and interfaces' counters grow with seq; flows, TCP and drops are deltas. */
export function batchFor(
  node: number,
  nodes: number,
  bootId: string,
  seq: number,
  intervalSeconds: number,
  inventory: Inventory,
  shape: NodeShape,
): Batch {
  const pods = podsOf(node, seq, shape.pods);
  const total = Math.floor(shape.flows / 2);
  const [clients, servers] = [Math.round(total * CONVERSATIONS.client), Math.round(total * CONVERSATIONS.server)];
  const flows: FlowRecord[] = [];
  const tcp: TcpRecord[] = [];
  const packets = (slot: number) => 1 + (mix(node, slot, seq) % 500);

  for (let slot = 0; slot < clients; slot++) {
    const c = conversation(slot, seq, nodes, shape.pods);
    const request = {
      src: podIp(node, c.clientPod),
      dst: podIp((node + c.offset) % nodes, c.serverPod),
      port: c.port,
      proto: c.proto,
    };
    flows.push(...records(request, true, packets(slot)));
    if (tcp.length < TCP_RECORDS / 2 && c.proto === 6) {
      tcp.push(tcpRecord(podUid(node, c.clientPod), request.src, request.dst, c.port, "client", seq));
    }
  }
  for (let slot = 0; slot < servers; slot++) {
    const c = conversation(slot, seq, nodes, shape.pods);
    const request = {
      src: podIp((node - c.offset + nodes) % nodes, c.clientPod),
      dst: podIp(node, c.serverPod),
      port: c.port,
      proto: c.proto,
    };
    flows.push(...records(request, false, packets(clients + slot)));
    if (tcp.length < TCP_RECORDS && c.proto === 6) {
      tcp.push(tcpRecord(podUid(node, c.serverPod), request.dst, request.src, c.port, "server", seq));
    }
  }
  for (let slot = 0; slot < total - clients - servers; slot++) {
    // Half the pods call out (e.g. an API on 443), half are called from outside (ingress on 80).
    const epoch = Math.floor((seq + slot) / CHURN_BATCHES);
    const pod = podIp(node, mix(node, slot, epoch) % shape.pods), world = worldIp(mix(slot, epoch, 3));
    const outgoing = slot % 2 === 0;
    const request = outgoing
      ? { src: pod, dst: world, port: 443, proto: 6 }
      : { src: world, dst: pod, port: 80, proto: 6 };
    flows.push(...records(request, outgoing, packets(clients + servers + slot)));
  }

  const drops = dropsOf(node, seq, shape.pods);
  const interfaces = interfacesOf(node, seq, shape.interfaces);
  const monitoring = {
    flowEntries: flows.length,
    flowTableSize: 65_536,
    flowsCreated: seq * (flows.length / CHURN_BATCHES),
    flowsEvicted: 0,
    flowCreateFailed: 0,
    flowRecordsCut: 0,
    tcpRecordsCut: 0,
    dropRecordsCut: 0,
    tcpEvicted: 0,
    dropsOverflow: 0,
  };
  return {
    v: WIRE_VERSION,
    node: nodeName(node),
    bootId,
    seq,
    ts: Date.now(),
    interval: intervalSeconds,
    interfaces,
    inventory,
    pods,
    flows,
    tcp,
    drops,
    monitoring,
  };
}

/** Batch `seq`'s drop records (deltas): a few per batch, of a pod, the node and an interface. */
export function dropsOf(node: number, seq: number, pods: number): DropRecord[] {
  return [
    {
      pod: podUid(node, seq % pods),
      ifname: podVeth(node, seq % pods),
      reason: "TCP_INVALID_SEQUENCE",
      packets: 1 + (seq % 4),
      bytes: 66 * (1 + (seq % 4)),
    },
    { pod: podUid(node, 0), reason: "NETFILTER_DROP", packets: 2, bytes: 120 },
    { ifname: "eth0", reason: "NOT_SPECIFIED", packets: 1 + (seq % 2), bytes: 90 },
  ];
}

/** Batch `seq`'s interface counters: cumulative since the boot, so the latest batch holds the totals. */
export function interfacesOf(node: number, seq: number, count: number): InterfaceCounters[] {
  return Array.from({ length: count }, (_, i) => ({
    ifname: i === 0 ? "eth0" : i === 1 ? "cni0" : podVeth(node, i - 2),
    ifindex: i + 2,
    rxPackets: seq * (1_000 + i),
    rxBytes: seq * (1_000 + i) * 800,
    txPackets: seq * (900 + i),
    txBytes: seq * (900 + i) * 600,
    drops: seq % 3,
  }));
}

/** What the report counts as records: flow, TCP and drop records. */
export function recordsOf(batch: Batch): number {
  return (batch.flows?.length ?? 0) + (batch.tcp?.length ?? 0) + (batch.drops?.length ?? 0);
}

function tcpRecord(
  pod: string,
  local: string,
  remote: string,
  port: number,
  role: "client" | "server",
  seq: number,
): TcpRecord {
  const opened = 1 + (seq % 5);
  return {
    pod,
    local,
    remote,
    port,
    role,
    opened,
    failedRefused: seq % 7 === 0 ? 1 : 0,
    failedTimeout: 0,
    failedOther: 0,
    closed: opened,
    durationMs: opened * 250,
    retransmits: seq % 3,
    resetsRx: 0,
    resetsTx: seq % 11 === 0 ? 1 : 0,
    srttUsSum: opened * 4 * 180,
    srttSamples: opened * 4,
  };
}
