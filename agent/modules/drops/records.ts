// SPDX-License-Identifier: Apache-2.0
/**
 * Drop deltas -> the wire's DropRecords: reason named from the kernel's BTF,
 * charged to a pod by its network namespace or by its host-side veth, to
 * the interface when it is one of this node's, and to the service the
 * packet was addressed to (or came from) when the drop program matched one. Also what each pod lost, for
 * its cumulative drop count. Over the cap, the smallest are summed into
 * "other" records (reason OTHER_DROP_REASON) per pod (or, for the node's own,
 * per interface), then into one for the node.
 */
import { type DropRecord, OTHER_DROP_REASON } from "../../../control/wire/monitoring.ts";
import type { PodDirectory } from "../../pods/directory.ts";
import { sumOverCap } from "../common/sum_over_cap.ts";
import { decodeDropKey } from "./layout.ts";

export interface DropContext {
  /** Inode of the node's (agent's) network namespace. */
  nodeNetns: number;
  pods: Pick<PodDirectory, "byNetns" | "byVeth">;
  /** ifindex -> name, in the node netns. */
  ifnames: Map<number, string>;
  /** enum skb_drop_reason value -> name, from the kernel's BTF. */
  reasons: Map<number, string>;
  /** lb service id -> "namespace/name" (endpoints.ts); an id it lacks is reported without a service. */
  services: Map<number, string>;
}

/** The fewest records a cap must allow: the node's one "other" record. */
export const MIN_DROP_RECORDS = 1;

export function dropRecords(
  deltas: [Uint8Array, number[]][],
  ctx: DropContext,
  cap: number,
): { records: DropRecord[]; keysSummed: number; podDrops: Map<string, number> } {
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
    const service = key.service ? ctx.services.get(key.service) : undefined;
    if (pod) podDrops.set(pod, (podDrops.get(pod) ?? 0) + packets);
    const id = `${pod ?? ""}|${ifname ?? ""}|${reason}|${service ?? ""}`;
    const r = byKey.get(id);
    if (r) {
      r.packets += packets;
      r.bytes += bytes;
    } else {
      byKey.set(id, {
        ...(pod ? { pod } : {}),
        ...(ifname ? { ifname } : {}),
        reason,
        packets,
        bytes,
        ...(service ? { service } : {}),
      });
    }
  }
  const all = [...byKey.values()].sort((a, b) => b.packets - a.packets);
  const own = (r: DropRecord) => (r.pod ? { pod: r.pod } : r.ifname ? { ifname: r.ifname } : {});
  const summed = sumOverCap<DropRecord>({
    order: all.map((_, i) => i),
    cap,
    levels: [(i) => `${all[i].pod ?? ""}|${all[i].pod ? "" : all[i].ifname ?? ""}`, () => ""],
    record: (i) => all[i],
    other: (level, i) => ({
      ...(level === 0 ? own(all[i]) : {}),
      reason: OTHER_DROP_REASON,
      packets: all[i].packets,
      bytes: all[i].bytes,
    }),
    add(o, i) {
      o.packets += all[i].packets;
      o.bytes += all[i].bytes;
    },
    weight: (r) => r.packets,
  });
  return { ...summed, podDrops };
}
