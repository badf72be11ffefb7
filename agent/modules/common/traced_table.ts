// SPDX-License-Identifier: Apache-2.0
/**
 * What the tcp and drops modules share: an object whose tracepoint programs
 * aggregate into one hash table of u64 counters, read whole every interval
 * into deltas (idle entries removed), plus the counts that must stay
 * cumulative for the boot although the module may be switched off and on
 * (keys summed, records cut, entries lost): kept on the module object, and in record()
 * for a successor that adopts the boot.
 *
 * Nothing is pinned: the records are deltas, so a restarted agent starts a
 * new table; what a crashed agent had not reported yet is lost, never
 * counted twice.
 */
import { z } from "zod";
import type { MapInfo, ModuleName, ProgramInfo } from "../../../control/wire/batch.ts";
import { BpfObject, type LinkAttachment } from "../../libbpf/mod.ts";
import type { Module, ModuleEnv, Reading, StartOptions } from "../module.ts";
import { DeltaTracker, u64Fields } from "./delta.ts";
import { describeMaps, describePrograms } from "./inventory.ts";
import { setUpOrLeaveNothing } from "./lifecycle.ts";
import { checkCap } from "./sum_over_cap.ts";

export interface TracedTableSpec {
  object: string;
  /** The table read every interval, and its size. */
  table: string;
  tableSize: number;
  /** Other maps to size before load. */
  sizes?: Record<string, number>;
  /** u64 counters per value. */
  fields: number;
  /** program -> [tracepoint category, name]. */
  tracepoints: Record<string, [string, string]>;
}

/** Cumulative counts a module keeps for the boot. */
export const Totals = z.object({
  recordsCut: z.number().int().nonnegative().default(0),
  lost: z.number().int().nonnegative().default(0),
  /** Keys the cap summed into "other" records. */
  keysSummed: z.number().int().nonnegative().default(0),
});
const NO_TOTALS: Totals = { recordsCut: 0, lost: 0, keysSummed: 0 };
export type Totals = z.infer<typeof Totals>;

export class TracedTable {
  readonly tracker: DeltaTracker;

  private constructor(
    readonly obj: BpfObject,
    readonly links: { link: LinkAttachment; where: string }[],
    private readonly spec: TracedTableSpec,
  ) {
    this.tracker = new DeltaTracker(spec.fields);
  }

  /** Loads and attaches; on failure nothing stays loaded or attached. */
  static open(bpfDir: string, spec: TracedTableSpec): TracedTable {
    const obj = BpfObject.open(`${bpfDir}/${spec.object}`);
    return setUpOrLeaveNothing(obj, () => {
      obj.map(spec.table).setMaxEntries(spec.tableSize);
      for (const [m, n] of Object.entries(spec.sizes ?? {})) obj.map(m).setMaxEntries(n);
      obj.load();
      const links = Object.entries(spec.tracepoints).map(([prog, [cat, name]]) => ({
        link: obj.program(prog).attachTracepoint(cat, name),
        where: `tracepoint ${cat}/${name}`,
      }));
      return new TracedTable(obj, links, spec);
    }, () => {});
  }

  /** Deltas since the last read, [key, counters]; entries idle for idleMs are removed (their last counts included). */
  read(idleMs: number): [Uint8Array, number[]][] {
    const map = this.obj.map(this.spec.table);
    const { keySize, fullValueSize } = map.handle;
    const counters = (value: Uint8Array) => u64Fields(map.handle.slices(value), this.spec.fields);
    const out: [Uint8Array, number[]][] = [];
    this.tracker.begin(Date.now(), idleMs);
    map.forEachBatch((keys, values, n) => {
      for (let i = 0; i < n; i++) {
        const key = keys.subarray(i * keySize, (i + 1) * keySize);
        const d = this.tracker.see(key, counters(values.subarray(i * fullValueSize, (i + 1) * fullValueSize)));
        if (d) out.push([key.slice(), d]);
      }
    }, { batchSize: 4096 });
    for (const key of this.tracker.end()) {
      const v = map.lookupAndDelete(key);
      const late = this.tracker.removed(key, v ? { counters: counters(v) } : null);
      if (late) out.push([key, late]);
    }
    return out;
  }

  /** Sum over CPUs of slot 0 of a per-CPU array of u64 (a kernel-side counter). */
  counter(map: string): number {
    return Number(this.obj.map(map).sumU64(new Uint8Array(4))?.[0] ?? 0n);
  }

  sites(): Map<number, string[]> {
    return new Map(this.links.map(({ link, where }) => [link.progId, [where]]));
  }

  maps(module: ModuleName, extra: Record<string, number>): MapInfo[] {
    return describeMaps(module, this.obj, { [this.spec.table]: this.tracker.size, ...extra });
  }

  close(): void {
    this.obj.close();
  }
}

/**
 * A module made of one TracedTable (tcp, drops): no pins, nothing to clean
 * after a predecessor but the counts it recorded, which an adopting
 * successor continues.
 */
export abstract class TracedTableModule implements Module {
  abstract readonly name: ModuleName;
  readonly counting = false;
  protected table: TracedTable | null = null;
  /** Cumulative for the boot, across switching off and on; `lost` is what earlier runs' tables lost. */
  protected totals: Totals = { ...NO_TOTALS };

  constructor(
    protected readonly env: ModuleEnv,
    private readonly spec: TracedTableSpec,
    protected readonly limits: { idleSeconds: number; maxRecords: number },
    caps: { min: number; max: number },
  ) {
    checkCap(spec.object, limits.maxRecords, caps.min, caps.max);
  }

  /** Entries the current table lost: evicted, or that did not fit (a kernel counter). */
  protected abstract lostIn(table: TracedTable): number;
  abstract read(): Reading;
  /** Fill levels of the object's other maps, for the inventory. */
  protected abstract otherMaps(table: TracedTable): Record<string, number>;

  hasPins(): boolean {
    return false;
  }

  start({ adopt, previous }: StartOptions): void {
    if (this.table) return;
    if (adopt) this.adopt(previous ?? {});
    this.table = TracedTable.open(this.env.bpfDir, this.spec);
  }

  /** Takes over what a predecessor of the same boot recorded. */
  protected adopt(previous: unknown): void {
    this.totals = Totals.catch({ ...NO_TOTALS }).parse(previous);
  }

  stop(): void {
    const table = this.table;
    if (!table) return;
    this.totals.lost = this.lost();
    this.table = null;
    table.close();
  }

  clean(): void {}

  record(): unknown {
    return { ...this.totals, lost: this.lost() };
  }

  recordsCut(n: number): void {
    this.totals.recordsCut += n;
  }

  programs(bpfStats: boolean): ProgramInfo[] {
    return this.table ? describePrograms(this.name, this.table.sites(), bpfStats) : [];
  }

  maps(): MapInfo[] {
    return this.table?.maps(this.name, this.otherMaps(this.table)) ?? [];
  }

  /** What the boot lost so far, this run included. */
  protected lost(): number {
    return this.totals.lost + (this.table ? this.lostIn(this.table) : 0);
  }

  /** The table's deltas since the last read. */
  protected deltas(table: TracedTable): [Uint8Array, number[]][] {
    return table.read(this.limits.idleSeconds * 1000);
  }
}
