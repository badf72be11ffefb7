// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's side of bpf/dns.bpf.c: loads it, keeps its tc programs on the
 * veths it is given (pods' host veths, at a fixed slot next to flows'), and on
 * each read() turns the kernel's tables into records of what changed since
 * the last one (records.ts):
 *
 *   - dns_servers: deltas per (pod, server, port) (DeltaTracker, as flows);
 *     entries idle for idleSeconds are removed, their last counts included;
 *   - dns_pending: queries older than timeoutMs are taken out (lookup-and-
 *     delete, so an answer that wins the race is counted once, as an answer)
 *     and counted as timeouts of their (pod, server, port);
 *   - dns_names and dns_names_other: deltas per (pod, name) and per pod,
 *     capped (maxNameRecords) with the rest summed; idle names removed, which
 *     is what makes room for new names in the kernel's table.
 *
 * Evictions are never silent: the LRU tables' insert counters (dns_stats)
 * minus what is present and what was removed here.
 *
 * The `dns` module (module.ts) runs it on the pods' veths.
 */
import { type BpfMap, BpfObject, u32Key } from "../../libbpf/mod.ts";
import type { NetIf } from "../../netif.ts";
import { DeltaTracker, u64At } from "../common/delta.ts";
import { TcHooks, tcSlot } from "../common/tc_hooks.ts";
import { monotonicNs } from "./clock.ts";
import { checkDnsSettings, DEFAULT_DNS, type DnsSettings } from "./settings.ts";
import {
  decodeName,
  decodePendingKey,
  decodeServerKey,
  DNS_STATS,
  DNS_STRUCTS,
  type DnsStatName,
  SERVER_AT,
  SERVER_COUNTERS,
} from "./layout.ts";
import {
  type DnsNameRecord,
  type DnsServerRecord,
  emptyServerRecord,
  nameRecords,
  serverId,
  serverRecord,
} from "./records.ts";

// The settings are apart (settings.ts) so that the agent's configuration can read their defaults without libbpf.
export { checkDnsSettings, DEFAULT_DNS, type DnsSettings } from "./settings.ts";

/** After flows' (0xeb9) and the gateway's (0xeba) slots, with room between. */
export const DNS_TC_HANDLE = 0xebd;
export const DNS_SLOT = tcSlot({
  handle: DNS_TC_HANDLE,
  priority: DNS_TC_HANDLE,
  programs: { ingress: "dns_ingress", egress: "dns_egress" },
  isOurs: (name) => name.startsWith("dns_"),
});

/** The kernel's dns_stats (cumulative) and what the reader derives from its tables. */
export type DnsCounters = Record<DnsStatName, number> & {
  /** Queries counted as timed out (cumulative). */
  timeouts: number;
  /** Pending queries the LRU evicted before their answer or timeout (cumulative). */
  pendingEvicted: number;
  /** (pod, server) entries the LRU evicted (their counts since the last read are lost, and counted here). */
  serversEvicted: number;
  pendingEntries: number;
  serverEntries: number;
  nameEntries: number;
};

export interface DnsReading {
  servers: DnsServerRecord[];
  names: DnsNameRecord[];
  /** (pod, name) keys the record cap summed into "other" records this read. */
  namesSummed: number;
  counters: DnsCounters;
}

export class DnsReader {
  readonly #servers = new DeltaTracker(SERVER_COUNTERS);
  readonly #names = new DeltaTracker(2);
  readonly #others = new DeltaTracker(2);
  #timeouts = 0;
  #pendingRemoved = 0;
  /** The evictions last reported: what a read reports is never below (cumulative counters never go down). */
  #pendingEvicted = 0;
  #serversEvicted = 0;

  private constructor(
    readonly obj: BpfObject,
    readonly tc: TcHooks,
    private readonly settings: DnsSettings,
  ) {}

  /** Loads build/bpf/dns.bpf.o (from `bpfDir`) with the settings' table sizes and ports. */
  static open(bpfDir: string, settings: DnsSettings = DEFAULT_DNS, netns?: string): DnsReader {
    checkDnsSettings(settings);
    const obj = BpfObject.open(`${bpfDir}/dns.bpf.o`);
    try {
      obj.map("dns_servers").setMaxEntries(settings.serversTableSize);
      obj.map("dns_pending").setMaxEntries(settings.pendingTableSize);
      obj.map("dns_names").setMaxEntries(settings.namesTableSize);
      obj.map("dns_names_other").setMaxEntries(settings.podsTableSize);
      obj.load();
      const config = new Uint8Array(DNS_STRUCTS.dns_config.size);
      const dv = new DataView(config.buffer);
      settings.ports.forEach((p, i) => dv.setUint16(i * 2, p, true));
      obj.map("dns_config").update(u32Key(0), config);
      return new DnsReader(obj, new TcHooks(obj, DNS_SLOT, netns), settings);
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  /** Hooks an interface (both directions); on failure nothing of it stays attached. */
  attach(netif: NetIf): void {
    this.tc.attach(netif);
  }

  detach(ifindex: number): void {
    this.tc.detach(ifindex);
  }

  /** Detaches from every interface and unloads. */
  close(): void {
    for (const i of this.tc.interfaces) this.tc.detach(i.ifindex);
    this.obj.close();
  }

  /** What changed since the last read (the first: since load). `nowMs`: the clock idle entries are judged by. */
  read(nowMs = Date.now()): DnsReading {
    const stats = this.#stats();
    const servers = new Map<string, DnsServerRecord>();
    const idleMs = this.settings.idleSeconds * 1000;
    trackTable(this.obj.map("dns_servers"), this.#servers, nowMs, idleMs, serverCounters, (key, d) => {
      const r = serverRecord(decodeServerKey(key), d);
      servers.set(serverId(r), r);
    });
    for (const [id, key] of this.#sweepPending()) {
      const r = servers.get(id) ?? emptyServerRecord(key);
      r.timeouts++;
      servers.set(id, r);
    }
    const names: DnsNameRecord[] = [];
    trackTable(this.obj.map("dns_names"), this.#names, nowMs, idleMs, nameCounters, (key, d, value) => {
      names.push({ ...decodeName(key, value), queries: d[0], nxdomain: d[1] });
    });
    const others: DnsNameRecord[] = [];
    trackTable(this.obj.map("dns_names_other"), this.#others, nowMs, idleMs, nameCounters, (key, d) => {
      const ifindex = new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
      others.push({ ifindex, name: null, queries: d[0], nxdomain: d[1] });
    });
    const { records, keysSummed } = nameRecords(names, others, this.settings.maxNameRecords);
    const pendingEntries = this.obj.map("dns_pending").countKeys();
    // An answer matched while the tables were read took its entry out of pendingEntries but not out of
    // stats.pendingCreated - stats.matched: the answers matched are read again after the count, so that no
    // phantom eviction is reported (what a read says is then at most the evictions so far, never more).
    const matched = this.#stat("matched");
    this.#pendingEvicted = Math.max(
      this.#pendingEvicted,
      stats.pendingCreated - matched - this.#pendingRemoved - pendingEntries,
    );
    this.#serversEvicted = Math.max(this.#serversEvicted, this.#servers.evicted(stats.serversCreated));
    return {
      servers: [...servers.values()],
      names: records,
      namesSummed: keysSummed,
      counters: {
        ...stats,
        timeouts: this.#timeouts,
        pendingEvicted: this.#pendingEvicted,
        serversEvicted: this.#serversEvicted,
        pendingEntries,
        serverEntries: this.#servers.size,
        nameEntries: this.#names.size,
      },
    };
  }

  #stats(): Record<DnsStatName, number> {
    return Object.fromEntries(DNS_STATS.map((name) => [name, this.#stat(name)])) as Record<
      DnsStatName,
      number
    >;
  }

  #stat(name: DnsStatName): number {
    return Number(this.obj.map("dns_stats").sumU64(u32Key(DNS_STATS.indexOf(name)))?.[0] ?? 0n);
  }

  /** Takes out the queries pending longer than the timeout: their (pod, server, port), one per timeout. */
  #sweepPending(): [string, { ifindex: number; server: string; port: number }][] {
    const map = this.obj.map("dns_pending");
    const limit = monotonicNs() - BigInt(this.settings.timeoutMs) * 1_000_000n;
    const expired: Uint8Array[] = [];
    map.forEachBatch((keys, values, n) => {
      const dv = new DataView(values.buffer, values.byteOffset, values.byteLength);
      const size = DNS_STRUCTS.dns_pending_key.size;
      for (let i = 0; i < n; i++) {
        if (dv.getBigUint64(i * 8, true) <= limit) expired.push(keys.slice(i * size, (i + 1) * size));
      }
    }, { batchSize: 4096 });
    const out: [string, { ifindex: number; server: string; port: number }][] = [];
    for (const k of expired) {
      if (!map.lookupAndDelete(k)) continue; // answered (or evicted) meanwhile: counted as that
      this.#pendingRemoved++;
      this.#timeouts++;
      const p = decodePendingKey(k);
      const key = { ifindex: p.ifindex, server: p.server, port: p.serverPort };
      out.push([serverId(key), key]);
    }
    return out;
  }
}

type Counters = (dv: DataView, o: number) => { counters: number[]; gen: number };

const serverCounters: Counters = (dv, o) => ({
  counters: Array.from({ length: SERVER_COUNTERS }, (_, i) => u64At(dv, o + SERVER_AT.queries + i * 8)),
  gen: u64At(dv, o + SERVER_AT.created_ns),
});
const nameCounters: Counters = (dv, o) => ({ counters: [u64At(dv, o), u64At(dv, o + 8)], gen: 0 });

/**
 * One read of a table of cumulative counters: `out` gets each entry's delta
 * with its key and value (views into a reused buffer: decode them at once);
 * entries idle for idleMs are removed with lookup-and-delete (by key), what
 * they counted last included.
 */
function trackTable(
  map: BpfMap,
  tracker: DeltaTracker,
  nowMs: number,
  idleMs: number,
  counters: Counters,
  out: (key: Uint8Array, delta: number[], value: Uint8Array) => void,
): void {
  const ks = map.keySize, vs = map.valueSize;
  tracker.begin(nowMs, idleMs);
  map.forEachBatch((keys, values, n) => {
    const dv = new DataView(values.buffer, values.byteOffset, values.byteLength);
    for (let i = 0; i < n; i++) {
      const c = counters(dv, i * vs);
      const key = keys.subarray(i * ks, (i + 1) * ks);
      const d = tracker.see(key, c.counters, c.gen);
      if (d) out(key, d, values.subarray(i * vs, (i + 1) * vs));
    }
  }, { batchSize: 4096 });
  for (const key of tracker.end()) {
    const v = map.lookupAndDelete(key);
    const late = tracker.removed(key, v && counters(new DataView(v.buffer, v.byteOffset, v.byteLength), 0));
    if (late && v) out(key, late, v);
  }
}
