// SPDX-License-Identifier: Apache-2.0
/**
 * Read models of nodes and their interfaces, shared by the JSON API and the
 * pages so both always show the same numbers.
 */
import { asc, count, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { type InterfaceRow, interfaces, nodeInventories, nodeMonitoring, type NodeRow, nodes } from "../db/schema.ts";
import { desiredStateOf, overridesOf } from "../registry/desired-state.ts";
import type { DesiredState, Inventory } from "../wire/batch.ts";
import type { MonitoringStats } from "../wire/monitoring.ts";
import { type ModuleView, moduleViews } from "./modules.ts";
import { type NodeStatus, nodeStatus, type StatusThresholds } from "./node-status.ts";
import { isoOrNull } from "./time.ts";

export interface NodeSummary {
  name: string;
  status: NodeStatus;
  /** When the control plane last accepted a batch from this node (its own clock). */
  lastSeen: string;
  lastSeenAgoSeconds: number;
  bootId: string;
  /** How many interfaces the current boot reports. */
  interfaces: number;
  /** From the latest inventory; null until the agent sends one. */
  agentVersion: string | null;
  kernel: string | null;
}

export interface InterfaceState {
  ifname: string;
  ifindex: number;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
  rxPacketsPerSec: number | null;
  rxBytesPerSec: number | null;
  txPacketsPerSec: number | null;
  txBytesPerSec: number | null;
  updatedAt: string;
}

export interface NodeOverview extends NodeSummary {
  interfaceStates: InterfaceState[];
}

/** Everything known about one node: GET /api/v1/nodes/:node and the node page. */
export interface NodeDetail extends NodeOverview {
  inventory: Inventory | null;
  /** When the control plane received that inventory. */
  inventoryReceivedAt: string | null;
  desired: DesiredState;
  modules: ModuleView[];
  monitoring: NodeMonitoring;
}

/** The node's monitoring counters: its agent's (latest batch) and what the control plane cut or set aside (cumulative). */
export interface NodeMonitoring {
  /** From the latest batch of the current boot that carried them; null until one does. */
  agent: MonitoringStats | null;
  /** Distinct keys folded into the node's "other" rows by the cardinality caps. */
  flowKeysCut: number;
  tcpKeysCut: number;
  dropKeysCut: number;
  /** DNS (pod, name) and (pod, server, port) keys summed into the node's "other" DNS rows by the control plane's caps. */
  dnsNameKeysCut: number;
  dnsServerKeysCut: number;
  /** Flow records not stored because another observation of the same packets was. */
  flowDuplicates: number;
}

/** The node's identity columns from the latest inventory, joined wherever nodes are listed. */
export const inventoryColumns = { agentVersion: nodeInventories.agentVersion, kernel: nodeInventories.kernel };
export type InventoryColumns = { agentVersion: string | null; kernel: string | null } | null;

export async function listNodes(db: Db, now: number, thresholds: StatusThresholds): Promise<NodeSummary[]> {
  const rows = await db
    .select({ node: nodes, interfaceCount: count(interfaces.ifname), inventory: inventoryColumns })
    .from(nodes)
    .leftJoin(interfaces, eq(interfaces.node, nodes.name))
    .leftJoin(nodeInventories, eq(nodeInventories.node, nodes.name))
    .groupBy(nodes.name)
    .orderBy(asc(nodes.name));
  return rows.map(({ node, interfaceCount, inventory }) =>
    toNodeSummary(node, inventory, interfaceCount, now, thresholds)
  );
}

/** Undefined when the node has never reported a batch (it may still have joined or been switched). */
export async function nodeDetail(
  db: Db,
  name: string,
  now: number,
  thresholds: StatusThresholds,
): Promise<NodeDetail | undefined> {
  const [row, interfaceStates, desired, overrides, monitoring] = await Promise.all([
    db
      .select({ node: nodes, inventory: nodeInventories })
      .from(nodes)
      .leftJoin(nodeInventories, eq(nodeInventories.node, nodes.name))
      .where(eq(nodes.name, name))
      .get(),
    listInterfaces(db, name),
    desiredStateOf(db, name),
    overridesOf(db, name),
    nodeMonitoringOf(db, name),
  ]);
  if (row === undefined || interfaceStates === undefined) return undefined;
  const inventory = row.inventory?.inventory ?? null;
  return {
    ...toNodeSummary(row.node, row.inventory, interfaceStates.length, now, thresholds),
    interfaceStates,
    inventory,
    inventoryReceivedAt: isoOrNull(row.inventory?.receivedAt ?? null),
    desired,
    modules: moduleViews(desired, overrides, inventory),
    monitoring,
  };
}

/** Zeros and null when the node never sent monitoring data. */
export async function nodeMonitoringOf(db: Db, name: string): Promise<NodeMonitoring> {
  const row = await db.select().from(nodeMonitoring).where(eq(nodeMonitoring.node, name)).get();
  return {
    agent: row?.agent == null ? null : (JSON.parse(row.agent) as MonitoringStats),
    flowKeysCut: row?.flowKeysCut ?? 0,
    tcpKeysCut: row?.tcpKeysCut ?? 0,
    dropKeysCut: row?.dropKeysCut ?? 0,
    dnsNameKeysCut: row?.dnsNameKeysCut ?? 0,
    dnsServerKeysCut: row?.dnsServerKeysCut ?? 0,
    flowDuplicates: row?.flowDuplicates ?? 0,
  };
}

/** Whether the node ever reported a batch. */
export async function nodeKnown(db: Db, name: string): Promise<boolean> {
  return (await db.select({ name: nodes.name }).from(nodes).where(eq(nodes.name, name)).get()) !== undefined;
}

/** Undefined when the node has never reported (as opposed to reporting no interfaces). */
export async function listInterfaces(db: Db, node: string): Promise<InterfaceState[] | undefined> {
  if (!(await nodeKnown(db, node))) return undefined;
  const rows = await db.select().from(interfaces).where(eq(interfaces.node, node)).orderBy(asc(interfaces.ifname));
  return rows.map(toInterfaceState);
}

export function toNodeSummary(
  node: Pick<NodeRow, "name" | "bootId" | "lastSeen">,
  inventory: InventoryColumns,
  interfaceCount: number,
  now: number,
  thresholds: StatusThresholds,
): NodeSummary {
  return {
    name: node.name,
    status: nodeStatus(node.lastSeen, now, thresholds),
    lastSeen: new Date(node.lastSeen).toISOString(),
    lastSeenAgoSeconds: Math.max(0, Math.floor((now - node.lastSeen) / 1000)),
    bootId: node.bootId,
    interfaces: interfaceCount,
    agentVersion: inventory?.agentVersion ?? null,
    kernel: inventory?.kernel ?? null,
  };
}

function toInterfaceState(row: InterfaceRow): InterfaceState {
  return {
    ifname: row.ifname,
    ifindex: row.ifindex,
    rxPackets: row.rxPackets,
    rxBytes: row.rxBytes,
    txPackets: row.txPackets,
    txBytes: row.txBytes,
    drops: row.drops,
    rxPacketsPerSec: row.rxPacketsPerSec,
    rxBytesPerSec: row.rxBytesPerSec,
    txPacketsPerSec: row.txPacketsPerSec,
    txBytesPerSec: row.txBytesPerSec,
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
