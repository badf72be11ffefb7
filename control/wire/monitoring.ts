// SPDX-License-Identifier: Apache-2.0
/**
 * The data-monitoring part of a batch: pods with their RX/TX, flows, TCP
 * health and drops. Pods carry cumulative counters (like interfaces); flows,
 * TCP and drop records are deltas over the batch's interval, which the
 * control plane stores exactly once thanks to (node, bootId, seq).
 */
import { z } from "zod";
import { PodInfo } from "./pods.ts";
import { DnsMonitoringStats } from "./dns.ts";
import { Counter, Ip, Port, ServiceName } from "./scalars.ts";

/**
 * Caps per batch: agent memory and control-plane cardinality are bounded by settings. Records over an agent's
 * cap are summed into "other" records (below), never dropped; how many keys went into them is counted.
 */
export const MAX_FLOW_RECORDS = 5000;
export const MAX_TCP_RECORDS = 5000;
export const MAX_DROP_RECORDS = 2000;
export const MAX_PODS = 1000;

/**
 * "Other" records: what a record cap summed, in the schema every version reads. An agent with more records than
 * its cap keeps the biggest and sums the rest per pod into records whose far end is a reserved address, with
 * port 0 and protocol 0 (a TcpRecord: remote OTHER_PEER, port 0; a DropRecord: reason OTHER_DROP_REASON); past
 * a pod's worth, per node (both ends reserved). The control plane stores them as its own "other" endpoint, so
 * totals per pod and per node stay exact, and sums its own excess into the same node "other" keys.
 *
 * 0.0.0.0/8 is "this network" (RFC 1122): never the address of a peer a packet is counted for.
 */
export const OTHER_PEER = "0.0.0.0";
/**
 * The sender end of summed "rx" (and "host") flow records whose senders were pods of the reporting node: their
 * packets are also in those pods' own "tx" records, so the control plane sets them aside like any record sent
 * by a pod (see FlowRecord), instead of counting them twice.
 */
export const OTHER_POD_PEER = "0.0.0.1";
/** Kernel drop reasons are upper-case names: this one cannot clash. */
export const OTHER_DROP_REASON = "(other)";

/** Whether an address in a record is one of the reserved "other" ends. */
export function isOtherPeer(ip: string): boolean {
  return ip === OTHER_PEER || ip === OTHER_POD_PEER;
}

/** A pod with its traffic, from the pod's point of view (RX: what it received), cumulative for the batch's boot. */
export const PodReport = PodInfo.extend({
  rxPackets: Counter,
  rxBytes: Counter,
  txPackets: Counter,
  txBytes: Counter,
  drops: Counter,
});
export type PodReport = z.infer<typeof PodReport>;

/**
 * One direction of a flow over one interval. `port` is the service port: the
 * server's. `obs` says where it was counted: "tx" leaving a pod of this node
 * (host-veth ingress), "rx" entering one (host-veth egress), "host" on a host
 * interface. A packet between two pods is seen twice (tx at the sender, rx at
 * the receiver); the control plane keeps the sender's "tx" and uses "rx" and
 * "host" only for traffic whose sender is not a pod, so nothing is counted twice.
 */
export const FlowRecord = z.strictObject({
  src: Ip,
  dst: Ip,
  port: Port,
  proto: z.number().int().min(0).max(255),
  /** true: client to server (src is the client); false: the server's replies. */
  toServer: z.boolean(),
  obs: z.enum(["tx", "rx", "host"]),
  packets: Counter,
  bytes: Counter,
  /** OR of the TCP flags seen (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128). */
  tcpFlags: z.number().int().min(0).max(255),
});
export type FlowRecord = z.infer<typeof FlowRecord>;

/** TCP health per (local pod, remote endpoint, service port, role) over one interval. */
export const TcpRecord = z.strictObject({
  /** uid of the local pod; absent for the node's own (host network) sockets. */
  pod: z.string().max(64).optional(),
  local: Ip,
  remote: Ip,
  port: Port,
  role: z.enum(["client", "server", "unknown"]),
  opened: Counter,
  failedRefused: Counter,
  failedTimeout: Counter,
  failedOther: Counter,
  closed: Counter,
  /** Sum of the closed connections' lifetimes. */
  durationMs: Counter,
  retransmits: Counter,
  resetsRx: Counter,
  resetsTx: Counter,
  /** Smoothed RTT samples: sum and count, so averages over any window stay exact. */
  srttUsSum: Counter,
  srttSamples: Counter,
});
export type TcpRecord = z.infer<typeof TcpRecord>;

/** The counters of a TcpRecord: what sums of records (the agent's and the control plane's "other") add up. */
export const TCP_COUNTERS = [
  "opened",
  "failedRefused",
  "failedTimeout",
  "failedOther",
  "closed",
  "durationMs",
  "retransmits",
  "resetsRx",
  "resetsTx",
  "srttUsSum",
  "srttSamples",
] as const satisfies readonly (keyof TcpRecord)[];
export type TcpCounters = Record<(typeof TCP_COUNTERS)[number], number>;

const ZERO_TCP_COUNTERS: Readonly<TcpCounters> = Object.freeze(
  Object.fromEntries(TCP_COUNTERS.map((k) => [k, 0])) as TcpCounters,
);

/** A fresh set of zeros (a copy of one template: the control plane makes one per TCP record it stores). */
export function zeroTcpCounters(): TcpCounters {
  return { ...ZERO_TCP_COUNTERS };
}

/** Adds b's counters into a (in place); returns a. */
export function addTcpCounters<T extends TcpCounters>(a: T, b: TcpCounters): T {
  for (const k of TCP_COUNTERS) a[k] += b[k];
  return a;
}

/** Whether every counter is 0: a record that says nothing (agents leave them out; the control plane too, for older agents). */
export function isEmptyTcp(c: TcpCounters): boolean {
  return TCP_COUNTERS.every((k) => c[k] === 0);
}

/** Drops over one interval, with the kernel's reason (enum skb_drop_reason, named from the kernel's BTF). */
export const DropRecord = z.strictObject({
  pod: z.string().max(64).optional(),
  ifname: z.string().max(15).optional(),
  reason: z.string().min(1).max(64),
  packets: Counter,
  bytes: Counter,
  /**
   * The service the dropped packets were addressed to or came from (wire version 5): the agent's drop program
   * matches their address and port against the services' frontends and backends. Absent: none, or an older agent.
   */
  service: ServiceName.optional(),
});
export type DropRecord = z.infer<typeof DropRecord>;

/** Table fill, what caps summed and what a batch left out: never silent. */
export const MonitoringStats = z.strictObject({
  flowEntries: Counter,
  flowTableSize: Counter,
  flowsCreated: Counter,
  flowsEvicted: Counter,
  flowCreateFailed: Counter,
  /**
   * Records left out of a batch (cumulative per boot): since the caps sum (…KeysSummed), only those a batch too
   * big for MAX_BATCH_BYTES had to leave out; agents before that counted the caps' cuts here too.
   */
  flowRecordsCut: Counter,
  tcpRecordsCut: Counter,
  dropRecordsCut: Counter,
  /** Keys (records) the caps summed into "other" records, cumulative per boot; optional (agents before lack it). */
  flowKeysSummed: Counter.optional(),
  tcpKeysSummed: Counter.optional(),
  dropKeysSummed: Counter.optional(),
  /** Entries the TCP stats table (an LRU) evicted, cumulative per boot; optional (added by the agent side of issue 4). */
  tcpEvicted: Counter.optional(),
  /** Drops that did not fit the drops table (counted, not attributed), cumulative per boot; optional (likewise). */
  dropsOverflow: Counter.optional(),
  /** The dns module's tables (wire version 6, dns.ts). */
  ...DnsMonitoringStats,
});
export type MonitoringStats = z.infer<typeof MonitoringStats>;

/** Optional members of Batch. */
export const MonitoringFields = {
  pods: z.array(PodReport).max(MAX_PODS).optional(),
  flows: z.array(FlowRecord).max(MAX_FLOW_RECORDS).optional(),
  tcp: z.array(TcpRecord).max(MAX_TCP_RECORDS).optional(),
  drops: z.array(DropRecord).max(MAX_DROP_RECORDS).optional(),
  monitoring: MonitoringStats.optional(),
};
