/**
 * The gateway module: north-south load balancing in XDP (bpf/gateway.bpf.c)
 * on the configured interfaces only (--gateway-interfaces; never any other).
 * It follows the same long-polled LbState as the lb module (its own poll)
 * and programs the services' external IPs and NodePorts (frontends.ts) into
 * its own copy of the lb maps (gw_services, gw_backends, gw_maglev) with the
 * same programmer (../lb/programmer.ts: tables swapped whole, frees after a
 * quarantine): the gateway runs whether or not the socket load balancer
 * does, on nodes without a pods cgroup too, and a table being replaced for
 * one never holds the other back. Same tables (size, backends, Maglev), so a
 * backend's share is the same through either.
 *
 * Addresses: --gateway-addresses are the node's own addresses NodePorts
 * answer on; --gateway-snat-ip (default: the first of them) is the source of
 * translated packets towards backends, which must route replies to it back
 * through a gateway interface; SNAT ports come from --gateway-snat-ports
 * (default 61000-65535, outside Linux's ephemeral range and the NodePort
 * range, so the node's own connections never collide with a translated one).
 *
 * Flow tables are not pinned: after an agent restart a flow's backend is
 * chosen again by the same hash over the same table (the same backend while
 * the service did not change) and its SNAT port again by the same hash.
 * An XDP program left attached by a crashed agent (gw_xdp) is replaced in
 * place at start, or removed by clean().
 */
import type { MapInfo, ProgramInfo } from "../../../control/wire/batch.ts";
import type { GatewayCounters, LbState } from "../../../control/wire/services.ts";
import { LB_MAX_SERVICES } from "../../../control/wire/services.ts";
import {
  BpfObject,
  ifindexOf,
  progInfoById,
  queryXdpProgId,
  removeTcFilter,
  TcAttachment,
  type XdpAttachment,
  type XdpMode,
} from "../../libbpf/mod.ts";
import { u64At } from "../common/delta.ts";
import { describeMaps, describePrograms } from "../common/inventory.ts";
import { setUpOrLeaveNothing } from "../common/lifecycle.ts";
import { attachInSlot, tcSlot } from "../common/tc_hooks.ts";
import { ipv4At, LB_MAGLEV_CHUNK } from "../lb/layout.ts";
import { KernelTarget, LB_ROWS_PER_BATCH } from "../lb/module.ts";
import { PoolAllocator } from "../lb/pool.ts";
import { DEFAULT_QUARANTINE_MS, LbProgrammer, scheduleMaintenance } from "../lb/programmer.ts";
import { type LbPoll, LbSync } from "../lb/sync.ts";
import type { Module, ModuleEnv, Reading, StartOptions } from "../module.ts";
import { externalAddresses, gatewayState } from "./frontends.ts";
import type { GatewayHook } from "./hook.ts";
import {
  type AddrSlot,
  encodeAddrSlot,
  encodeConfig,
  GW_COUNTER_NAMES,
  GW_DEST,
  GW_LIMITS,
  GW_STRUCTS,
  type GwCounterName,
  placeAddresses,
} from "./layout.ts";

export interface GatewaySettings {
  /** Interfaces XDP attaches to (--gateway-interfaces): where clients' packets and backends' replies come in. */
  interfaces: string[];
  /** The node's addresses NodePorts answer on (--gateway-addresses). */
  addresses: string[];
  /** Source address towards backends (--gateway-snat-ip; default the first address). */
  snatIp?: string;
  /** SNAT port range, inclusive (--gateway-snat-ports). */
  snatPorts: [number, number];
  /** Entries of each flow table, gw_ct and gw_rev (--gateway-flow-table-size). */
  flowEntries: number;
  /** Maglev slots of the gateway's table pool, a multiple of 16 (--gateway-table-pool). */
  poolSlots: number;
  /** Where it runs (--gateway-hook, see hook.ts). */
  hook: GatewayHook;
  quarantineMs: number;
}

export const DEFAULT_GATEWAY: GatewaySettings = {
  interfaces: [],
  addresses: [],
  snatPorts: [61000, 65535],
  flowEntries: 65536,
  poolSlots: 1 << 20,
  hook: "auto",
  quarantineMs: DEFAULT_QUARANTINE_MS,
};

export const GATEWAY_OBJECT = "gateway.bpf.o";
export const GATEWAY_PROGRAM = "gw_xdp";
export const GATEWAY_TC_PROGRAM = "gw_tc";
/**
 * The tc filter slot (handle and priority) on clsact ingress: after the
 * monitoring filters (ifstats 0xeb8, flows 0xeb9), which see a packet before
 * the gateway redirects it and let it go on to the next filter. Declared, so
 * that no module deletes a clsact qdisc the gateway's filter is on.
 */
export const GATEWAY_TC_SLOT = tcSlot({
  handle: 0xeba,
  priority: 0xeba,
  programs: { ingress: GATEWAY_TC_PROGRAM },
  isOurs: (name) => name === GATEWAY_TC_PROGRAM,
});
const MAP_NAMES = { services: "gw_services", backends: "gw_backends", maglev: "gw_maglev" };

interface Running {
  obj: BpfObject;
  links: (XdpAttachment | TcAttachment)[];
  programmer: LbProgrammer;
  sync: LbSync | null;
  timer?: ReturnType<typeof setTimeout>;
  version: number;
  maxService: number;
  /** Kernel totals at the last read: per service [pi, bi, po, bo], and the flow events. */
  seen: Float64Array;
  flows: number;
  evicted: number;
  noBackend: number;
  /** Flows the agent removed (of services gone): not evictions. */
  purged: number;
}

export class GatewayModule implements Module {
  readonly name = "gateway" as const;
  readonly counting = false;
  #run: Running | null = null;
  #stopping: Promise<void> = Promise.resolve();

  constructor(
    private readonly env: ModuleEnv,
    private readonly settings: GatewaySettings = DEFAULT_GATEWAY,
    private readonly poll: LbPoll | null = null,
  ) {
    const [min, max] = settings.snatPorts;
    if (!(Number.isInteger(min) && Number.isInteger(max) && 1024 <= min && min <= max && max <= 65535)) {
      throw new Error(`gateway: SNAT ports ${min}-${max}: must be a range within 1024-65535`);
    }
    if (settings.poolSlots % LB_MAGLEV_CHUNK || settings.poolSlots < LB_MAGLEV_CHUNK) {
      throw new Error(
        `gateway: the table pool must be a positive multiple of ${LB_MAGLEV_CHUNK} slots, not ${settings.poolSlots}`,
      );
    }
  }

  hasPins(): boolean {
    return false;
  }

  start(_options: StartOptions): void {
    if (this.#run) return;
    const s = this.settings;
    if (!s.interfaces.length) {
      throw new Error("gateway: no interface to attach to: set --gateway-interfaces (EBPF_K8S_GATEWAY_INTERFACES)");
    }
    const snatIp = s.snatIp ?? s.addresses[0];
    if (!snatIp) throw new Error("gateway: no SNAT address: set --gateway-snat-ip or --gateway-addresses");
    for (const ifname of s.interfaces) {
      if (this.env.excludeInterfaces.includes(ifname)) {
        throw new Error(`gateway: ${ifname} is excluded (--exclude-interfaces)`);
      }
    }
    const { obj, programmer } = loadGateway(this.env.bpfDir, s, snatIp);
    const run = setUpOrLeaveNothing(obj, () => {
      const run: Running = {
        obj,
        links: [],
        programmer,
        sync: null,
        version: 0,
        maxService: 0,
        seen: new Float64Array((LB_MAX_SERVICES + 1) * 4),
        flows: 0,
        evicted: 0,
        noBackend: 0,
        purged: 0,
      };
      this.#writeDests(run, []);
      for (const ifname of s.interfaces) run.links.push(attach(obj, { ifname, netns: this.env.netns }, s.hook));
      return run;
    }, () => {});
    this.#run = run;
    if (this.poll) {
      run.sync = new LbSync(this.poll, (st) => this.apply(st), this.env.log);
      run.sync.start();
    }
  }

  stop(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = null;
    clearTimeout(run.timer);
    this.#stopping = run.sync?.stop() ?? Promise.resolve();
    run.obj.close(); // detaches the XDP programs it attached
  }

  settled(): Promise<void> {
    return this.#stopping;
  }

  /** A gw_xdp or gw_tc left attached by an agent that died: removed (a clsact qdisc it created stays: nothing says it was its). */
  clean(_previous?: unknown): void {
    const targets = this.settings.interfaces.map((ifname) => ({ ifname, netns: this.env.netns })).filter((t) => {
      try {
        ifindexOf(t.ifname, t.netns);
        return true;
      } catch {
        return false;
      }
    });
    for (const t of targets) {
      removeTcFilter(t, "ingress", GATEWAY_TC_SLOT.handle, GATEWAY_TC_SLOT.priority, GATEWAY_TC_SLOT.isOurs);
    }
    const xdp = targets.filter((t) => this.settings.hook !== "tc" && leftoverOurs(t, this.settings.hook));
    if (!xdp.length) return;
    const obj = BpfObject.open(`${this.env.bpfDir}/${GATEWAY_OBJECT}`);
    try {
      obj.map("gw_ct").setMaxEntries(16);
      obj.map("gw_rev").setMaxEntries(16);
      obj.map("gw_maglev").setMaxEntries(1);
      obj.load();
      for (const t of xdp) {
        obj.program(GATEWAY_PROGRAM).attachXdp(t, { mode: this.settings.hook as XdpMode, replace: true }).detach();
      }
    } finally {
      obj.close();
    }
  }

  record(): undefined {
    return undefined;
  }

  /** Programs a state now (the poll calls this for every answer). */
  apply(state: LbState): void {
    const run = this.#run;
    if (!run) throw new Error("gateway: not running");
    const gw = gatewayState(state);
    const addresses = externalAddresses(gw);
    const before = run.programmer.ids().services;
    // new addresses are known before their frontends exist; gone ones are forgotten after theirs are deleted
    this.#writeDests(run, addresses, true);
    const report = run.programmer.apply(gw, performance.now());
    this.#writeDests(run, addresses);
    // tracked flows go on without their service (the program looks them up first): those of services gone go now
    const after = new Set(gw.services.map((s) => s.id));
    const gone = new Set([...before].filter((id) => !after.has(id)));
    if (gone.size) run.purged += forgetFlows(run.obj, gone);
    run.version = state.version;
    for (const s of gw.services) run.maxService = Math.max(run.maxService, s.id);
    this.#schedule(run);
    this.env.log(
      `gateway: version ${state.version} programmed: ${gw.services.length} frontend(s), ${report.programmed} changed, ${report.removed} removed` +
        (report.unplaced.length
          ? `; no room in the table pool (--gateway-table-pool) for ${report.unplaced.slice(0, 5).join(", ")}`
          : ""),
    );
  }

  get version(): number {
    return this.#run?.version ?? 0;
  }

  #writeDests(run: Running, external: string[], keep = false): void {
    writeDests(run.obj, {
      external,
      addresses: this.settings.addresses,
      snatIp: this.settings.snatIp ?? this.settings.addresses[0]!,
    }, keep);
  }

  #schedule(run: Running): void {
    scheduleMaintenance(run, () => this.#run === run, "gateway", this.env.log);
  }

  /** The program's event counters, summed over CPUs (cumulative). */
  counters(): Record<GwCounterName, number> {
    const run = this.#run;
    if (!run) throw new Error("gateway: not running");
    return readCounters(run.obj);
  }

  /** Flows in the table now. */
  flowsTracked(): number {
    return this.#run?.obj.map("gw_ct").countKeys() ?? 0;
  }

  read(): Reading {
    const run = this.#run;
    if (!run) return {};
    return { gateway: this.#take(run) };
  }

  #take(run: Running): GatewayCounters {
    const services: [number, number, number, number, number][] = [];
    for (const [id, now] of readServiceStats(run.obj, run.maxService)) {
      const d = now.map((v, j) => delta(v, run.seen[id * 4 + j]!));
      if (d.some((x) => x > 0) && services.length < LB_ROWS_PER_BATCH) {
        services.push([id, d[0]!, d[1]!, d[2]!, d[3]!]);
        now.forEach((v, j) => (run.seen[id * 4 + j] = v));
      }
    }
    const c = readCounters(run.obj);
    // no program deletes from gw_ct: entries created, not present and not removed by us were evicted
    const evicted = Math.max(run.evicted, c.flows - run.purged - run.obj.map("gw_ct").countKeys());
    const out = {
      version: run.version,
      services,
      flows: delta(c.flows, run.flows),
      evicted: evicted - run.evicted,
      noBackend: delta(c.no_backend, run.noBackend),
    };
    run.flows = c.flows;
    run.evicted = evicted;
    run.noBackend = c.no_backend;
    return out;
  }

  programs(bpfStats: boolean): ProgramInfo[] {
    const run = this.#run;
    if (!run) return [];
    const where = run.links.map((l, i) => {
      const at = `${l.netns ? `${l.netns}:` : ""}${this.settings.interfaces[i]}`;
      return l instanceof TcAttachment ? `tc ingress ${at}` : `xdp ${at} (${l.mode})`;
    });
    const prog = run.obj.program(this.settings.hook === "tc" ? GATEWAY_TC_PROGRAM : GATEWAY_PROGRAM);
    return describePrograms(this.name, new Map([[prog.id, where]]), bpfStats);
  }

  maps(): MapInfo[] {
    const run = this.#run;
    if (!run) return [];
    return describeMaps(this.name, run.obj, {
      gw_services: run.programmer.services,
      gw_backends: run.programmer.backends,
      gw_maglev: run.programmer.pool.used,
      gw_ct: run.obj.map("gw_ct").countKeys(),
      gw_rev: run.obj.map("gw_rev").countKeys(),
    });
  }

  get hook(): GatewayHook {
    return this.settings.hook;
  }

  /** Test hook. */
  get programmer(): LbProgrammer | null {
    return this.#run?.programmer ?? null;
  }
}

/**
 * gw_addrs: external IPs, node addresses, the SNAT address. `keep`: add only
 * (before the frontends change), else drop what is no longer wanted (after).
 */
export function writeDests(
  obj: BpfObject,
  dests: { external: string[]; addresses: string[]; snatIp: string },
  keep = false,
): void {
  const wanted = new Map<string, number>();
  const add = (ip: string, flag: number) => wanted.set(ip, (wanted.get(ip) ?? 0) | flag);
  for (const ip of dests.external) add(ip, GW_DEST.VIP);
  for (const ip of dests.addresses) add(ip, GW_DEST.NODE);
  add(dests.snatIp, GW_DEST.SNAT);
  const map = obj.map("gw_addrs");
  const slots: AddrSlot[] = [];
  map.forEachBatch((_k, values, n) => {
    const dv = new DataView(values.buffer, values.byteOffset);
    for (let i = 0; i < n; i++) {
      const o = i * GW_STRUCTS.gw_addr.size;
      slots.push({ addr: dv.getUint32(o, true) ? ipv4At(values, o) : "", flags: dv.getUint32(o + 4, true) });
    }
  }, { batchSize: GW_LIMITS.GW_ADDR_SLOTS });
  if (keep) { for (const s of slots) if (s.addr && s.flags) add(s.addr, s.flags); }
  const writes = placeAddresses(slots, wanted);
  if (!writes.size) return;
  const keys = new Uint8Array(writes.size * 4), values = new Uint8Array(writes.size * GW_STRUCTS.gw_addr.size);
  let i = 0;
  for (const [slot, s] of writes) {
    new DataView(keys.buffer).setUint32(i * 4, slot, true);
    values.set(encodeAddrSlot(s), i++ * GW_STRUCTS.gw_addr.size);
  }
  map.updateBatch(keys, values, writes.size);
}

/**
 * Each service's totals [packets in, bytes in, packets out, bytes out] for
 * ids 1..maxService: gw_svc_stats_pcpu summed over CPUs, plus gw_svc_stats
 * (see gateway.h).
 */
export function readServiceStats(obj: BpfObject, maxService: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const add = (id: number, dv: DataView, off: number) => {
    const t = out.get(id) ?? [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) t[j]! += u64At(dv, off + j * 8);
    out.set(id, t);
  };
  for (const name of ["gw_svc_stats_pcpu", "gw_svc_stats"] as const) {
    const map = obj.map(name);
    const last = Math.min(maxService, map.handle.maxEntries - 1);
    if (last < 1) continue;
    map.forEachBatch((keys, values, n) => {
      const kv = new DataView(keys.buffer, keys.byteOffset), dv = new DataView(values.buffer, values.byteOffset);
      let id = 0;
      for (let i = 0; i < n; i++) {
        id = kv.getUint32(i * 4, true);
        if (id > last) return false;
        for (let cpu = 0; id && cpu < map.handle.cpus; cpu++) {
          add(id, dv, i * map.handle.fullValueSize + cpu * map.handle.stride);
        }
      }
      return id < last;
    }, { batchSize: Math.min(8192, last + 1) });
  }
  return out;
}

/** Removes the tracked flows (both tables) of these services; returns how many gw_ct held. */
export function forgetFlows(obj: BpfObject, serviceIds: Set<number>): number {
  let removed = 0;
  for (const [name, at] of [["gw_ct", 8], ["gw_rev", 12]] as const) {
    const map = obj.map(name);
    const keySize = map.handle.keySize, valueSize = map.handle.valueSize;
    const doomed: Uint8Array[] = [];
    map.forEachBatch((keys, values, n) => {
      const dv = new DataView(values.buffer, values.byteOffset);
      for (let i = 0; i < n; i++) {
        if (serviceIds.has(dv.getUint32(i * valueSize + at, true))) {
          doomed.push(keys.slice(i * keySize, (i + 1) * keySize));
        }
      }
    }, { batchSize: 4096 });
    for (const k of doomed) if (map.delete(k) && name === "gw_ct") removed++;
  }
  // after the table: a CPU that copied a removed flow just before cannot copy it again
  const cache = obj.map("gw_flow_cache"), slots = GW_LIMITS.GW_FLOW_CACHE_SLOTS;
  const keys = new Uint8Array(slots * 4);
  for (let i = 0; i < slots; i++) new DataView(keys.buffer).setUint32(i * 4, i, true);
  cache.updateBatch(keys, new Uint8Array(slots * cache.handle.fullValueSize), slots);
  return removed;
}

/** Opens and loads the gateway object with its sizes and SNAT settings, and the programmer of its tables (nothing attached). */
export function loadGateway(
  bpfDir: string,
  s: Pick<GatewaySettings, "flowEntries" | "poolSlots" | "snatPorts" | "quarantineMs">,
  snatIp: string,
): { obj: BpfObject; programmer: LbProgrammer } {
  const obj = BpfObject.open(`${bpfDir}/${GATEWAY_OBJECT}`);
  return setUpOrLeaveNothing(obj, () => {
    obj.map("gw_ct").setMaxEntries(s.flowEntries);
    obj.map("gw_rev").setMaxEntries(s.flowEntries);
    obj.map("gw_maglev").setMaxEntries(s.poolSlots / LB_MAGLEV_CHUNK);
    obj.load();
    obj.map("gw_config").update(u32(0), encodeConfig(snatIp, s.snatPorts[0], s.snatPorts[1]));
    const programmer = new LbProgrammer(
      new KernelTarget(obj, MAP_NAMES),
      new PoolAllocator(s.poolSlots / LB_MAGLEV_CHUNK),
      s.quarantineMs,
    );
    return { obj, programmer };
  }, () => {});
}

/** The gateway on one interface: XDP (replacing a gw_xdp left by an agent that died), or tc ingress in its slot. */
function attach(
  obj: BpfObject,
  target: { ifname: string; netns?: string },
  hook: GatewayHook,
): XdpAttachment | TcAttachment {
  if (hook !== "tc") {
    return obj.program(GATEWAY_PROGRAM).attachXdp(target, { mode: hook, replace: leftoverOurs(target, hook) });
  }
  return attachInSlot(obj, GATEWAY_TC_SLOT, target, "ingress");
}

/** Whether the XDP program on the interface is a gateway program (ours, left by an agent that died). */
function leftoverOurs(target: { ifname: string; netns?: string }, mode: XdpMode): boolean {
  const id = queryXdpProgId(target, mode === "auto" ? "auto" : mode);
  if (!id) return false;
  const name = progInfoById(id)?.name;
  if (name === GATEWAY_PROGRAM) return true;
  throw new Error(
    `gateway: ${target.ifname} already runs XDP program ${name ?? `id ${id}`} (not ours): not replacing it`,
  );
}

export function readCounters(obj: BpfObject): Record<GwCounterName, number> {
  const sums = obj.map("gw_counters").sumU64(u32(0)) ?? [];
  return Object.fromEntries(GW_COUNTER_NAMES.map((n, i) => [n, Number(sums[i] ?? 0n)])) as Record<
    GwCounterName,
    number
  >;
}

function delta(now: number, before: number): number {
  return now >= before ? now - before : now;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
