/**
 * Read models of nodes and their interfaces, shared by the JSON API and the
 * pages so both always show the same numbers.
 */
import { asc, count, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { interfaces, nodes, type InterfaceRow, type NodeRow } from "../db/schema.ts";

export interface NodeSummary {
  name: string;
  /** When the control plane last accepted a batch from this node (its own clock). */
  lastSeen: string;
  lastSeenAgoSeconds: number;
  bootId: string;
  /** How many interfaces the current boot reports. */
  interfaces: number;
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

export async function listNodes(db: Db, now: number): Promise<NodeSummary[]> {
  const rows = await db
    .select({ node: nodes, interfaceCount: count(interfaces.ifname) })
    .from(nodes)
    .leftJoin(interfaces, eq(interfaces.node, nodes.name))
    .groupBy(nodes.name)
    .orderBy(asc(nodes.name));
  return rows.map(({ node, interfaceCount }) => toNodeSummary(node, interfaceCount, now));
}

/** Undefined when the node has never reported (as opposed to reporting no interfaces). */
export async function listInterfaces(db: Db, node: string): Promise<InterfaceState[] | undefined> {
  const known = await db.select({ name: nodes.name }).from(nodes).where(eq(nodes.name, node)).get();
  if (known === undefined) return undefined;
  const rows = await db.select().from(interfaces).where(eq(interfaces.node, node)).orderBy(asc(interfaces.ifname));
  return rows.map(toInterfaceState);
}

/** Every node with its interfaces, in two queries whatever the number of nodes. */
export async function listOverview(db: Db, now: number): Promise<NodeOverview[]> {
  const [nodeRows, interfaceRows] = await Promise.all([
    db.select().from(nodes).orderBy(asc(nodes.name)),
    db.select().from(interfaces).orderBy(asc(interfaces.node), asc(interfaces.ifname)),
  ]);
  // (Map.groupBy would do, but Node 20 lacks it.)
  const byNode = new Map<string, InterfaceState[]>();
  for (const row of interfaceRows) {
    const states = byNode.get(row.node) ?? [];
    states.push(toInterfaceState(row));
    byNode.set(row.node, states);
  }
  return nodeRows.map((node) => {
    const states = byNode.get(node.name) ?? [];
    return { ...toNodeSummary(node, states.length, now), interfaceStates: states };
  });
}

function toNodeSummary(node: NodeRow, interfaceCount: number, now: number): NodeSummary {
  return {
    name: node.name,
    lastSeen: new Date(node.lastSeen).toISOString(),
    lastSeenAgoSeconds: Math.max(0, Math.floor((now - node.lastSeen) / 1000)),
    bootId: node.bootId,
    interfaces: interfaceCount,
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
