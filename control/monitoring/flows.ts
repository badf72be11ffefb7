// SPDX-License-Identifier: Apache-2.0
/**
 * Flow records of one interval → statistics rows, each packet counted once.
 *
 * De-duplication (per record, so each node's batch can be handled on its
 * own, as it arrives). Let "pod" mean an IP the PodIndex knows as a pod:
 *
 *  - "tx" (counted leaving a pod of the reporting node): always kept. It is
 *    the sender's own observation, the only one made for every packet a pod
 *    sends, whatever the receiver is.
 *  - "rx" (counted entering a pod of the reporting node): kept only when the
 *    sender `src` is not a pod. When it is, the sender's node counted the
 *    same packet as "tx" (same node or another).
 *  - "host" (counted on a host interface): kept only when `src` is not a pod
 *    (else: its "tx") and `dst` is not a pod (else: that pod's "rx", kept by
 *    the rule above when src is not a pod). What remains is traffic between
 *    non-pod addresses, e.g. the node itself talking to the world.
 *
 * Replies are records like any other: their sender is the server, so a
 * reply from pod B to pod A is kept as B's "tx" and A's "rx" is dropped.
 *
 * Records an agent's cap summed (wire OTHER_PEER) keep their own end and
 * name "other" at the far one; a sender OTHER_POD_PEER stands for pods of
 * the reporting node, so such an "rx" or "host" record is set aside like one
 * from a pod. Limit: the agent cannot tell a pod of another node from the
 * world, so packets from one into a pod whose node summed their "rx" count
 * twice (its sender's "tx" and that "other").
 *
 * Limits (by construction of the rules, documented rather than guessed
 * around): traffic between two nodes' own addresses seen on both nodes' host
 * interfaces is counted by each; a pod whose node runs without the flows
 * module is still a pod, so packets it sends are not counted at all.
 *
 * Aggregation: per (reporting node, client, server, service port, protocol),
 * with client = the src of a toServer record (the dst of a reply), packets
 * and bytes per direction (forward = toServer, reverse = replies) and the OR
 * of the TCP flags, and the service the client addressed (by the server's
 * address and port: a VIP, or a backend of a service). The agent already
 * folds ephemeral client ports into the service port. The reporting node stays in the key so caps apply per node
 * (cardinality.ts); queries sum over nodes.
 */
import { type FlowRecord, OTHER_POD_PEER } from "../wire/monitoring.ts";
import {
  endpointKey,
  type PodIndex,
  resolveStored,
  type ServiceEndpoint,
  serviceKey,
  serviceOf,
  type StoredEndpoint,
} from "./attribution.ts";
import { mergeRows, type RowOps } from "./rows.ts";

/** A record with the node whose batch carried it. */
export interface NodeFlow {
  node: string;
  record: FlowRecord;
}

/** Counters of a flow statistics row: what rollups sum. */
export interface FlowCounters {
  fwdPackets: number;
  fwdBytes: number;
  revPackets: number;
  revBytes: number;
  tcpFlags: number;
}

export interface FlowRow extends FlowCounters {
  /** The node whose batch reported the packets. */
  node: string;
  client: StoredEndpoint;
  server: StoredEndpoint;
  port: number;
  proto: number;
  /** The service the client addressed (PodIndex.service): the server itself when it is a VIP, else the backend's. */
  service?: ServiceEndpoint;
}

/** Whether this record is the one observation of its packets to keep (the rules above). */
export function keepFlow(r: FlowRecord, index: PodIndex): boolean {
  if (r.obs === "tx") return true;
  if (r.src === OTHER_POD_PEER || index.pod(r.src)) return false;
  if (r.obs === "rx") return true;
  return index.pod(r.dst) === undefined;
}

export interface DedupResult {
  kept: NodeFlow[];
  /** Records left out because another observation of the same packets is kept. */
  duplicates: number;
}

export function dedupFlows(flows: readonly NodeFlow[], index: PodIndex): DedupResult {
  const kept = flows.filter((f) => keepFlow(f.record, index));
  return { kept, duplicates: flows.length - kept.length };
}

/** The key of a row: node, client, server, port, protocol, service. */
export function flowRowKey(r: Pick<FlowRow, "node" | "client" | "server" | "port" | "proto" | "service">): string {
  return `${r.node}|${endpointKey(r.client)}|${endpointKey(r.server)}|${r.port}|${r.proto}|${serviceKey(r.service)}`;
}

/** Adds b's counters into a (in place); returns a. */
export function addFlowCounters<T extends FlowCounters>(a: T, b: FlowCounters): T {
  a.fwdPackets += b.fwdPackets;
  a.fwdBytes += b.fwdBytes;
  a.revPackets += b.revPackets;
  a.revBytes += b.revBytes;
  a.tcpFlags |= b.tcpFlags;
  return a;
}

/**
 * Aggregates kept records (run dedupFlows first, or pass `dedup: true`).
 * The server side resolves with the port, so a service VIP names the service;
 * the client side is a pod or an IP. Rows come sorted by key.
 */
export function aggregateFlows(flows: readonly NodeFlow[], index: PodIndex, opts: { dedup?: boolean } = {}): FlowRow[] {
  const input = opts.dedup ? dedupFlows(flows, index).kept : flows;
  return mergeRows(
    input.map(({ node, record: r }): FlowRow => ({
      node,
      client: resolveStored(index, r.toServer ? r.src : r.dst),
      server: resolveStored(index, r.toServer ? r.dst : r.src, r.port, r.proto),
      port: r.port,
      proto: r.proto,
      service: serviceOf(index, r.toServer ? r.dst : r.src, r.port, r.proto),
      fwdPackets: r.toServer ? r.packets : 0,
      fwdBytes: r.toServer ? r.bytes : 0,
      revPackets: r.toServer ? 0 : r.packets,
      revBytes: r.toServer ? 0 : r.bytes,
      tcpFlags: r.tcpFlags,
    })),
    FLOW_ROWS,
  );
}

/** How rollups and caps handle flow rows. */
export const FLOW_ROWS: RowOps<FlowRow> = {
  key: flowRowKey,
  add: addFlowCounters,
  weight: (r) => r.fwdBytes + r.revBytes,
};
