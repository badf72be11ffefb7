// SPDX-License-Identifier: Apache-2.0
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
 * Tracked flows end by per-protocol timeouts (--gateway-timeout-*): every
 * sweep interval the module runs gw_expire, which ends idle flows in the
 * kernel and frees their SNAT ports (expiry.ts).
 *
 * The datapath outlives the agent: the maps (services, tables, flows and
 * their SNAT ports, counters; not the per-CPU flow cache) are pinned under
 * the module's pin directory, and the agent's SIGTERM (release()) leaves the
 * program attached, as a crash does. The next agent reuses the pinned maps
 * (tracked flows go on), takes the programmed services over (../lb's
 * adoption) and swaps its program in place (XDP or tc replace: never a
 * moment without), so connections through the gateway never notice the
 * restart. Pins that do not fit (another layout) are removed and the
 * gateway starts from empty maps. stop() (switched off, uninstall) detaches
 * and unpins; clean() removes what a predecessor left.
 */
import type { MapInfo, ProgramInfo } from "../../../control/wire/batch.ts";
import type { GatewayCounters, LbState } from "../../../control/wire/services.ts";
import { LB_MAX_SERVICES } from "../../../control/wire/services.ts";
import { z } from "zod";
import {
  BpfObject,
  ifindexOf,
  type IfTarget,
  makeDirs,
  pathExists,
  progInfoById,
  queryXdpProgId,
  removeEmptyDir,
  removeFile,
  removeTcFilter,
  removeXdpProgram,
  TcAttachment,
  type XdpAttachment,
} from "../../libbpf/mod.ts";
import { u64At } from "../common/delta.ts";
import { describeMaps, describePrograms } from "../common/inventory.ts";
import { setUpOrLeaveNothing } from "../common/lifecycle.ts";
import { attachInSlot, HookRecord, recordedTarget, removeLeftoverHooks, tcSlot } from "../common/tc_hooks.ts";
import { ipv4At, LB_MAGLEV_CHUNK } from "../lb/layout.ts";
import { adoptTables, KernelTarget, LB_ROWS_PER_BATCH } from "../lb/module.ts";
import { PoolAllocator } from "../lb/pool.ts";
import { DEFAULT_QUARANTINE_MS, LbProgrammer, scheduleMaintenance } from "../lb/programmer.ts";
import { type LbPoll, LbSync } from "../lb/sync.ts";
import type { Module, ModuleEnv, Reading, StartOptions } from "../module.ts";
import {
  checkFlowEntries,
  checkTimeouts,
  clockStepMaxMs,
  DEFAULT_FLOW_TIMEOUTS,
  DEFAULT_SWEEP_MS,
  type FlowTimeouts,
  sweepFlows,
} from "./expiry.ts";
import { FrontendHandOver, FrontendStats } from "./frontend_stats.ts";
import { externalAddresses, gatewayState } from "./frontends.ts";
import { chooseHook, hookSites } from "./choose_hook.ts";
import { GATEWAY_HOOKS, type GatewayHook, type GatewayRunHook } from "./hook.ts";
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
  /** How long a flow may stay idle (--gateway-timeout-*; see expiry.ts). */
  timeouts: FlowTimeouts;
  /** How often gw_expire runs: the precision of the timeouts. */
  sweepMs: number;
}

export const DEFAULT_GATEWAY: GatewaySettings = {
  interfaces: [],
  addresses: [],
  snatPorts: [61000, 65535],
  flowEntries: 65536,
  poolSlots: 1 << 20,
  hook: "auto",
  quarantineMs: DEFAULT_QUARANTINE_MS,
  timeouts: DEFAULT_FLOW_TIMEOUTS,
  sweepMs: DEFAULT_SWEEP_MS,
};

export const GATEWAY_OBJECT = "gateway.bpf.o";
export const GATEWAY_PROGRAM = "gw_xdp";
export const GATEWAY_TC_PROGRAM = "gw_tc";
/** With XDP, in the same tc slot: sends on what gw_xdp translated but found no neighbour for (bpf_redirect_neigh). */
export const GATEWAY_TC_NEIGH_PROGRAM = "gw_tc_neigh";
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
  isOurs: (name) => name === GATEWAY_TC_PROGRAM || name === GATEWAY_TC_NEIGH_PROGRAM,
});
/** The same slot holding gw_tc_neigh, with XDP (one of the two programs is there, never both). */
const GATEWAY_TC_NEIGH_SLOT = { ...GATEWAY_TC_SLOT, programs: { ingress: GATEWAY_TC_NEIGH_PROGRAM } };
const MAP_NAMES = { services: "gw_services", backends: "gw_backends", maglev: "gw_maglev" };
/** Maps not pinned: a per-CPU cache of gw_ct entries, which a new program starts empty (it falls back to gw_ct). */
const UNPINNED_MAPS = new Set(["gw_flow_cache"]);

/** What epoch.json keeps of a running gateway: where it is attached, for a successor's clean() (and uninstall). */
const GatewayRecord = z.object({
  hook: z.enum(GATEWAY_HOOKS),
  interfaces: z.array(HookRecord),
  /** The version programmed: an adopting agent's counts are of it until its own first apply. */
  version: z.number().int().nonnegative().optional(),
  /**
   * At a hand-over (SIGTERM): the kernel totals reported so far, per service [id, packets in, bytes in,
   * packets out, bytes out], of the flow events, and per frontend (FrontendHandOver). The successor takes them
   * as its baseline, so that what was counted after the last batch is reported once (after a crash it baselines
   * the kernel: lost, never twice).
   */
  reported: z.object({
    services: z.array(z.tuple([z.number(), z.number(), z.number(), z.number(), z.number()])),
    flows: z.number(),
    evicted: z.number(),
    noBackend: z.number(),
    /** Flows the agents removed (services gone): not evictions. */
    purged: z.number(),
    /** Optional: an older agent's record has none (the successor then baselines gw_fe_stats, as after a crash). */
    frontends: FrontendHandOver.optional(),
  }).optional(),
});
type GatewayRecord = z.infer<typeof GatewayRecord>;

interface Running {
  obj: BpfObject;
  /** Where it runs: --gateway-hook, auto resolved at start (chooseHook). */
  hook: GatewayRunHook;
  /** Per interface: gw_xdp or gw_tc; with XDP also gw_tc_neigh in `neigh`, same order. */
  links: (XdpAttachment | TcAttachment)[];
  neigh: TcAttachment[];
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
  /** Per frontend: gw_fe_stats' entries and what was read of them. */
  frontends: FrontendStats;
  /** Runs gw_expire every sweep interval. */
  sweeper?: ReturnType<typeof setInterval>;
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
    checkTimeouts(settings.timeouts, settings.sweepMs);
    checkFlowEntries(settings.flowEntries);
    if (settings.poolSlots % LB_MAGLEV_CHUNK || settings.poolSlots < LB_MAGLEV_CHUNK) {
      throw new Error(
        `gateway: the table pool must be a positive multiple of ${LB_MAGLEV_CHUNK} slots, not ${settings.poolSlots}`,
      );
    }
  }

  hasPins(): boolean {
    return pathExists(`${this.env.pinDir}/${MAP_NAMES.services}`);
  }

  start({ adopt, previous }: StartOptions): void {
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
    let run: Running | null = null;
    if (adopt && this.hasPins()) {
      try {
        // no record: the predecessor's hook is unknown ("auto": its gw_xdp is looked for in either mode)
        run = this.#open(snatIp, GatewayRecord.safeParse(previous).data ?? { hook: "auto", interfaces: [] });
      } catch (e) {
        this.env.log(`gateway: cannot adopt the pinned maps (${(e as Error).message}): starting from empty maps`);
      }
    }
    if (!run) {
      this.clean(previous);
      run = this.#open(snatIp, null);
    }
    this.#run = run;
    const swept = run;
    swept.sweeper = setInterval(() => this.#sweep(swept), s.sweepMs);
    if (this.poll) {
      const started = run;
      started.sync = new LbSync(this.poll, (st) => this.apply(st), this.env.log, { module: "gateway" });
      started.sync.start();
    }
  }

  /**
   * Loads with the maps pinned (reused when `adopting`: services, flows and
   * counters as the predecessor left them, its counts a baseline) and
   * attaches, replacing a predecessor's program in place.
   */
  #open(snatIp: string, adopting: GatewayRecord | null): Running {
    const s = this.settings;
    const choice = chooseHook(s.hook, hookSites(s.interfaces, this.env.netns));
    this.env.log(`gateway: hook ${choice.hook}${s.hook === "auto" ? " (auto)" : ""}: ${choice.why}`);
    const { obj, programmer } = loadGateway(this.env.bpfDir, s, snatIp, this.env.pinDir);
    return setUpOrLeaveNothing(obj, () => {
      const run: Running = {
        obj,
        hook: choice.hook,
        links: [],
        neigh: [],
        programmer,
        sync: null,
        version: adopting?.version ?? 0,
        maxService: 0,
        seen: new Float64Array((LB_MAX_SERVICES + 1) * 4),
        flows: 0,
        evicted: 0,
        noBackend: 0,
        purged: 0,
        frontends: new FrontendStats(),
      };
      if (adopting) {
        adoptTables(programmer, obj, MAP_NAMES);
        for (const id of programmer.ids().services) run.maxService = Math.max(run.maxService, id);
        const r = adopting.reported;
        run.frontends.adopt(obj, programmer.serviceIds(), r?.frontends);
        if (r) {
          for (const [id, ...totals] of r.services) if (id >= 1 && id <= LB_MAX_SERVICES) run.seen.set(totals, id * 4);
          Object.assign(run, { flows: r.flows, evicted: r.evicted, noBackend: r.noBackend, purged: r.purged });
        } else {
          this.#take(run); // after a crash: what the predecessor counted was its to report
        }
        // adopted dests stay until the first state says otherwise (the VIPs answer meanwhile)
      }
      this.#writeDests(run, [], adopting !== null);
      // where the predecessor's gw_xdp may run (none when it ran in tc)
      const before = adopting ? xdpModes(adopting.hook) : [];
      for (const ifname of s.interfaces) {
        // a clsact qdisc the predecessor created is ours to remove at the end
        const claim = adopting?.interfaces.some((p) => p.ifname === ifname && p.ownQdisc) ?? false;
        const target = { ifname, netns: this.env.netns };
        if (run.hook === "tc") {
          run.links.push(attachInSlot(obj, GATEWAY_TC_SLOT, target, "ingress", claim));
          // XDP runs before tc: the predecessor's gw_xdp would go on translating, and outlive our stop()
          removeOurXdp(target, before);
        } else {
          // a device holds native or generic XDP, not both: the other mode's goes first (a moment without)
          removeOurXdp(target, before.filter((m) => m !== run.hook));
          run.links.push(attachXdp(obj, target, run.hook));
          run.neigh.push(attachInSlot(obj, GATEWAY_TC_NEIGH_SLOT, target, "ingress", claim));
        }
      }
      // interfaces no longer configured: nothing of ours stays there (record() no longer lists them)
      for (const p of adopting?.interfaces ?? []) {
        if (s.interfaces.includes(p.ifname)) continue;
        removeLeftoverHooks(GATEWAY_TC_SLOT, this.env.netns, p);
        const target = recordedTarget(this.env.netns, p);
        if (target) removeOurXdp(target, before);
      }
      return run;
    }, () => {});
  }

  stop(): void {
    const run = this.#letGo();
    if (!run) return;
    try {
      run.obj.close(); // detaches the programs it attached
    } finally {
      removePins(this.env.pinDir, this.env.bpfDir);
    }
  }

  /** The hand-over to the next agent (SIGTERM): the program stays attached and the maps pinned, as after a crash. */
  release(): void {
    this.#letGo()?.obj.close({ keepAttachments: true });
  }

  /** Ends the poll and the maintenance timer; returns what ran. */
  #letGo(): Running | null {
    const run = this.#run;
    if (!run) return null;
    this.#run = null;
    clearTimeout(run.timer);
    clearInterval(run.sweeper);
    this.#stopping = run.sync?.stop() ?? Promise.resolve();
    return run;
  }

  /** One gw_expire run (a failure is logged: the next interval tries again). */
  #sweep(run: Running): void {
    if (this.#run !== run) return;
    try {
      sweepFlows(run.obj);
    } catch (e) {
      this.env.log(`gateway: flow expiry failed: ${(e as Error).message}`);
    }
  }

  settled(): Promise<void> {
    return this.#stopping;
  }

  /**
   * A gw_xdp or gw_tc a predecessor left attached (on the interfaces it
   * recorded and those configured) and its pins: removed (a clsact qdisc it
   * created stays: nothing says it was its). gw_xdp is looked for where the
   * predecessor ran it: its recorded hook (uninstall has no --gateway-hook),
   * without a record the configured one; "auto" in either XDP mode. An XDP
   * program that is not ours is left alone.
   */
  clean(previous?: unknown): void {
    removePins(this.env.pinDir, this.env.bpfDir);
    const prev = GatewayRecord.safeParse(previous).data;
    // the filters and the qdiscs it created where the predecessor recorded them, then any of ours where configured
    for (const p of prev?.interfaces ?? []) removeLeftoverHooks(GATEWAY_TC_SLOT, this.env.netns, p);
    const interfaces = new Set([...(prev?.interfaces ?? []).map((p) => p.ifname), ...this.settings.interfaces]);
    const targets = [...interfaces].map((ifname) => ({ ifname, netns: this.env.netns })).filter((t) => {
      try {
        ifindexOf(t.ifname, t.netns);
        return true;
      } catch {
        return false;
      }
    });
    const modes = xdpModes(prev?.hook ?? this.settings.hook);
    for (const t of targets) {
      removeTcFilter(t, "ingress", GATEWAY_TC_SLOT.handle, GATEWAY_TC_SLOT.priority, GATEWAY_TC_SLOT.isOurs);
      removeOurXdp(t, modes);
    }
  }

  record(handOver = false): GatewayRecord | undefined {
    const run = this.#run;
    if (!run) return undefined;
    return {
      hook: run.hook,
      version: run.version,
      ...(handOver ? { reported: reportedTotals(run) } : {}),
      interfaces: run.links.map((l, i) => ({
        ifname: this.settings.interfaces[i]!,
        ifindex: l.ifindex,
        ownQdisc: [l, run.neigh[i]].some((a) => a instanceof TcAttachment && a.createdQdisc),
      })),
    };
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
    run.frontends.sync(run.obj, gw);
    run.version = state.version;
    for (const s of gw.services) run.maxService = Math.max(run.maxService, s.id);
    this.#schedule(run);
    this.env.log(
      `gateway: version ${state.version} programmed: ${gw.services.length} frontend(s), ${report.programmed} changed, ${report.removed} removed` +
        (report.unplaced.length
          ? `; no room in the table pool (--gateway-table-pool) for ${report.unplaced.slice(0, 5).join(", ")}`
          : "") +
        (run.frontends.uncounted
          ? `; ${run.frontends.uncounted} frontend(s) over ${GW_LIMITS.GW_FE_STATS_ENTRIES} counted per node only`
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
    // entries created, not present, not ended by gw_expire nor removed by us were evicted
    const evicted = Math.max(run.evicted, c.flows - run.purged - c.expired - run.obj.map("gw_ct").countKeys());
    const out: GatewayCounters = {
      version: run.version,
      services,
      flows: delta(c.flows, run.flows),
      evicted: evicted - run.evicted,
      noBackend: delta(c.no_backend, run.noBackend),
    };
    const frontends = run.frontends.take(run.obj, LB_ROWS_PER_BATCH);
    if (frontends.length) out.frontends = frontends;
    run.flows = c.flows;
    run.evicted = evicted;
    run.noBackend = c.no_backend;
    return out;
  }

  programs(bpfStats: boolean): ProgramInfo[] {
    const run = this.#run;
    if (!run) return [];
    const at = (l: XdpAttachment | TcAttachment, i: number) =>
      `${l.netns ? `${l.netns}:` : ""}${this.settings.interfaces[i]}`;
    const sites = new Map<number, string[]>();
    const main = run.obj.program(run.hook === "tc" ? GATEWAY_TC_PROGRAM : GATEWAY_PROGRAM);
    sites.set(
      main.id,
      run.links.map((l, i) => l instanceof TcAttachment ? `tc ingress ${at(l, i)}` : `xdp ${at(l, i)} (${l.mode})`),
    );
    if (run.neigh.length) {
      sites.set(run.obj.program(GATEWAY_TC_NEIGH_PROGRAM).id, run.neigh.map((l, i) => `tc ingress ${at(l, i)}`));
    }
    return describePrograms(this.name, sites, bpfStats);
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

  /** Where it runs now (auto resolved); null when not running. */
  get runningHook(): GatewayRunHook | null {
    return this.#run?.hook ?? null;
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

/**
 * Opens and loads the gateway object with its sizes and SNAT settings, and
 * the programmer of its tables (nothing attached). With `pinDir` its maps
 * are pinned there, or reused from there when pinned already.
 */
export function loadGateway(
  bpfDir: string,
  s: Pick<GatewaySettings, "flowEntries" | "poolSlots" | "snatPorts" | "quarantineMs"> & {
    timeouts?: FlowTimeouts;
    sweepMs?: number;
    /** Another build of the program (the bench's gateway_noexpiry.bpf.o). */
    object?: string;
  },
  snatIp: string,
  pinDir?: string,
): { obj: BpfObject; programmer: LbProgrammer } {
  const obj = BpfObject.open(`${bpfDir}/${s.object ?? GATEWAY_OBJECT}`);
  return setUpOrLeaveNothing(obj, () => {
    obj.map("gw_ct").setMaxEntries(s.flowEntries);
    obj.map("gw_rev").setMaxEntries(s.flowEntries);
    obj.map("gw_maglev").setMaxEntries(s.poolSlots / LB_MAGLEV_CHUNK);
    if (pinDir) {
      makeDirs(pinDir);
      // pinned maps of another size or layout do not fit: the load fails (the adoption with it)
      for (const m of obj.maps) {
        if (pinnedMap(m.name)) m.setPinPath(`${pinDir}/${m.name}`);
      }
    }
    obj.load();
    // an adopted gw_config keeps its clock (a running program stamps flows with it); gw_expire then advances it,
    // counting the time since the predecessor's last sweep as a pause (expiry.ts)
    const config = encodeConfig(
      snatIp,
      s.snatPorts[0],
      s.snatPorts[1],
      s.timeouts ?? DEFAULT_FLOW_TIMEOUTS,
      clockStepMaxMs(s.sweepMs ?? DEFAULT_SWEEP_MS),
      obj.map("gw_config").lookup(u32(0)) ?? undefined,
    );
    obj.map("gw_config").update(u32(0), config);
    sweepFlows(obj);
    const programmer = new LbProgrammer(
      new KernelTarget(obj, MAP_NAMES),
      new PoolAllocator(s.poolSlots / LB_MAGLEV_CHUNK),
      s.quarantineMs,
    );
    return { obj, programmer };
  }, () => {});
}

/** gw_xdp on one interface in a mode (replacing a gw_xdp left by an agent that died). */
function attachXdp(obj: BpfObject, target: { ifname: string; netns?: string }, mode: GatewayXdpMode): XdpAttachment {
  return obj.program(GATEWAY_PROGRAM).attachXdp(target, { mode, replace: leftoverOurs(target, mode) });
}

/** Whether the XDP program on the interface in that mode is gw_xdp (ours, left by an agent that died). */
function leftoverOurs(target: { ifname: string; netns?: string }, mode: GatewayXdpMode): boolean {
  const id = queryXdpProgId(target, mode);
  if (!id) return false;
  const name = progInfoById(id)?.name;
  if (name === GATEWAY_PROGRAM) return true;
  throw new Error(
    `gateway: ${target.ifname} already runs XDP program ${name ?? `id ${id}`} (not ours): not replacing it`,
  );
}

type GatewayXdpMode = Exclude<GatewayRunHook, "tc">;

/** The XDP modes a gw_xdp of this hook can be attached in: none for tc, either for "auto" (not known which). */
export function xdpModes(hook: GatewayHook): GatewayXdpMode[] {
  return hook === "tc" ? [] : hook === "auto" ? ["native", "skb"] : [hook];
}

/** Detaches a gw_xdp from the interface in these modes; any other XDP program stays. */
function removeOurXdp(target: IfTarget, modes: readonly GatewayXdpMode[]): void {
  for (const mode of modes) removeXdpProgram(target, mode, (name) => name === GATEWAY_PROGRAM);
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

/** The totals a hand-over record carries (GatewayRecord.reported): what the batches so far reported. */
function reportedTotals(run: Running): NonNullable<GatewayRecord["reported"]> {
  const services: [number, number, number, number, number][] = [];
  for (let id = 1; id <= run.maxService; id++) {
    const t = run.seen.subarray(id * 4, id * 4 + 4);
    if (t.some((x) => x > 0)) services.push([id, t[0]!, t[1]!, t[2]!, t[3]!]);
  }
  const { flows, evicted, noBackend, purged } = run;
  return { services, flows, evicted, noBackend, purged, frontends: run.frontends.handOver() };
}

/** Whether the module pins a map of the object: every gw_ map but the per-CPU flow cache. */
function pinnedMap(name: string): boolean {
  return name.startsWith("gw_") && !UNPINNED_MAPS.has(name);
}

/** Removes the module's pins (the object's pinned maps, read from the file: nothing loaded) and the directory. */
function removePins(dir: string, bpfDir: string): void {
  if (!pathExists(dir)) return;
  const obj = BpfObject.open(`${bpfDir}/${GATEWAY_OBJECT}`);
  try {
    for (const m of obj.maps) if (pinnedMap(m.name)) removeFile(`${dir}/${m.name}`);
  } finally {
    obj.close();
  }
  removeEmptyDir(dir);
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
