/**
 * The drops module: bpf/drops.bpf.c on skb:kfree_skb counts drops per
 * (netns, device, reason); each interval's deltas become DropRecords named
 * with the running kernel's enum skb_drop_reason (read once from its BTF)
 * and charged to a pod by its namespace or its host veth. Each pod's drops
 * add up to the cumulative count its PodReport carries.
 *
 * The table is a plain (per-CPU) hash: it does not evict, so entries idle
 * for --flow-idle-seconds are removed, and a drop that finds it full is
 * counted in drops_overflow (reported as dropsOverflow, never silent).
 */
import { z } from "zod";
import { MAX_DROP_RECORDS } from "../../../control/wire/monitoring.ts";
import { kernelDropReasons } from "../../btf/enums.ts";
import { listInterfaces } from "../../netif.ts";
import { Totals, type TracedTable, TracedTableModule } from "../common/traced_table.ts";
import type { ModuleEnv, Reading, StartOptions } from "../module.ts";
import { dropRecords, MIN_DROP_RECORDS } from "./records.ts";

export interface DropsSettings {
  /** Entries of the drops table (--drop-table-size). */
  tableSize: number;
  /** An entry unchanged this long is removed from the table (--flow-idle-seconds). */
  idleSeconds: number;
  /** Drop records per batch, MIN_DROP_RECORDS to MAX_DROP_RECORDS (--max-drop-records). */
  maxRecords: number;
}

export const DEFAULT_DROPS: DropsSettings = { tableSize: 8192, idleSeconds: 60, maxRecords: 2000 };

const Record = Totals.extend({ podDrops: z.record(z.string(), z.number().int().nonnegative()).default({}) });

export class DropsModule extends TracedTableModule {
  readonly name = "drops" as const;
  /** Each pod's drops, cumulative for the boot (pods that are gone are forgotten). */
  #podDrops = new Map<string, number>();
  #reasons: Map<number, string> | null = null;

  constructor(env: ModuleEnv, settings: DropsSettings = DEFAULT_DROPS) {
    super(
      env,
      {
        object: "drops.bpf.o",
        table: "drops",
        tableSize: settings.tableSize,
        fields: 2,
        tracepoints: { drops_kfree_skb: ["skb", "kfree_skb"] },
      },
      settings,
      { min: MIN_DROP_RECORDS, max: MAX_DROP_RECORDS },
    );
  }

  override start(options: StartOptions): void {
    this.#reasons ??= this.#readReasons();
    super.start(options);
  }

  protected override adopt(previous: unknown): void {
    const r = Record.safeParse(previous);
    if (!r.success) return;
    this.totals = { recordsCut: r.data.recordsCut, lost: r.data.lost, keysSummed: r.data.keysSummed };
    this.#podDrops = new Map(Object.entries(r.data.podDrops));
  }

  override record(): z.infer<typeof Record> {
    return { ...this.totals, lost: this.lost(), podDrops: Object.fromEntries(this.#podDrops) };
  }

  read(): Reading {
    const table = this.table;
    if (!table) return {};
    const ifnames = new Map(listInterfaces(this.env.netns).map((i) => [i.ifindex, i.name]));
    const { records, keysSummed, podDrops } = dropRecords(
      this.deltas(table),
      { nodeNetns: this.env.netnsIno, pods: this.env.pods, ifnames, reasons: this.#reasons ?? new Map() },
      this.limits.maxRecords,
    );
    this.totals.keysSummed += keysSummed;
    const present = new Set(this.env.pods.list().map((p) => p.uid));
    for (const uid of this.#podDrops.keys()) if (!present.has(uid)) this.#podDrops.delete(uid);
    for (const [uid, n] of podDrops) this.#podDrops.set(uid, (this.#podDrops.get(uid) ?? 0) + n);
    return {
      drops: records,
      podDrops: new Map(this.#podDrops),
      monitoring: {
        dropRecordsCut: this.totals.recordsCut,
        dropKeysSummed: this.totals.keysSummed,
        dropsOverflow: this.lost(),
      },
    };
  }

  /** Drops that found the table full. */
  protected lostIn(table: TracedTable): number {
    return table.counter("drops_overflow");
  }

  protected otherMaps(): Record<string, number> {
    return { drops_overflow: 1 };
  }

  /** Reason names from the kernel's BTF, once; without them drops are reported by number. */
  #readReasons(): Map<number, string> {
    try {
      const reasons = kernelDropReasons();
      if (!reasons.size) {
        this.env.log("drops: the kernel's BTF has no enum skb_drop_reason: reasons are reported by number");
      }
      return reasons;
    } catch (e) {
      this.env.log(`drops: cannot read the kernel's BTF (${(e as Error).message}): reasons are reported by number`);
      return new Map();
    }
  }
}
