// SPDX-License-Identifier: Apache-2.0
/**
 * The flows module: loads bpf/flows.bpf.c, keeps its tc programs on the host
 * veth of every pod of the node (and on the host interfaces named with
 * --flow-interfaces), and reads on the agent's timer
 *   - per-pod RX/TX: the veth's counters turned round (what the veth sends is
 *     what the pod receives), cumulative;
 *   - flows: deltas of the in-kernel flow table, folded into records per
 *     service port, capped (the excess summed per pod); idle entries removed
 *     with lookup-and-delete;
 *   - the table's fill, insertions, evictions and how many keys the cap summed.
 *
 * Which veths: the lab's pods file names each pod's host veth. The
 * Kubernetes API does not, so there every veth of the node's namespace
 * (driver "veth") is hooked and a veth is tied to the pod whose IP it sees
 * as source on ingress (pods/directory.ts). Pods come and go: the set is
 * brought up to date when the pod list changes and at every read; a pod's
 * veth vanishes with its namespace, taking its filters along.
 *
 * Pod totals survive an agent crash and its SIGTERM hand-over (release())
 * like interface totals do (ifstats):
 * the maps are pinned under <pin dir>/, filters sit at a fixed slot and are
 * replaced in place, record() keeps the hooked veths and the counts that
 * live only in the agent (entries removed as idle, keys summed, records cut). After an
 * adoption the flow table is a baseline: flow deltas resume from there (what
 * the dead agent had not reported yet is not reported twice, nor at all).
 */
import { z } from "zod";
import type { MapInfo, ProgramInfo } from "../../../control/wire/batch.ts";
import { MAX_FLOW_RECORDS } from "../../../control/wire/monitoring.ts";
import { checkCap } from "../common/sum_over_cap.ts";
import { BpfObject, netnsExists, u32Key } from "../../libbpf/mod.ts";
import { listInterfaces, type NetIf } from "../../netif.ts";
import { DeltaTracker, u64At } from "../common/delta.ts";
import { readIfCounters, releaseIfCounters, zeroIfCounters } from "../common/if_counters.ts";
import { describeMaps, describePrograms, idleProgramSites } from "../common/inventory.ts";
import { closeAndUnpin, PinDir, setUpOrLeaveNothing } from "../common/lifecycle.ts";
import { PodVeths } from "../common/pod_veths.ts";
import { HookRecord, removeLeftoverHooks, TcHooks, tcSlot } from "../common/tc_hooks.ts";
import type { Module, ModuleEnv, PodTraffic, Reading, StartOptions } from "../module.ts";
import { IFSTATS_ARRAY_SLOTS } from "../ifstats/layout.ts";
import {
  FLOW_DIR_INGRESS,
  FLOW_KEY_SIZE,
  FLOW_STAT,
  FLOW_STAT_SLOTS,
  FLOW_VALUE_AT as AT,
  FLOW_VALUE_SIZE,
} from "./layout.ts";
import { FlowDeltas, flowRecords, MIN_FLOW_RECORDS, scratchDelta } from "./records.ts";

export interface FlowsSettings {
  /** Entries of the in-kernel flow table (--flow-table-size). */
  tableSize: number;
  /** A flow unchanged this long is removed from the table (--flow-idle-seconds). */
  idleSeconds: number;
  /** Flow records per batch, MIN_FLOW_RECORDS to MAX_FLOW_RECORDS (--max-flow-records). */
  maxRecords: number;
  /** Host interfaces of the node's namespace to count flows on too (--flow-interfaces). */
  hostInterfaces: string[];
}

export const DEFAULT_FLOWS: FlowsSettings = { tableSize: 65536, idleSeconds: 60, maxRecords: 5000, hostInterfaces: [] };

const PINNED_MAPS = ["flows", "flow_stats", "ifstats", "ifstats_big"] as const;
const PROGRAMS = ["flows_ingress", "flows_egress"];

/** Next to ifstats' slot (0xeb8): both may share a veth; ifstats runs first. */
export const FLOWS_TC_HANDLE = 0xeb9;
const SLOT = tcSlot({
  handle: FLOWS_TC_HANDLE,
  priority: FLOWS_TC_HANDLE,
  programs: { ingress: "flows_ingress", egress: "flows_egress" },
  isOurs: (name) => name.startsWith("flows_"),
});

const Record = z.object({
  interfaces: z.array(HookRecord),
  removedIdle: z.number().int().nonnegative(),
  recordsCut: z.number().int().nonnegative(),
  /** Absent in records of agents before the caps summed. */
  keysSummed: z.number().int().nonnegative().default(0),
});
type Record = z.infer<typeof Record>;

interface Running {
  obj: BpfObject;
  tc: TcHooks;
  tracker: DeltaTracker;
  /** Hooked host interfaces (by ifindex): their records are observed "host", not at a pod. */
  host: Set<number>;
  /** What a predecessor hooked, until reconciled. */
  adopted: HookRecord[];
  /**
   * ifindex -> the veth whose counts its counter slot holds. A veth let go
   * and hooked again (a pod that left the list and came back) continues its
   * counts: pod totals never go down within a boot. A slot is zeroed only for
   * another device.
   */
  owners: Map<number, string>;
  /** Each read's deltas (reused). */
  deltas: FlowDeltas;
  /**
   * Each listed pod's latest counters. A pod whose sandbox (and veth) is
   * gone while it is still listed (Kubernetes removes the sandbox before the
   * API object) keeps reporting these: its totals never go down.
   */
  lastPodTraffic: Map<string, PodTraffic>;
}

export class FlowsModule implements Module {
  readonly name = "flows" as const;
  readonly counting = true;
  #run: Running | null = null;
  /** Records left out of a batch too big, cumulative for the boot (kept across an adoption by record()). */
  #recordsCut = 0;
  /** Keys the cap summed into "other" records, likewise. */
  #keysSummed = 0;
  /** Interfaces a failed attach was logged for (said once, not at every read). */
  readonly #failed = new Set<string>();
  readonly #veths: PodVeths;
  readonly #pins: PinDir;

  constructor(private readonly env: ModuleEnv, private readonly settings: FlowsSettings = DEFAULT_FLOWS) {
    checkCap("flows", settings.maxRecords, MIN_FLOW_RECORDS, MAX_FLOW_RECORDS);
    this.#pins = new PinDir(env.pinDir, PINNED_MAPS);
    this.#veths = new PodVeths(env);
  }

  hasPins(): boolean {
    return this.#pins.has("ifstats");
  }

  start({ adopt, previous }: StartOptions): void {
    if (this.#run) return;
    const prev = adopt ? parseRecord(previous) : null;
    if (!adopt) this.clean(previous);
    const obj = BpfObject.open(`${this.env.bpfDir}/flows.bpf.o`);
    this.#run = setUpOrLeaveNothing(obj, () => {
      obj.map("flows").setMaxEntries(this.settings.tableSize);
      this.#pins.pinMaps(obj, PINNED_MAPS); // a pinned table of another size does not fit: the adoption fails
      obj.load();
      const tracker = new DeltaTracker(2);
      if (prev) {
        tracker.baseline(
          (see) => scanTable(obj, (key, dv, o) => see(key, flowCounters(dv, o), u64At(dv, o + AT.first_seen_ns))),
          Date.now(),
        );
        tracker.removedCount = prev.removedIdle;
      }
      this.#recordsCut = prev?.recordsCut ?? 0;
      this.#keysSummed = prev?.keysSummed ?? 0;
      const run: Running = {
        obj,
        tc: new TcHooks(obj, SLOT, this.env.netns),
        tracker,
        host: new Set(),
        adopted: prev?.interfaces ?? [],
        // counters continue on the veths the predecessor hooked
        owners: new Map(prev?.interfaces.map((p) => [p.ifindex, p.ifname]) ?? []),
        deltas: new FlowDeltas(),
        lastPodTraffic: new Map(),
      };
      this.#reconcile(run, true);
      for (const p of run.adopted) removeLeftoverHooks(SLOT, this.env.netns, p);
      run.adopted = [];
      return run;
    }, () => this.clean(previous));
  }

  stop(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = null;
    const present = netnsExists(this.env.netns) ? listInterfaces(this.env.netns) : [];
    for (const i of run.tc.interfaces) run.tc.detach(i.ifindex, present); // a vanished veth's filters are only forgotten
    closeAndUnpin(run.obj, this.#pins);
  }

  /** The hand-over (SIGTERM): filters and pins stay, as after a crash; the next agent adopts them. */
  release(): void {
    const run = this.#run;
    this.#run = null;
    run?.obj.close({ keepAttachments: true });
  }

  clean(previous?: unknown): void {
    for (const p of parseRecord(previous)?.interfaces ?? []) removeLeftoverHooks(SLOT, this.env.netns, p);
    this.#pins.removeAll();
  }

  record(): Record {
    const run = this.#run;
    return {
      interfaces: run?.tc.records() ?? [],
      removedIdle: run?.tracker.removedCount ?? 0,
      recordsCut: this.#recordsCut,
      keysSummed: this.#keysSummed,
    };
  }

  podsChanged(): void {
    if (this.#run) this.#reconcile(this.#run, false);
  }

  recordsCut(n: number): void {
    this.#recordsCut += n;
  }

  read(): Reading {
    const run = this.#run;
    if (!run) return {};
    this.#reconcile(run, false);
    const deltas = this.#deltas(run);
    if (!this.env.pods.namesVeths) this.#learnVeths(run, deltas);
    const podVeths = new Set(run.tc.interfaces.filter((i) => !run.host.has(i.ifindex)).map((i) => i.ifindex));
    const pods = this.env.pods;
    const { records, keysSummed } = flowRecords(deltas, podVeths, this.settings.maxRecords, (ip) => !!pods.byIp(ip));
    this.#keysSummed += keysSummed;
    const stat = (slot: number) => Number(run.obj.map("flow_stats").sumU64(u32Key(slot))?.[0] ?? 0n);
    const created = stat(FLOW_STAT.created);
    return {
      podTraffic: this.#podTraffic(run),
      flows: records,
      monitoring: {
        flowEntries: run.tracker.size,
        flowTableSize: this.settings.tableSize,
        flowsCreated: created,
        flowsEvicted: run.tracker.evicted(created),
        flowCreateFailed: stat(FLOW_STAT.createFailed),
        flowRecordsCut: this.#recordsCut,
        flowKeysSummed: this.#keysSummed,
      },
    };
  }

  programs(bpfStats: boolean): ProgramInfo[] {
    const run = this.#run;
    if (!run) return [];
    return describePrograms(this.name, idleProgramSites(run.obj, PROGRAMS, run.tc.programSites()), bpfStats);
  }

  maps(): MapInfo[] {
    const run = this.#run;
    if (!run) return [];
    const hooked = run.tc.interfaces;
    return describeMaps(this.name, run.obj, {
      flows: run.tracker.size,
      flow_stats: FLOW_STAT_SLOTS,
      ifstats: hooked.filter((i) => i.ifindex < IFSTATS_ARRAY_SLOTS).length,
      ifstats_big: hooked.filter((i) => i.ifindex >= IFSTATS_ARRAY_SLOTS).length,
    });
  }

  /**
   * The table's deltas since the last read, idle entries removed (their last
   * counts included). One pass over the batched read, in place: a table of
   * tens of thousands of flows is read every interval.
   */
  #deltas(run: Running): FlowDeltas {
    const map = run.obj.map("flows");
    const out = run.deltas;
    out.clear();
    const counters = [0, 0];
    run.tracker.begin(Date.now(), this.settings.idleSeconds * 1000);
    scanTable(run.obj, (key, dv, o) => {
      const d = run.tracker.see(key, flowCounters(dv, o, counters), u64At(dv, o + AT.first_seen_ns));
      if (d) out.add(key, d[0], d[1], dv.getUint32(o + AT.tcp_flags, true));
    });
    for (const key of run.tracker.end()) {
      const v = map.lookupAndDelete(key);
      const dv = v && new DataView(v.buffer, v.byteOffset, v.byteLength);
      const late = run.tracker.removed(
        key,
        dv ? { counters: flowCounters(dv, 0), gen: u64At(dv, AT.first_seen_ns) } : null,
      );
      if (late) out.add(key, late[0], late[1], dv!.getUint32(AT.tcp_flags, true));
    }
    return out;
  }

  /** Each pod's counters: those of its hooked veth, turned round to the pod's point of view. */
  #podTraffic(run: Running): Map<string, PodTraffic> {
    const out = new Map<string, PodTraffic>();
    const hooked = run.tc.interfaces.filter((i) => !run.host.has(i.ifindex));
    for (const p of this.env.pods.list()) {
      if (p.hostNetwork) continue;
      const veth = hooked.find((i) => this.env.pods.namesVeths ? i.name === p.hostVeth : i.ifindex === p.ifindex);
      const last = run.lastPodTraffic.get(p.uid);
      if (!veth) {
        if (last) out.set(p.uid, last);
        continue;
      }
      const c = readIfCounters(run.obj, veth.ifindex);
      out.set(p.uid, { rxPackets: c.txPackets, rxBytes: c.txBytes, txPackets: c.rxPackets, txBytes: c.rxBytes });
    }
    run.lastPodTraffic = out; // pods no longer listed are forgotten
    return out;
  }

  /** Kubernetes: a veth whose ingress carries a pod's IP as source is that pod's. */
  #learnVeths(run: Running, deltas: FlowDeltas): void {
    const d = scratchDelta();
    for (let i = 0; i < deltas.length; i++) {
      deltas.get(i, d);
      if (d.dir !== FLOW_DIR_INGRESS || run.host.has(d.ifindex) || this.env.pods.byVeth(d.ifindex)) continue;
      const uid = this.env.pods.byIp(d.saddr);
      const netif = uid && run.tc.interfaces.find((i) => i.ifindex === d.ifindex);
      if (uid && netif) this.env.pods.learnVeth(uid, netif.name, netif.ifindex);
    }
  }

  /** Hooks what should be hooked now and lets go of what should not (vanished veths, pods gone). */
  #reconcile(run: Running, starting: boolean): void {
    const { present, pods: wantedPods, host } = this.#wanted();
    const wanted = [...wantedPods, ...host];
    run.host = new Set(host.map((i) => i.ifindex));
    const same = (a: NetIf, b: { name: string; ifindex: number }) => a.ifindex === b.ifindex && a.name === b.name;
    for (const h of run.tc.interfaces) {
      if (!wanted.some((w) => same(w, h))) run.tc.detach(h.ifindex, present);
    }
    for (const [ifindex, name] of run.owners) {
      if (present.some((i) => same(i, { name, ifindex }))) continue;
      releaseIfCounters(run.obj, ifindex); // the device is gone: so are its counts' owner and the hash entry
      run.owners.delete(ifindex);
    }
    for (const w of wanted) {
      if (run.tc.has(w.ifindex)) continue;
      const adopted = run.adopted.find((p) => same(w, { name: p.ifname, ifindex: p.ifindex }));
      try {
        if (run.owners.get(w.ifindex) !== w.name) zeroIfCounters(run.obj, w.ifindex);
        run.owners.set(w.ifindex, w.name);
        run.tc.attach(w, adopted?.ownQdisc ?? false);
        this.#failed.delete(`${w.name}/${w.ifindex}`);
        if (adopted) run.adopted = run.adopted.filter((p) => p !== adopted);
      } catch (e) {
        // one bad interface (e.g. someone else's filter in our slot) must not keep the others unwatched
        if (starting && host.includes(w)) throw e;
        if (!this.#failed.has(`${w.name}/${w.ifindex}`)) {
          this.env.log(`flows: cannot attach to ${w.name}: ${(e as Error).message}`);
        }
        this.#failed.add(`${w.name}/${w.ifindex}`);
      }
    }
  }

  /** Pod veths (by the pods' records, or every veth) and the host interfaces asked for, as they are now. */
  #wanted(): { present: NetIf[]; pods: NetIf[]; host: NetIf[] } {
    const present = listInterfaces(this.env.netns);
    const allowed = present.filter((i) => i.name !== "lo" && !this.env.excludeInterfaces.includes(i.name));
    const host = allowed.filter((i) => this.settings.hostInterfaces.includes(i.name));
    const pods = this.#veths.of(present, allowed, (i) => host.some((h) => h.ifindex === i.ifindex));
    return { present, pods, host };
  }
}

function parseRecord(previous: unknown): Record | null {
  const r = Record.safeParse(previous);
  return r.success ? r.data : null;
}

/** Every entry of the flow table: its key (a view, valid during the call) and its value at dv offset `o`. */
function scanTable(obj: BpfObject, fn: (key: Uint8Array, dv: DataView, o: number) => void): void {
  obj.map("flows").forEachBatch((keys, values, n) => {
    const dv = new DataView(values.buffer, values.byteOffset, values.byteLength);
    for (let i = 0; i < n; i++) fn(keys.subarray(i * FLOW_KEY_SIZE, (i + 1) * FLOW_KEY_SIZE), dv, i * FLOW_VALUE_SIZE);
  }, { batchSize: 4096 });
}

/** [packets, bytes] of the flow_value at dv offset `o` (into `into`, reused in a loop). */
function flowCounters(dv: DataView, o: number, into = [0, 0]): number[] {
  into[0] = u64At(dv, o + AT.packets);
  into[1] = u64At(dv, o + AT.bytes);
  return into;
}
