/**
 * Per-interval flow deltas -> the wire's FlowRecords: which side is the
 * server (so ephemeral client ports fold into one record per service port),
 * where the packets were observed (tx/rx at a pod's veth, or a host
 * interface), and a cap on the number of records with a count of what it cut.
 */
import type { FlowRecord } from "../../../control/wire/monitoring.ts";
import { FLOW_DIR_INGRESS, FLOW_FLAG_SYN_ONLY } from "./layout.ts";
import type { FlowDelta } from "./tracker.ts";

/** The connection a packet belongs to, the same from both directions. */
const connId = (d: FlowDelta) => {
  const a = `${d.saddr}|${d.sport}`, b = `${d.daddr}|${d.dport}`;
  return `${d.proto}|${a < b ? `${a}|${b}` : `${b}|${a}`}`;
};

/** Is the destination of this delta the server? A SYN without ACK settles it; otherwise the lower port serves. */
function toServerOf(d: FlowDelta, clientOf: Map<string, string>): boolean {
  const client = clientOf.get(connId(d));
  if (client !== undefined) return client === `${d.saddr}|${d.sport}`;
  return d.dport <= d.sport;
}

export function flowRecords(deltas: FlowDelta[], podVeths: Set<number>, cap: number): { records: FlowRecord[]; cut: number } {
  const clientOf = new Map<string, string>();
  for (const d of deltas) if (d.tcpFlags & FLOW_FLAG_SYN_ONLY) clientOf.set(connId(d), `${d.saddr}|${d.sport}`);
  const byKey = new Map<string, FlowRecord>();
  for (const d of deltas) {
    const toServer = toServerOf(d, clientOf);
    const obs = podVeths.has(d.ifindex) ? (d.dir === FLOW_DIR_INGRESS ? "tx" : "rx") : "host";
    const port = toServer ? d.dport : d.sport;
    const id = `${d.saddr}|${d.daddr}|${port}|${d.proto}|${toServer}|${obs}`;
    const r = byKey.get(id);
    if (r) {
      r.packets += d.packets;
      r.bytes += d.bytes;
      r.tcpFlags |= d.tcpFlags & 0xff;
    } else {
      byKey.set(id, { src: d.saddr, dst: d.daddr, port, proto: d.proto, toServer, obs, packets: d.packets, bytes: d.bytes, tcpFlags: d.tcpFlags & 0xff });
    }
  }
  const all = [...byKey.values()].sort((a, b) => b.bytes - a.bytes);
  return { records: all.slice(0, cap), cut: Math.max(0, all.length - cap) };
}
