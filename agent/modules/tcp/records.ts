// SPDX-License-Identifier: Apache-2.0
/**
 * TCP stats deltas -> the wire's TcpRecords, charged to the local pod by its
 * network namespace (or, where the pod source does not know namespaces, by
 * its IP: the namespace is then learned for drops). The tracepoints see
 * every namespace of the machine: sockets of neither this node's namespace
 * nor one of its pods belong to someone else (another lab node) and are left
 * out. Over the cap, the least important are summed into "other" records per
 * local pod (or local address) and role, then into one for the node.
 */
import {
  addTcpCounters,
  isEmptyTcp,
  OTHER_PEER,
  type TcpRecord,
  zeroTcpCounters,
} from "../../../control/wire/monitoring.ts";
import type { PodDirectory } from "../../pods/directory.ts";
import { sumOverCap } from "../common/sum_over_cap.ts";
import { decodeTcpKey, TCP_STATS_FIELDS } from "./layout.ts";

/** The fewest records a cap must allow: the node's one "other" record. */
export const MIN_TCP_RECORDS = 1;

export function tcpRecords(
  deltas: [Uint8Array, number[]][],
  ctx: { nodeNetns: number; pods: PodDirectory },
  cap: number,
): { records: TcpRecord[]; keysSummed: number } {
  const all: TcpRecord[] = [];
  for (const [k, v] of deltas) {
    const key = decodeTcpKey(k);
    let pod = ctx.pods.byNetns(key.netnsIno);
    if (!pod && key.netnsIno !== ctx.nodeNetns) {
      pod = ctx.pods.byIp(key.laddr);
      if (!pod) continue;
      ctx.pods.learnNetns(pod, key.netnsIno);
    }
    const f = Object.fromEntries(TCP_STATS_FIELDS.map((name, i) => [name, v[i]])) as Record<
      (typeof TCP_STATS_FIELDS)[number],
      number
    >;
    const record: TcpRecord = {
      ...(pod ? { pod } : {}),
      local: key.laddr,
      remote: key.raddr,
      port: key.port,
      role: key.role,
      opened: f.opened,
      failedRefused: f.failed_refused,
      failedTimeout: f.failed_timeout,
      failedOther: f.failed_other,
      closed: f.closed,
      durationMs: Math.round(f.duration_ns / 1e6),
      retransmits: f.retransmits,
      resetsRx: f.resets_rx,
      resetsTx: f.resets_tx,
      srttUsSum: f.srtt_us_sum,
      srttSamples: f.srtt_samples,
    };
    // A delta of less than half a millisecond of duration alone (the program adds a closed connection's
    // lifetime apart from counting it closed, so a read can fall in between) rounds to a record of zeros:
    // it says nothing, and is not sent.
    if (!isEmptyTcp(record)) all.push(record);
  }
  // Keep what matters most when capped: failures and retransmits first, then activity.
  const weight = (r: TcpRecord) =>
    (r.failedRefused + r.failedTimeout + r.failedOther + r.retransmits + r.resetsRx + r.resetsTx) * 1e6 + r.opened +
    r.closed;
  all.sort((a, b) => weight(b) - weight(a));
  return sumOverCap<TcpRecord>({
    order: all.map((_, i) => i),
    cap,
    levels: [(i) => `${all[i].pod ?? ""}|${all[i].pod ? "" : all[i].local}|${all[i].role}`, () => ""],
    record: (i) => all[i],
    other: (level, i) => {
      const r = all[i];
      const own = level === 0
        ? { ...(r.pod ? { pod: r.pod } : {}), local: r.local, role: r.role }
        : { local: OTHER_PEER, role: "unknown" as const };
      const o: TcpRecord = { ...own, remote: OTHER_PEER, port: 0, ...zeroTcpCounters() };
      addTcpCounters(o, r);
      return o;
    },
    add: (o, i) => addTcpCounters(o, all[i]),
    weight,
  });
}
