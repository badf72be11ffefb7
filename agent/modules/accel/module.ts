// SPDX-License-Identifier: Apache-2.0
/**
 * The accel module: socket acceleration of same-node traffic
 * (bpf/sock_accel.bpf.c). Loads the object, attaches the sockops program to
 * the pods' cgroup (--lb-cgroup: the same cgroup the socket load balancer
 * uses, never the root) and the sk_msg program, plus, on kernels that lose
 * receive wake-ups without one (--accel-sockmap-workaround: auto goes by
 * policy.ts kernelLosesWakeups, on and off are the operator's), the
 * pass-through SK_SKB verdict program, to the sockhash. It follows the
 * control plane's rules and services by the lb long-poll (the rules come
 * with the lb state) and the node's pods, and programs by difference the
 * node's pod addresses and the opted-in endpoints (policy.ts). Its counters
 * (connections and bytes per rule) go into each batch as deltas.
 *
 * Nothing is pinned: when the agent stops or dies the programs and the
 * sockhash go with it, and sockets carry on over TCP (tested under load:
 * nothing lost). A clean stop first switches acceleration off (messages go
 * the normal way) and only then detaches. A rule or pod change applies to
 * connections made after it; an accelerated connection stays so until it
 * closes or acceleration is switched off.
 */
import type { AccelCounters, AccelRule } from "../../../control/wire/accel.ts";
import type { MapInfo, ProgramInfo } from "../../../control/wire/batch.ts";
import type { LbService, LbState } from "../../../control/wire/services.ts";
import { checkInt } from "../../libbpf/errors.ts";
import { libbpf } from "../../libbpf/ffi.ts";
import { BpfObject, type LinkAttachment, readKernelFile } from "../../libbpf/mod.ts";
import { describeMaps, describePrograms } from "../common/inventory.ts";
import { setUpOrLeaveNothing } from "../common/lifecycle.ts";
import { resolveLbCgroup } from "../lb/cgroup.ts";
import { type LbPoll, LbSync } from "../lb/sync.ts";
import type { Module, ModuleEnv, Reading, StartOptions } from "../module.ts";
import {
  type AccelPlan,
  chooseSockmapWorkaround,
  diffPlan,
  type EndpointKey,
  planAccel,
  type SockmapWorkaround,
  type WorkaroundChoice,
} from "./policy.ts";

export const ACCEL_OBJECT = "sock_accel.bpf.o";
const BPF_SK_MSG_VERDICT = 7;
const BPF_SK_SKB_VERDICT = 38;
/** accel_stats value: connections, bytes, msgs, passed (u64 each). */
const STATS_FIELDS = 4;
const MAX_RULES = 1023;

export interface AccelSettings {
  /** The pods' cgroup (--lb-cgroup). */
  cgroup?: string;
  /** The pass-through SK_SKB verdict program (--accel-sockmap-workaround): "auto" attaches it on kernels that need it. */
  skbVerdict: SockmapWorkaround;
  /** Extra addresses taken as this node's pods (tests; the lab's pods come from the pod directory). */
  localIps?: string[];
}

export const DEFAULT_ACCEL: AccelSettings = { skbVerdict: "auto" };

/** A program attached to a map (bpf_prog_attach): no link, detached with bpf_prog_detach2. */
class MapAttachment {
  #attached = true;
  constructor(readonly progFd: number, readonly mapFd: number, readonly type: number, readonly what: string) {
    checkInt("bpf_prog_attach", what, () => libbpf().bpf_prog_attach(progFd, mapFd, type, 0));
  }
  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    checkInt("bpf_prog_detach2", this.what, () => libbpf().bpf_prog_detach2(this.progFd, this.mapFd, this.type));
  }
}

interface Running {
  obj: BpfObject;
  cgroup: string;
  sockops: LinkAttachment;
  onMap: MapAttachment[];
  verdict: WorkaroundChoice;
  sync: LbSync | null;
  plan: AccelPlan;
  rules: AccelRule[];
  services: LbService[];
  version: number;
  /** Per rule id: connections and bytes reported so far. */
  seen: Float64Array;
}

export class AccelModule implements Module {
  readonly name = "accel" as const;
  readonly counting = false;
  #run: Running | null = null;
  #stopping: Promise<void> = Promise.resolve();

  constructor(
    private readonly env: ModuleEnv,
    private readonly settings: AccelSettings = DEFAULT_ACCEL,
    private readonly poll: LbPoll | null = null,
  ) {}

  hasPins(): boolean {
    return false;
  }

  clean(_previous?: unknown): void {}

  record(): undefined {
    return undefined;
  }

  start(_options: StartOptions): void {
    if (this.#run) return;
    const cgroup = resolveLbCgroup(this.settings.cgroup);
    const obj = BpfObject.open(`${this.env.bpfDir}/${ACCEL_OBJECT}`);
    const run = setUpOrLeaveNothing(obj, () => {
      obj.load();
      const verdict = chooseSockmapWorkaround(this.settings.skbVerdict, osRelease());
      const mapFd = obj.map("accel_sockets").fd;
      const onMap: MapAttachment[] = [];
      try {
        onMap.push(
          new MapAttachment(obj.program("accel_msg").fd, mapFd, BPF_SK_MSG_VERDICT, "accel_msg to accel_sockets"),
        );
        if (verdict.on) {
          onMap.push(
            new MapAttachment(obj.program("accel_skb").fd, mapFd, BPF_SK_SKB_VERDICT, "accel_skb to accel_sockets"),
          );
        }
      } catch (e) {
        for (const a of onMap) a.detach();
        throw e;
      }
      const run: Running = {
        obj,
        cgroup,
        sockops: null as unknown as LinkAttachment,
        onMap,
        verdict,
        sync: null,
        plan: { local: new Set(), endpoints: new Map() },
        rules: [],
        services: [],
        version: 0,
        seen: new Float64Array((MAX_RULES + 1) * 2),
      };
      this.#program(run);
      this.#setEnabled(obj, true);
      run.sockops = obj.program("accel_sockops").attachCgroup(cgroup);
      return run;
    }, () => {});
    this.#run = run;
    this.env.log(`accel: attached to ${cgroup}; ${workaroundText(run.verdict)}`);
    if (this.poll) {
      run.sync = new LbSync(this.poll, (s) => this.apply(s), this.env.log, { module: "accel" });
      run.sync.start();
    }
  }

  stop(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = null;
    this.#stopping = run.sync?.stop() ?? Promise.resolve();
    const errors: unknown[] = [];
    for (
      const step of [
        () => this.#setEnabled(run.obj, false),
        () => run.sockops.detach(),
        ...run.onMap.map((a) => () => a.detach()),
        () => run.obj.close(),
      ]
    ) {
      try {
        step();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  }

  settled(): Promise<void> {
    return this.#stopping;
  }

  /**
   * Acceleration on or off while the module stays attached: while off no
   * new socket enters the sockhash, and a socket that sends a message while
   * off goes the normal way from then on (never back: see accel_msg).
   */
  setEnabled(on: boolean): void {
    if (!this.#run) throw new Error("accel: not running");
    this.#setEnabled(this.#run.obj, on);
  }

  /** Whether the pass-through SK_SKB verdict program is attached. */
  get verdict(): boolean {
    return this.#run?.verdict.on ?? false;
  }

  /** Whether and why the pass-through SK_SKB verdict program is attached; null while stopped. */
  get workaround(): WorkaroundChoice | null {
    return this.#run?.verdict ?? null;
  }

  /** Takes the rules and services of a state (the poll calls this with every answer). */
  apply(state: LbState): void {
    const run = this.#run;
    if (!run) throw new Error("accel: not running");
    run.rules = state.accel ?? [];
    run.services = state.services;
    run.version = state.version;
    const n = this.#program(run);
    this.env.log(
      `accel: version ${state.version}: ${run.rules.length} rule(s), ${run.plan.endpoints.size} endpoint(s), ${run.plan.local.size} local address(es)${
        n ? `, ${n} change(s)` : ""
      }`,
    );
  }

  podsChanged(): void {
    if (this.#run) this.#program(this.#run);
  }

  get version(): number {
    return this.#run?.version ?? 0;
  }

  /** Test hook: what is programmed. */
  get plan(): AccelPlan | null {
    return this.#run?.plan ?? null;
  }

  read(): Reading {
    const run = this.#run;
    if (!run) return {};
    if (this.settings.localIps === undefined) this.#program(run); // pods the directory learned since
    return { accel: this.#counters(run) };
  }

  /** Cumulative counters per rule id (test hook), [connections, bytes, msgs, passed]. */
  totals(): Map<number, number[]> {
    const out = new Map<number, number[]>();
    const run = this.#run;
    if (!run) return out;
    this.#scan(run, (id, f) => out.set(id, f));
    return out;
  }

  programs(bpfStats: boolean): ProgramInfo[] {
    const run = this.#run;
    if (!run) return [];
    const sites = new Map<number, string[]>();
    sites.set(run.sockops.progId, [`cgroup sockops ${run.cgroup}`]);
    // the sk_msg program is there whenever the module runs: its line carries the workaround's choice and reason
    sites.set(run.obj.program("accel_msg").id, [`sk_msg accel_sockets; ${workaroundText(run.verdict)}`]);
    if (run.verdict.on) sites.set(run.obj.program("accel_skb").id, ["sk_skb verdict accel_sockets"]);
    return describePrograms(this.name, sites, bpfStats);
  }

  maps(): MapInfo[] {
    const run = this.#run;
    if (!run) return [];
    return describeMaps(this.name, run.obj, {
      accel_local: run.plan.local.size,
      accel_endpoints: run.plan.endpoints.size,
    });
  }

  #setEnabled(obj: BpfObject, on: boolean): void {
    obj.map("accel_config").handle.update(new Uint8Array(4), new Uint8Array([on ? 1 : 0, 0, 0, 0, 0, 0, 0, 0]));
  }

  /** Writes the difference between what is programmed and what rules, services and pods ask for; returns the number of changes. */
  #program(run: Running): number {
    const pods = this.env.pods.list();
    const plan = planAccel(run.rules, run.services, pods);
    for (const ip of this.settings.localIps ?? []) plan.local.add(ip);
    const d = diffPlan(run.plan, plan);
    const local = run.obj.map("accel_local").handle;
    const endpoints = run.obj.map("accel_endpoints").handle;
    const one = new Uint8Array([1, 0, 0, 0]);
    for (const ip of d.localAdd) local.update(ipBytes(ip), one);
    for (const ip of d.localDel) local.delete(ipBytes(ip));
    for (const [k, id] of d.endpointPut) {
      const v = new Uint8Array(4);
      new DataView(v.buffer).setUint32(0, id, true);
      endpoints.update(endpointKey(k), v);
    }
    for (const k of d.endpointDel) endpoints.delete(endpointKey(k));
    run.plan = plan;
    return d.localAdd.length + d.localDel.length + d.endpointPut.length + d.endpointDel.length;
  }

  #scan(run: Running, fn: (id: number, fields: number[]) => void): void {
    const map = run.obj.map("accel_stats").handle;
    map.forEachBatch((keys, values, n) => {
      const kv = new DataView(keys.buffer, keys.byteOffset);
      for (let i = 0; i < n; i++) {
        const id = kv.getUint32(i * 4, true);
        if (!id) continue;
        const slices = map.slices(values.subarray(i * map.fullValueSize, (i + 1) * map.fullValueSize));
        const f = new Array(STATS_FIELDS).fill(0);
        for (const s of slices) {
          const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
          for (let j = 0; j < STATS_FIELDS; j++) f[j] += Number(dv.getBigUint64(j * 8, true));
        }
        if (f.some((x) => x)) fn(id, f);
      }
    }, { batchSize: 256 });
  }

  #counters(run: Running): AccelCounters {
    const rules: [number, number, number][] = [];
    this.#scan(run, (id, [c, b]) => {
      const dc = c - run.seen[id * 2], db = b - run.seen[id * 2 + 1];
      if (dc > 0 || db > 0) rules.push([id, Math.max(0, dc), Math.max(0, db)]);
      run.seen[id * 2] = c;
      run.seen[id * 2 + 1] = b;
    });
    return { version: run.version, rules };
  }
}

/** "sockmap workaround on (auto: kernel 6.18.4 is among those with commit 929e30f93125)". */
export function workaroundText(c: WorkaroundChoice): string {
  return `sockmap workaround ${c.on ? "on" : "off"} (${c.why})`;
}

function osRelease(): string {
  try {
    return readKernelFile("/proc/sys/kernel/osrelease").trim();
  } catch {
    return Deno.osRelease();
  }
}

function ipBytes(ip: string): Uint8Array {
  return new Uint8Array(ip.split(".").map(Number));
}

function endpointKey(k: EndpointKey): Uint8Array {
  const i = k.lastIndexOf(":");
  const out = new Uint8Array(8);
  out.set(ipBytes(k.slice(0, i)), 0);
  new DataView(out.buffer).setUint16(4, Number(k.slice(i + 1)), true);
  return out;
}
