// SPDX-License-Identifier: Apache-2.0
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
 *
 * Following the services (a long-poll of its own, agent/modules/lb/sync.ts),
 * it also writes every service's frontends and backends into drop_endpoints
 * (endpoints.ts), so that a drop of a packet to or from one names its
 * service; without it (or before the first answer) drops name none. The
 * table carries an id per service name that this module hands out and never
 * reuses (the control plane's service ids are reused at once), so a drop
 * counted under an id is that name's whatever changed before it was read.
 */
import { z } from "zod";
import { MAX_DROP_RECORDS } from "../../../control/wire/monitoring.ts";
import { kernelDropReasons } from "../../btf/enums.ts";
import { listInterfaces } from "../../netif.ts";
import { Totals, type TracedTable, TracedTableModule } from "../common/traced_table.ts";
import type { LbState } from "../../../control/wire/services.ts";
import { type LbPoll, LbSync } from "../lb/sync.ts";
import type { ModuleEnv, Reading, StartOptions } from "../module.ts";
import { endpointValue, planEndpoints } from "./endpoints.ts";
import { DROP_ENDPOINTS_DEFAULT_ENTRIES } from "./layout.ts";
import { dropRecords, MIN_DROP_RECORDS } from "./records.ts";

export interface DropsSettings {
  /** Entries of the drops table (--drop-table-size). */
  tableSize: number;
  /** An entry unchanged this long is removed from the table (--flow-idle-seconds). */
  idleSeconds: number;
  /** Drop records per batch, MIN_DROP_RECORDS to MAX_DROP_RECORDS (--max-drop-records). */
  maxRecords: number;
  /** Entries of drop_endpoints: the services' frontends and backends a drop is matched against. */
  endpointEntries: number;
}

export const DEFAULT_DROPS: DropsSettings = {
  tableSize: 8192,
  idleSeconds: 60,
  maxRecords: 2000,
  endpointEntries: DROP_ENDPOINTS_DEFAULT_ENTRIES,
};

const Record = Totals.extend({ podDrops: z.record(z.string(), z.number().int().nonnegative()).default({}) });

export class DropsModule extends TracedTableModule {
  readonly name = "drops" as const;
  /** Each pod's drops, cumulative for the boot (pods that are gone are forgotten). */
  #podDrops = new Map<string, number>();
  #reasons: Map<number, string> | null = null;
  #sync: LbSync | null = null;
  #stopping: Promise<void> = Promise.resolve();
  /** What drop_endpoints holds: endpointId -> [key, name id]. */
  #programmed = new Map<string, [Uint8Array, number]>();
  /** The ids of service names (never reused), and back: the latest state's, and those a drop read next may carry. */
  #ids = new Map<string, number>();
  #names = new Map<number, string>();
  #nextId = 1;
  /** The latest state's service names. */
  #live = new Set<string>();
  #cut = 0;

  constructor(
    env: ModuleEnv,
    private readonly settings: DropsSettings = DEFAULT_DROPS,
    private readonly poll: LbPoll | null = null,
  ) {
    super(
      env,
      {
        object: "drops.bpf.o",
        table: "drops",
        tableSize: settings.tableSize,
        sizes: { drop_endpoints: settings.endpointEntries },
        fields: 2,
        tracepoints: { drops_kfree_skb: ["skb", "kfree_skb"] },
      },
      settings,
      { min: MIN_DROP_RECORDS, max: MAX_DROP_RECORDS },
    );
  }

  override start(options: StartOptions): void {
    this.#reasons ??= this.#readReasons();
    const running = this.table !== null;
    super.start(options);
    if (running || !this.poll) return;
    this.#sync = new LbSync(this.poll, (s) => this.applyServices(s), this.env.log, { module: "drops" });
    this.#sync.start();
  }

  override stop(): void {
    if (this.#sync) this.#stopping = this.#sync.stop(); // a second stop keeps waiting for the first's poll
    this.#sync = null;
    this.#programmed = new Map(); // the next start loads a new, empty table
    super.stop();
  }

  settled(): Promise<void> {
    return this.#stopping;
  }

  /**
   * Writes the services' frontends and backends into drop_endpoints (what
   * changed only), and keeps their names for the drops read next. The
   * services' long-poll calls it with every answer; tests call it directly.
   */
  applyServices(state: Pick<LbState, "services" | "version">): void {
    const table = this.table;
    if (!table) throw new Error("drops: not running");
    const plan = planEndpoints(state.services, this.settings.endpointEntries, (name) => this.#idOf(name));
    const map = table.obj.map("drop_endpoints");
    // What goes first: a full table has room for new endpoints only once the stale ones are out.
    for (const [id, [key]] of this.#programmed) if (!plan.entries.has(id)) map.delete(key);
    for (const [id, [key, name]] of plan.entries) {
      if (this.#programmed.get(id)?.[1] !== name) map.update(key, endpointValue(name));
    }
    this.#programmed = plan.entries;
    this.#live = plan.names;
    if (plan.cut !== this.#cut) {
      this.env.log(
        plan.cut
          ? `drops: ${plan.cut} service endpoint(s) do not fit drop_endpoints (${this.settings.endpointEntries} entries): drops to or from them name no service`
          : "drops: every service endpoint fits drop_endpoints again",
      );
    }
    this.#cut = plan.cut;
    this.env.log(`drops: services version ${state.version}: ${plan.entries.size} endpoint(s) name the drops`);
  }

  #idOf(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(name, id);
      this.#names.set(id, name);
    }
    return id;
  }

  /** Entries of drop_endpoints (a test hook). */
  get endpoints(): number {
    return this.#programmed.size;
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
      {
        nodeNetns: this.env.netnsIno,
        pods: this.env.pods,
        ifnames,
        reasons: this.#reasons ?? new Map(),
        services: this.#names,
      },
      this.limits.maxRecords,
    );
    // A removed service's name served the drops read until now; later ones cannot carry its id.
    for (const [name, id] of this.#ids) {
      if (!this.#live.has(name)) (this.#ids.delete(name), this.#names.delete(id));
    }
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
    return { drops_overflow: 1, drop_endpoints: this.#programmed.size };
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
