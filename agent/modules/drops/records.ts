/**
 * Drop deltas -> the wire's DropRecords: reason named from the kernel's BTF,
 * charged to a pod by its network namespace or by its host-side veth, and to
 * the interface when it is one of this node's. Also what each pod lost, for
 * its cumulative drop count (before the cap: a cut record still counts).
 */
import type { DropRecord } from "../../../control/wire/monitoring.ts";
import type { PodDirectory } from "../../pods/directory.ts";
import { decodeDropKey } from "./layout.ts";

export interface DropContext {
  /** Inode of the node's (agent's) network namespace. */
  nodeNetns: number;
  pods: Pick<PodDirectory, "byNetns" | "byVeth">;
  /** ifindex -> name, in the node netns. */
  ifnames: Map<number, string>;
  /** enum skb_drop_reason value -> name, from the kernel's BTF. */
  reasons: Map<number, string>;
}

export function dropRecords(
  deltas: [Uint8Array, number[]][],
  ctx: DropContext,
  cap: number,
): { records: DropRecord[]; cut: number; podDrops: Map<string, number> } {
  const byKey = new Map<string, DropRecord>();
  const podDrops = new Map<string, number>();
  for (const [k, [packets, bytes]] of deltas) {
    const key = decodeDropKey(k);
    const inNode = key.netnsIno === ctx.nodeNetns;
    const pod = ctx.pods.byNetns(key.netnsIno) ?? (inNode ? ctx.pods.byVeth(key.ifindex) : undefined);
    // Drops in a namespace that is neither this node's nor one of its pods' belong to someone else (another node).
    if (!inNode && !pod) continue;
    const ifname = inNode && key.ifindex ? ctx.ifnames.get(key.ifindex) : undefined;
    const reason = ctx.reasons.get(key.reason) ?? `REASON_${key.reason}`;
    if (pod) podDrops.set(pod, (podDrops.get(pod) ?? 0) + packets);
    const id = `${pod ?? ""}|${ifname ?? ""}|${reason}`;
    const r = byKey.get(id);
    if (r) {
      r.packets += packets;
      r.bytes += bytes;
    } else {
      byKey.set(id, { ...(pod ? { pod } : {}), ...(ifname ? { ifname } : {}), reason, packets, bytes });
    }
  }
  const all = [...byKey.values()].sort((a, b) => b.packets - a.packets);
  return { records: all.slice(0, cap), cut: Math.max(0, all.length - cap), podDrops };
}
