// SPDX-License-Identifier: Apache-2.0
/**
 * The lb module: service load balancing at the socket (bpf/sock_lb.bpf.c).
 * Loads the object, attaches its cgroup programs (connect4, sendmsg4,
 * recvmsg4, getpeername4, and connect6, recvmsg6, getpeername6 for IPv4
 * services reached from AF_INET6 sockets as ::ffff:a.b.c.d) to the pods'
 * cgroup (--lb-cgroup, never the root),
 * follows the control plane's services by long-poll (sync.ts) and programs
 * each state as it arrives (programmer.ts: by difference, tables swapped
 * whole, frees after a quarantine), and reads its connection counters into
 * each batch (deltas, only the ids that moved).
 *
 * Surviving a crash of the agent: maps and links are pinned under the
 * module's pin directory, so the programs keep balancing while no agent
 * runs; a restarted agent reuses the maps, swaps its freshly loaded programs
 * into the pinned links (BPF_LINK_UPDATE: never a moment without), takes the
 * programmed services over (tables equal to what it computes stay as they
 * are) and counts from where the kernel's counters are. The agent's
 * SIGTERM does the same on purpose (release()); stop() (switched off,
 * uninstall) detaches and unpins everything.
 */
import { z } from "zod";
import type { MapInfo, ProgramInfo } from "../../../control/wire/batch.ts";
import {
  LB_MAX_BACKENDS,
  LB_MAX_SERVICES,
  type LbCounters,
  type LbState,
  MAX_LB_COUNTER_ROWS,
} from "../../../control/wire/services.ts";
import { BpfObject, type LinkAttachment, openPinnedLink } from "../../libbpf/mod.ts";
import { u64At } from "../common/delta.ts";
import { describeMaps, describePrograms } from "../common/inventory.ts";
import { closeAndUnpin, PinDir, setUpOrLeaveNothing } from "../common/lifecycle.ts";
import type { Module, ModuleEnv, Reading, StartOptions } from "../module.ts";
import { cgroupInode, resolveLbCgroup } from "./cgroup.ts";
import {
  BACKEND_SIZE,
  BACKEND_STATS_SIZE,
  type BackendValue,
  CHUNK_SIZE,
  decodeBackend,
  decodeSvc,
  encodeBackend,
  encodeSvc,
  encodeSvcKey,
  type Frontend,
  LB_MAGLEV_CHUNK,
  SVC_KEY_SIZE,
  SVC_SIZE,
  SVC_STATS_SIZE,
  type SvcValue,
} from "./layout.ts";
import { PoolAllocator } from "./pool.ts";
import {
  type ApplyReport,
  DEFAULT_QUARANTINE_MS,
  LbProgrammer,
  type LbTarget,
  scheduleMaintenance,
  type TableWrite,
} from "./programmer.ts";
import { type LbPoll, LbSync } from "./sync.ts";

export interface LbSettings {
  /** The pods' cgroup (--lb-cgroup): absolute, or relative to the cgroup v2 mount. Required to switch lb on. */
  cgroup?: string;
  /** Maglev slots of the pool every service's table lives in (--lb-table-pool), a multiple of 16. */
  poolSlots: number;
  /** Client-affinity entries (--lb-affinity-table-size). */
  affinityEntries: number;
  /** Sockets remembered to show the VIP to (--lb-reverse-table-size). */
  reverseEntries: number;
  /** How long a replaced table's range, or a removed backend's slot, stays untouched. */
  quarantineMs: number;
}

export const DEFAULT_LB: LbSettings = {
  poolSlots: 1 << 22,
  affinityEntries: 65536,
  reverseEntries: 65536,
  quarantineMs: DEFAULT_QUARANTINE_MS,
};

export const LB_OBJECT = "sock_lb.bpf.o";
const PINNED_MAPS = [
  "lb_services",
  "lb_backends",
  "lb_maglev",
  "lb_affinity",
  "lb_reverse",
  "lb_svc_stats",
  "lb_backend_stats",
] as const;
/** program -> its hook, as the inventory says it. */
export const LB_PROGRAMS = {
  lb_connect4: "connect4",
  lb_sendmsg4: "sendmsg4",
  lb_recvmsg4: "recvmsg4",
  lb_getpeername4: "getpeername4",
  // IPv4 services reached from AF_INET6 sockets (::ffff:a.b.c.d)
  lb_connect6: "connect6",
  lb_recvmsg6: "recvmsg6",
  lb_getpeername6: "getpeername6",
} as const;
type ProgramName = keyof typeof LB_PROGRAMS;
const linkPin = (p: string) => `${p}_link`;
const PROGRAM_NAMES = Object.keys(LB_PROGRAMS) as ProgramName[];

/**
 * Counter rows per batch (each of services and backends): well under the
 * wire's MAX_LB_COUNTER_ROWS, so that a batch stays within MAX_BATCH_BYTES
 * next to the monitoring records (fitBatch does not cut lb rows). Ids that
 * moved beyond it are reported in the next batch.
 */
export const LB_ROWS_PER_BATCH = Math.min(5000, MAX_LB_COUNTER_ROWS);

/**
 * epoch.json: the cgroup the links are on; at a hand-over also the counts
 * reported so far (service id -> connections, refused; backend slot ->
 * connections), which the successor takes as its baseline instead of the
 * kernel's counts, so that what was counted after the last batch is
 * reported by it (after a crash that part is lost, never counted twice).
 */
const Reported = z.object({
  services: z.array(z.tuple([z.number(), z.number(), z.number()])),
  backends: z.array(z.tuple([z.number(), z.number()])),
});
type Reported = z.infer<typeof Reported>;
const Record = z.object({
  cgroup: z.string(),
  /** The version programmed: an adopting agent's counts are of it until its own first apply. */
  version: z.number().int().nonnegative().optional(),
  reported: Reported.optional(),
});
type Record = z.infer<typeof Record>;

interface Running {
  obj: BpfObject;
  cgroup: string;
  links: Map<ProgramName, LinkAttachment>;
  programmer: LbProgrammer;
  stats: LbStats;
  sync: LbSync | null;
  timer?: ReturnType<typeof setTimeout>;
  /** The version programmed, 0 before the first. */
  version: number;
}

export class LbModule implements Module {
  readonly name = "lb" as const;
  /** Its counters are deltas: switching it on does not begin an epoch. */
  readonly counting = false;
  #run: Running | null = null;
  #stopping: Promise<void> = Promise.resolve();
  readonly #pins: PinDir;

  /** `poll`: how to ask the control plane for the services (null: only apply() programs them, e.g. tests). */
  constructor(
    private readonly env: ModuleEnv,
    private readonly settings: LbSettings = DEFAULT_LB,
    private readonly poll: LbPoll | null = null,
  ) {
    if (settings.poolSlots % LB_MAGLEV_CHUNK || settings.poolSlots < LB_MAGLEV_CHUNK) {
      throw new Error(
        `lb: the table pool must be a positive multiple of ${LB_MAGLEV_CHUNK} slots, not ${settings.poolSlots}`,
      );
    }
    this.#pins = new PinDir(env.pinDir, [...PINNED_MAPS, ...PROGRAM_NAMES.map(linkPin)]);
  }

  hasPins(): boolean {
    return this.#pins.has("lb_services");
  }

  start({ adopt, previous }: StartOptions): void {
    if (this.#run) return;
    const cgroup = resolveLbCgroup(this.settings.cgroup);
    let run: Running | null = null;
    if (adopt && this.hasPins()) {
      try {
        run = this.#open(cgroup, parseRecord(previous) ?? { cgroup: "" });
      } catch (e) {
        this.env.log(`lb: cannot adopt the pinned maps and links (${(e as Error).message}): starting from empty maps`);
      }
    }
    if (!run) {
      this.clean(previous);
      run = this.#open(cgroup, null);
    }
    this.#run = run;
    if (this.poll) {
      run.sync = new LbSync(this.poll, (s) => this.apply(s), this.env.log);
      run.sync.start();
    }
    this.#schedule(run);
  }

  stop(): void {
    const run = this.#letGo();
    if (run) closeAndUnpin(run.obj, this.#pins); // detaches (and unpins) the links, then removes the map pins
  }

  /** Ends the poll and the maintenance timer; returns what ran. */
  #letGo(): Running | null {
    const run = this.#run;
    if (!run) return null;
    this.#run = null;
    clearTimeout(run.timer);
    this.#stopping = run.sync?.stop() ?? Promise.resolve();
    return run;
  }

  /** Resolves once the poll of a stopped module has ended (its request aborted). */
  settled(): Promise<void> {
    return this.#stopping;
  }

  clean(_previous?: unknown): void {
    for (const p of PROGRAM_NAMES) {
      if (this.#pins.has(linkPin(p))) openPinnedLink(this.#pins.path(linkPin(p)), this).detach();
    }
    this.#pins.removeAll();
  }

  record(handOver = false): Record | undefined {
    const run = this.#run;
    if (!run) return undefined;
    return { cgroup: run.cgroup, version: run.version, ...(handOver ? { reported: run.stats.reported() } : {}) };
  }

  /**
   * Programs a state now (the poll calls this for every answer). Counts read
   * so far are set aside first when services or backends come or go, so
   * that they are reported under the version they were counted in.
   */
  apply(state: LbState): ApplyReport {
    const run = this.#run;
    if (!run) throw new Error("lb: not running");
    const before = run.programmer.ids();
    if (idsChange(before, state)) run.stats.setAside(run.version);
    const t0 = performance.now();
    const report = run.programmer.apply(state, performance.now());
    run.version = state.version;
    run.stats.watch(state);
    this.#schedule(run);
    this.env.log(
      `lb: version ${state.version} programmed: ${state.services.length} service(s), ${report.programmed} changed, ${report.removed} removed` +
        ` in ${Math.round(performance.now() - t0)} ms` +
        (report.held.length
          ? `; no free backend slot for backend(s) ${
            report.held.slice(0, 10).join(", ")
          }: left out of the tables for now`
          : "") +
        (report.unplaced.length
          ? `; no room in the table pool (--lb-table-pool) for ${report.unplaced.slice(0, 5).join(", ")}${
            report.unplaced.length > 5 ? ` and ${report.unplaced.length - 5} more` : ""
          }`
          : ""),
    );
    return report;
  }

  /** The version programmed (0: none yet). */
  get version(): number {
    return this.#run?.version ?? 0;
  }

  read(): Reading {
    const run = this.#run;
    if (!run) return {};
    return { lb: run.stats.take(run.version) };
  }

  programs(bpfStats: boolean): ProgramInfo[] {
    const run = this.#run;
    if (!run) return [];
    const sites = new Map<number, string[]>();
    for (const [p, link] of run.links) sites.set(link.progId, [`cgroup ${LB_PROGRAMS[p]} ${run.cgroup}`]);
    return describePrograms(this.name, sites, bpfStats);
  }

  maps(): MapInfo[] {
    const run = this.#run;
    if (!run) return [];
    const count = (m: string) => {
      let n = 0;
      run.obj.map(m).forEachBatch((_k, _v, c) => void (n += c), { batchSize: 8192 });
      return n;
    };
    return describeMaps(this.name, run.obj, {
      lb_services: run.programmer.services,
      lb_backends: run.programmer.backends,
      lb_maglev: run.programmer.pool.used,
      lb_affinity: count("lb_affinity"),
      lb_reverse: count("lb_reverse"),
      lb_svc_stats: run.programmer.services,
      lb_backend_stats: run.programmer.backends,
    });
  }

  /** Test hook: what programmer and pool hold now. */
  get programmer(): LbProgrammer | null {
    return this.#run?.programmer ?? null;
  }

  /**
   * The hand-over to the next agent (SIGTERM), and what a crash amounts to:
   * lets go of everything without detaching or unpinning (the pinned links
   * keep the programs attached, the pinned maps keep the services).
   */
  release(): void {
    this.#letGo()?.obj.close({ keepAttachments: true });
  }

  /** Loads, attaches (or adopts the pinned links when `adopting` names the cgroup they were attached to) and sets up the programmer. */
  #open(cgroup: string, adopting: Record | null): Running {
    const obj = BpfObject.open(`${this.env.bpfDir}/${LB_OBJECT}`);
    return setUpOrLeaveNothing(obj, () => {
      obj.map("lb_maglev").setMaxEntries(this.settings.poolSlots / LB_MAGLEV_CHUNK);
      obj.map("lb_affinity").setMaxEntries(this.settings.affinityEntries);
      obj.map("lb_reverse").setMaxEntries(this.settings.reverseEntries);
      this.#pins.pinMaps(obj, PINNED_MAPS); // pinned maps of another size do not fit: the adoption fails
      obj.load();
      const programmer = new LbProgrammer(
        new KernelTarget(obj),
        new PoolAllocator(this.settings.poolSlots / LB_MAGLEV_CHUNK),
        this.settings.quarantineMs,
      );
      const stats = new LbStats(obj, programmer);
      if (adopting) {
        adoptTables(programmer, obj, LB_MAPS);
        stats.baseline(adopting.reported); // what the predecessor reported (or, after a crash, counted) was its
      }
      const links = adopting ? this.#adoptLinks(obj, cgroup, adopting) : this.#attach(obj, cgroup, PROGRAM_NAMES);
      return { obj, cgroup, links, programmer, stats, sync: null, version: adopting?.version ?? 0 };
    }, () => {});
  }

  /** Attaches programs to the cgroup and pins their links (so that they outlive a crash). */
  #attach(
    obj: BpfObject,
    cgroup: string,
    names: ProgramName[],
    links = new Map<ProgramName, LinkAttachment>(),
  ): Map<ProgramName, LinkAttachment> {
    for (const p of names) {
      const link = obj.program(p).attachCgroup(cgroup);
      links.set(p, link);
      link.pin(this.#pins.path(linkPin(p)));
    }
    return links;
  }

  /**
   * The predecessor's pinned links run its programs on `cgroup`: each is
   * switched to this object's program in place. Links on another cgroup
   * (the flag changed) are detached and ours attached.
   */
  #adoptLinks(obj: BpfObject, cgroup: string, prev: Record): Map<ProgramName, LinkAttachment> {
    const links = new Map<ProgramName, LinkAttachment>();
    const missing: ProgramName[] = [];
    const cgroupId = cgroupInode(cgroup);
    for (const p of PROGRAM_NAMES) {
      const path = this.#pins.path(linkPin(p));
      if (!this.#pins.has(linkPin(p))) {
        missing.push(p);
        continue;
      }
      const link = openPinnedLink(path, obj);
      if (prev.cgroup !== cgroup || link.cgroupId !== cgroupId) {
        link.detach();
        missing.push(p);
        continue;
      }
      link.updateProgram(obj.program(p));
      links.set(p, link);
    }
    return this.#attach(obj, cgroup, missing, links);
  }

  /** Runs maintain() when the programmer has something due (frees after quarantine, held backends). */
  #schedule(run: Running): void {
    scheduleMaintenance(
      run,
      () => this.#run === run,
      "lb",
      this.env.log,
      (report) =>
        this.env.log(
          `lb: version ${report.version}: ${report.programmed} service(s) reprogrammed after the quarantine`,
        ),
    );
  }
}

function parseRecord(previous: unknown): Record | null {
  const r = Record.safeParse(previous);
  return r.success ? r.data : null;
}

/** Whether programming `state` adds or removes service or backend ids. */
function idsChange(before: { services: Set<number>; backends: Set<number> }, state: LbState): boolean {
  let services = 0, backends = 0;
  for (const s of state.services) {
    if (!before.services.has(s.id)) return true;
    services++;
    for (const b of s.backends) {
      if (b.state === "active" || b.state === "terminating" || b.state === "unhealthy") {
        if (!before.backends.has(b.id)) return true;
        backends++;
      }
    }
  }
  return services !== before.services.size || backends !== before.backends.size;
}

/** Names of the maps a KernelTarget writes (the gateway has its own of the same layout). */
export interface LbMapNames {
  services: string;
  backends: string;
  maglev: string;
}

const LB_MAPS: LbMapNames = { services: "lb_services", backends: "lb_backends", maglev: "lb_maglev" };

/** The maps as the programmer writes them, in batches. */
export class KernelTarget implements LbTarget {
  constructor(
    private readonly obj: BpfObject,
    private readonly names: LbMapNames = LB_MAPS,
  ) {}

  writeBackends(list: [number, BackendValue | null][]): void {
    const keys = new Uint8Array(list.length * 4);
    const kv = new DataView(keys.buffer);
    const values = new Uint8Array(list.length * BACKEND_SIZE);
    list.forEach(([id, v], i) => {
      kv.setUint32(i * 4, id, true);
      encodeBackend(v, values, i * BACKEND_SIZE);
    });
    this.obj.map(this.names.backends).updateBatch(keys, values, list.length);
  }

  /** Tables go in groups of chunks (a few MiB of buffer), each group one batch update. */
  writeTables(list: TableWrite[]): void {
    const GROUP = 16384;
    const keys = new Uint32Array(GROUP);
    const values = new Uint32Array(GROUP * LB_MAGLEV_CHUNK); // host byte order, as the kernel reads them
    const map = this.obj.map(this.names.maglev);
    let n = 0;
    const flush = () => {
      if (n) {
        map.updateBatch(new Uint8Array(keys.buffer, 0, n * 4), new Uint8Array(values.buffer, 0, n * CHUNK_SIZE), n);
      }
      n = 0;
    };
    for (const { offset, table } of list) {
      for (let at = 0; at < table.length; at += LB_MAGLEV_CHUNK) {
        keys[n] = (offset + at) / LB_MAGLEV_CHUNK;
        const part = table.subarray(at, at + LB_MAGLEV_CHUNK);
        values.set(part, n * LB_MAGLEV_CHUNK);
        if (part.length < LB_MAGLEV_CHUNK) values.fill(0, n * LB_MAGLEV_CHUNK + part.length, (n + 1) * LB_MAGLEV_CHUNK);
        if (++n === GROUP) flush();
      }
    }
    flush();
  }

  writeServices(list: [Frontend, SvcValue][]): void {
    const keys = new Uint8Array(list.length * SVC_KEY_SIZE);
    const values = new Uint8Array(list.length * SVC_SIZE);
    list.forEach(([f, v], i) => {
      encodeSvcKey(f, keys, i * SVC_KEY_SIZE);
      encodeSvc(f, v, values, i * SVC_SIZE);
    });
    this.obj.map(this.names.services).updateBatch(keys, values, list.length);
  }

  deleteServices(list: Frontend[]): void {
    const keys = new Uint8Array(list.length * SVC_KEY_SIZE);
    list.forEach((f, i) => encodeSvcKey(f, keys, i * SVC_KEY_SIZE));
    this.obj.map(this.names.services).deleteBatch(keys, list.length);
  }
}

/** Hands what a predecessor programmed into the pinned maps `names` over to `programmer` (an adoption). */
export function adoptTables(programmer: LbProgrammer, obj: BpfObject, names: LbMapNames): void {
  programmer.adopt(readServices(obj, names.services), readBackends(obj, names.backends), poolReader(obj, names.maglev));
}

/** The services a predecessor programmed; throws on a value that does not hold together. */
function readServices(obj: BpfObject, map: string): [Frontend, SvcValue][] {
  const out: [Frontend, SvcValue][] = [];
  obj.map(map).forEachBatch((_keys, values, n) => {
    for (let i = 0; i < n; i++) {
      const s = decodeSvc(values, i * SVC_SIZE);
      if (!s) throw new Error(`${map} holds a value whose check word does not match (another layout?)`);
      out.push([s.frontend, s.value]);
    }
  }, { batchSize: 4096 });
  return out;
}

function readBackends(obj: BpfObject, map: string): [number, BackendValue][] {
  const out: [number, BackendValue][] = [];
  obj.map(map).forEachBatch((keys, values, n) => {
    const kv = new DataView(keys.buffer, keys.byteOffset);
    for (let i = 0; i < n; i++) {
      const b = decodeBackend(values, i * BACKEND_SIZE);
      if (b) out.push([kv.getUint32(i * 4, true), b]);
    }
  }, { batchSize: 65536 });
  return out;
}

/** Reads a table back from the pool: the whole pool once, at the first call (adoption only). */
function poolReader(obj: BpfObject, name: string): (offset: number, size: number) => Uint32Array | null {
  let pool: Uint32Array | null = null;
  return (offset, size) => {
    if (!pool) {
      const map = obj.map(name);
      const all = new Uint32Array(map.handle.maxEntries * LB_MAGLEV_CHUNK);
      map.forEachBatch((keys, values, n) => {
        const kv = new DataView(keys.buffer, keys.byteOffset);
        const ids = new Uint32Array(values.buffer, values.byteOffset, n * LB_MAGLEV_CHUNK);
        for (let i = 0; i < n; i++) {
          all.set(
            ids.subarray(i * LB_MAGLEV_CHUNK, (i + 1) * LB_MAGLEV_CHUNK),
            kv.getUint32(i * 4, true) * LB_MAGLEV_CHUNK,
          );
        }
      }, { batchSize: 16384 });
      pool = all;
    }
    return offset + size <= pool.length ? pool.subarray(offset, offset + size) : null;
  };
}

/**
 * The per-service and per-backend counters as deltas: the kernel's arrays
 * are cumulative; what each service id and backend slot had at the last
 * read is kept (dense, indexed), and only what moved is reported, a slot's
 * counts under the id of the backend it holds. Counts read just before an
 * apply that adds or removes ids are set aside with the version they were
 * counted under and reported next.
 */
class LbStats {
  readonly #svc = new Float64Array((LB_MAX_SERVICES + 1) * 2);
  readonly #be = new Float64Array(LB_MAX_BACKENDS + 1);
  #maxService = 0;
  #aside: LbCounters | null = null;

  constructor(private readonly obj: BpfObject, private readonly programmer: LbProgrammer) {}

  /** Service ids up to which lb_svc_stats is read: the largest programmed in this run. */
  watch(state: LbState): void {
    for (const s of state.services) this.#maxService = Math.max(this.#maxService, s.id);
  }

  /**
   * After an adoption: what the predecessor reported at its hand-over, or
   * (after a crash) the kernel's counters as they are, reporting nothing.
   */
  baseline(reported?: Reported): void {
    for (const id of this.programmer.ids().services) this.#maxService = Math.max(this.#maxService, id);
    if (!reported) {
      this.#read(Infinity);
      return;
    }
    for (const [id, c, r] of reported.services) {
      if (id >= 1 && id <= LB_MAX_SERVICES) [this.#svc[id * 2], this.#svc[id * 2 + 1]] = [c, r];
    }
    for (const [slot, c] of reported.backends) if (slot >= 1 && slot <= LB_MAX_BACKENDS) this.#be[slot] = c;
  }

  /** The counts reported so far, where not zero (for a successor's baseline). */
  reported(): Reported {
    const services: [number, number, number][] = [], backends: [number, number][] = [];
    for (let id = 1; id <= this.#maxService; id++) {
      const c = this.#svc[id * 2], r = this.#svc[id * 2 + 1];
      if (c || r) services.push([id, c, r]);
    }
    for (let slot = 1; slot < this.#be.length; slot++) if (this.#be[slot]) backends.push([slot, this.#be[slot]]);
    return { services, backends };
  }

  /** Sets the counts so far aside, reported with `version` at the next take(). */
  setAside(version: number): void {
    // one set-aside of full size is as much as a batch should carry: later counts wait in the kernel
    if (this.#aside && Math.max(this.#aside.services.length, this.#aside.backends.length) >= LB_ROWS_PER_BATCH) return;
    const c = this.#read(LB_ROWS_PER_BATCH);
    if (!c.services.length && !c.backends.length) return;
    if (!this.#aside) {
      this.#aside = { ...c, version };
      return;
    }
    const svc = new Map(this.#aside.services.map(([id, n, r]) => [id, [n, r]]));
    for (const [id, n, r] of c.services) svc.set(id, [(svc.get(id)?.[0] ?? 0) + n, (svc.get(id)?.[1] ?? 0) + r]);
    const be = new Map(this.#aside.backends);
    for (const [id, n] of c.backends) be.set(id, (be.get(id) ?? 0) + n);
    this.#aside = {
      version: this.#aside.version,
      services: [...svc].sort((a, b) => a[0] - b[0]).map(([id, [n, r]]) => [id, n, r]),
      backends: [...be].sort((a, b) => a[0] - b[0]),
    };
  }

  /** What moved since the last take (or what was set aside, first). */
  take(version: number): LbCounters {
    const aside = this.#aside;
    if (aside) {
      this.#aside = null;
      return aside;
    }
    return { version, ...this.#read(LB_ROWS_PER_BATCH) };
  }

  /** Deltas of ids that moved, at most `limit` rows each (the others stay for the next read). */
  #read(limit: number): Omit<LbCounters, "version"> {
    const services: [number, number, number][] = [];
    const byOwner = new Map<number, number>();
    this.#scan("lb_svc_stats", SVC_STATS_SIZE, this.#maxService, (id, dv, o) => {
      const c = u64At(dv, o), r = u64At(dv, o + 8);
      const dc = delta(c, this.#svc[id * 2]), dr = delta(r, this.#svc[id * 2 + 1]);
      if ((dc || dr) && services.length < limit) {
        services.push([id, dc, dr]);
        this.#svc[id * 2] = c;
        this.#svc[id * 2 + 1] = r;
      }
    });
    this.#scan("lb_backend_stats", BACKEND_STATS_SIZE, this.programmer.maxSlotInUse, (slot, dv, o) => {
      const c = u64At(dv, o);
      const dc = delta(c, this.#be[slot]);
      const owner = this.programmer.ownerOf(slot) ?? slot;
      if (dc && (byOwner.size < limit || byOwner.has(owner))) {
        byOwner.set(owner, (byOwner.get(owner) ?? 0) + dc);
        this.#be[slot] = c;
      }
    });
    return { services, backends: [...byOwner].sort((a, b) => a[0] - b[0]) };
  }

  /** Array entries 1..max with their value at dv offset `o`, in batches. */
  #scan(map: string, size: number, max: number, fn: (id: number, dv: DataView, o: number) => void): void {
    if (max < 1) return;
    this.obj.map(map).forEachBatch((keys, values, n) => {
      const kv = new DataView(keys.buffer, keys.byteOffset);
      const dv = new DataView(values.buffer, values.byteOffset);
      let id = 0;
      for (let i = 0; i < n; i++) {
        id = kv.getUint32(i * 4, true);
        if (id > max) return false;
        if (id) fn(id, dv, i * size);
      }
      return id < max;
    }, { batchSize: Math.min(8192, max + 1) });
  }
}

/** A counter's growth; a counter smaller than remembered was reset (a new map): all of it is new. */
function delta(now: number, before: number): number {
  return now >= before ? now - before : now;
}
