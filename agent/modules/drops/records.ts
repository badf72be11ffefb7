/**
 * Drop deltas -> the wire's DropRecords: reason named from the kernel's BTF,
 * charged to a pod by its network namespace or by its host-side veth, and to
 * the interface when it is one of this node's.
 */
import type { DropRecord } from "../../../control/wire/monitoring.ts";
import { dropReasonName } from "../../btf/enums.ts";
import { decodeDropKey } from "./layout.ts";

export interface DropContext {
  /** Inode of the node's (agent's) network namespace. */
  nodeNetns: number;
  podByNetns: Map<number, string>;
  /** ifindex (in the node netns) of each pod's host veth -> pod uid. */
  podByVeth: Map<number, string>;
  /** ifindex -> name, in the node netns. */
  ifnames: Map<number, string>;
  /** enum skb_drop_reason value -> name, from the kernel's BTF. */
  reasons: Map<number, string>;
}

export function dropRecords(deltas: [Uint8Array, number[]][], ctx: DropContext, cap: number): { records: DropRecord[]; cut: number } {
  const byKey = new Map<string, DropRecord>();
  for (const [k, [packets, bytes]] of deltas) {
    const key = decodeDropKey(k);
    const inNode = key.netnsIno === ctx.nodeNetns;
    const pod = ctx.podByNetns.get(key.netnsIno) ?? (inNode ? ctx.podByVeth.get(key.ifindex) : undefined);
    const ifname = inNode && key.ifindex ? ctx.ifnames.get(key.ifindex) : undefined;
    const raw = ctx.reasons.get(key.reason);
    const reason = raw ? dropReasonName(raw) : `REASON_${key.reason}`;
    // Drops in a namespace that is neither this node's nor one of its pods' belong to someone else (another node).
    if (!inNode && !pod) continue;
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
  return { records: all.slice(0, cap), cut: Math.max(0, all.length - cap) };
}
