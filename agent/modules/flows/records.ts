/**
 * Per-interval flow deltas -> the wire's FlowRecords: which side is the
 * server (so ephemeral client ports fold into one record per service port),
 * where the packets were observed (tx/rx at a pod's veth, or a host
 * interface), and a cap on the number of records with a count of what it cut.
 *
 * A busy table changes whole every interval (tens of thousands of entries):
 * deltas and the records they fold into are kept in columns, and objects are
 * made only for the records that go into the batch. Objects made for every
 * entry would outlive the young generation and grow the agent's heap.
 */
import type { FlowRecord } from "../../../control/wire/monitoring.ts";
import { grown } from "../common/delta.ts";
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

export function flowRecords(
  deltas: FlowDeltas,
  podVeths: Set<number>,
  cap: number,
): { records: FlowRecord[]; cut: number } {
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
    const o = podVeths.has(d.ifindex) ? (d.dir === FLOW_DIR_INGRESS ? 0 : 1) : 2;
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
  // the biggest first: those the cap keeps
  const order = Uint32Array.from({ length: index.size }, (_, i) => i).sort((a, b) => bytes[b] - bytes[a]);
  const records = Array.from(order.subarray(0, cap), (r): FlowRecord => ({
    src: src[r],
    dst: dst[r],
    port: port[r],
    proto: proto[r],
    toServer: toServer[r] === 1,
    obs: OBS[obs[r]],
    packets: packets[r],
    bytes: bytes[r],
    tcpFlags: flags[r],
  }));
  return { records, cut: Math.max(0, index.size - cap) };
}
