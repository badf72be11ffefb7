// SPDX-License-Identifier: Apache-2.0
/**
 * Per-interval flow deltas -> the wire's FlowRecords: which side is the
 * server (so ephemeral client ports fold into one record per service port),
 * where the packets were observed (tx/rx at a pod's veth, or a host
 * interface), and a cap on the number of records: what does not fit is summed
 * into "other" records per pod (then per node), so totals stay exact.
 *
 * A busy table changes whole every interval (tens of thousands of entries):
 * deltas and the records they fold into are kept in columns, and objects are
 * made only for the records that go into the batch. Objects made for every
 * entry would outlive the young generation and grow the agent's heap.
 */
import { type FlowRecord, OTHER_PEER, OTHER_POD_PEER } from "../../../control/wire/monitoring.ts";
import { grown } from "../common/delta.ts";
import { sumOverCap } from "../common/sum_over_cap.ts";
import {
  decodeFlowKeyInto,
  encodeFlowKey,
  FLOW_DIR_INGRESS,
  FLOW_FLAG_SYN_ONLY,
  FLOW_KEY_SIZE,
  type FlowKey,
} from "./layout.ts";

/** What one flow-table entry counted over the interval. */
export interface FlowDelta extends FlowKey {
  packets: number;
  bytes: number;
  /** OR of the TCP flags seen (and FLOW_FLAG_SYN_ONLY) over the entry's life. */
  tcpFlags: number;
}

/** An interval's flow deltas, in columns (reused from one interval to the next). */
export class FlowDeltas {
  #keys = new Uint8Array(FLOW_KEY_SIZE * 256);
  #packets = new Float64Array(256);
  #bytes = new Float64Array(256);
  #flags = new Uint16Array(256);
  length = 0;

  static of(list: FlowDelta[]): FlowDeltas {
    const d = new FlowDeltas();
    for (const x of list) d.add(encodeFlowKey(x), x.packets, x.bytes, x.tcpFlags);
    return d;
  }

  clear(): void {
    this.length = 0;
  }

  /** `key` may be a view into a reused buffer: it is copied. */
  add(key: Uint8Array, packets: number, bytes: number, tcpFlags: number): void {
    const i = this.length++;
    if (i >= this.#packets.length) this.#grow();
    this.#keys.set(key, i * FLOW_KEY_SIZE);
    this.#packets[i] = packets;
    this.#bytes[i] = bytes;
    this.#flags[i] = tcpFlags & 0x1ff; // the 8 TCP flags and FLOW_FLAG_SYN_ONLY
  }

  /** Delta i decoded into `d` (a scratch object: no allocation per entry). */
  get(i: number, d: FlowDelta): FlowDelta {
    decodeFlowKeyInto(this.#keys.subarray(i * FLOW_KEY_SIZE, (i + 1) * FLOW_KEY_SIZE), d);
    d.packets = this.#packets[i];
    d.bytes = this.#bytes[i];
    d.tcpFlags = this.#flags[i];
    return d;
  }

  #grow(): void {
    const n = this.#packets.length * 2;
    this.#keys = grown(this.#keys, n * FLOW_KEY_SIZE);
    this.#packets = grown(this.#packets, n);
    this.#bytes = grown(this.#bytes, n);
    this.#flags = grown(this.#flags, n);
  }
}

export const scratchDelta = (): FlowDelta => ({
  saddr: "",
  daddr: "",
  sport: 0,
  dport: 0,
  proto: 0,
  dir: 0,
  ifindex: 0,
  packets: 0,
  bytes: 0,
  tcpFlags: 0,
});

/** The connection a packet belongs to, the same from both directions. */
const connId = (d: FlowDelta) => {
  const a = `${d.saddr}|${d.sport}`, b = `${d.daddr}|${d.dport}`;
  return `${d.proto}|${a < b ? `${a}|${b}` : `${b}|${a}`}`;
};

/** Is the destination of this delta the server? A SYN without ACK settles it; otherwise the lower port serves. */
function toServerOf(d: FlowDelta, clientOf: Map<string, string>): boolean {
  const client = clientOf.size ? clientOf.get(connId(d)) : undefined;
  if (client !== undefined) return client === `${d.saddr}|${d.sport}`;
  return d.dport <= d.sport;
}

const OBS = ["tx", "rx", "host"] as const;
const TX = 0, RX = 1, HOST = 2;

/**
 * The fewest records a cap must allow: the per-node "other" records, at most
 * 2 (toServer) for "tx" + 2 × 2 (sender a pod of the node or not) for "rx"
 * and as many for "host".
 */
export const MIN_FLOW_RECORDS = 10;

const NO_PODS = () => false;

/**
 * Records of the interval, at most `cap`; the rest summed (keysSummed: how
 * many). `isPodIp`: an address of a pod of this node. Summed per pod, a
 * record's own end stays (the sender of a "tx", the receiver of an "rx") and
 * the far end becomes OTHER_PEER, or OTHER_POD_PEER for senders that are
 * pods of this node: the control plane keeps only the sender's observation
 * of pod-to-pod packets and must be able to tell. "host" records are summed
 * per node only (they belong to no pod).
 */
export function flowRecords(
  deltas: FlowDeltas,
  podVeths: Set<number>,
  cap: number,
  isPodIp: (ip: string) => boolean = NO_PODS,
): { records: FlowRecord[]; keysSummed: number } {
  const d = scratchDelta();
  const clientOf = new Map<string, string>();
  for (let i = 0; i < deltas.length; i++) {
    if (deltas.get(i, d).tcpFlags & FLOW_FLAG_SYN_ONLY) clientOf.set(connId(d), `${d.saddr}|${d.sport}`);
  }
  // records by id, in columns
  const index = new Map<string, number>();
  const src: string[] = [], dst: string[] = [];
  const n = deltas.length;
  const port = new Uint16Array(n),
    proto = new Uint8Array(n),
    toServer = new Uint8Array(n),
    obs = new Uint8Array(n),
    flags = new Uint8Array(n);
  const packets = new Float64Array(n), bytes = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    deltas.get(i, d);
    const server = toServerOf(d, clientOf);
    const o = podVeths.has(d.ifindex) ? (d.dir === FLOW_DIR_INGRESS ? TX : RX) : HOST;
    const p = server ? d.dport : d.sport;
    const id = `${d.saddr}|${d.daddr}|${p}|${d.proto}|${server ? 1 : 0}|${o}`;
    let r = index.get(id);
    if (r === undefined) {
      r = index.size;
      index.set(id, r);
      src[r] = d.saddr;
      dst[r] = d.daddr;
      port[r] = p;
      proto[r] = d.proto;
      toServer[r] = server ? 1 : 0;
      obs[r] = o;
    }
    packets[r] += d.packets;
    bytes[r] += d.bytes;
    flags[r] |= d.tcpFlags & 0xff;
  }
  const podIp = new Map<string, boolean>();
  const isPod = (ip: string) => {
    let v = podIp.get(ip);
    if (v === undefined) podIp.set(ip, v = isPodIp(ip));
    return v;
  };
  // The sender end of a summed "rx" or "host" record, as the control plane's de-duplication needs it: a "host"
  // record with a pod at either end is set aside there (that pod's veth counts it), as is one sent by a pod.
  const sender = (r: number) => isPod(src[r]) || (obs[r] !== RX && isPod(dst[r])) ? OTHER_POD_PEER : OTHER_PEER;
  // The ends of the "other" record of record r: its own end stays per pod (level 0), not per node (level 1).
  const own = (level: number, r: number) => level > 0 || obs[r] === HOST ? OTHER_PEER : obs[r] === TX ? src[r] : dst[r];
  const far = (r: number) => obs[r] === TX ? OTHER_PEER : sender(r);
  const make = (r: number, s: string, t: string, p: number, pr: number): FlowRecord => ({
    src: s,
    dst: t,
    port: p,
    proto: pr,
    toServer: toServer[r] === 1,
    obs: OBS[obs[r]],
    packets: packets[r],
    bytes: bytes[r],
    tcpFlags: flags[r],
  });
  const levelKey = (level: number) => (r: number) => `${own(level, r)}|${far(r)}|${toServer[r]}|${obs[r]}`;
  // the biggest first: those the cap keeps whole
  const order = Uint32Array.from({ length: index.size }, (_, i) => i).sort((a, b) => bytes[b] - bytes[a]);
  return sumOverCap<FlowRecord>({
    order,
    cap,
    levels: [levelKey(0), levelKey(1)],
    record: (r) => make(r, src[r], dst[r], port[r], proto[r]),
    // a "tx" record's own end is its sender; an "rx" record's, its receiver
    other: (level, r) => obs[r] === TX ? make(r, own(level, r), far(r), 0, 0) : make(r, far(r), own(level, r), 0, 0),
    add(o, r) {
      o.packets += packets[r];
      o.bytes += bytes[r];
      o.tcpFlags |= flags[r];
    },
    weight: (r) => r.bytes,
  });
}
