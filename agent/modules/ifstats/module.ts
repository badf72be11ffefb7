// SPDX-License-Identifier: Apache-2.0
/**
 * The interface counters module: loads bpf/ifstats.bpf.c, attaches its tc
 * programs to each watched interface (ingress and egress) and its drop
 * tracepoint, and reads the per-CPU counters on the agent's timer.
 *
 * Surviving a crash of the agent, and its SIGTERM (release(): the hand-over
 * leaves the same as a crash), without losing or double counting:
 *  - the maps are pinned in <pin dir>/ (ifstats, ifstats_big, ifstats_cfg),
 *    so a restarted agent reuses them and the counters continue;
 *  - the tc filters sit at a fixed handle and priority and are attached with
 *    replace, so a restarted agent swaps its programs in atomically (the old
 *    ones keep counting into the same maps until then): never two filters,
 *    no gap;
 *  - the kfree_skb link is pinned too (drop_link), so it keeps counting while
 *    no agent runs; a restarted agent keeps it as it is;
 *  - record() lists the interfaces and which clsact qdiscs we created, for
 *    epoch.json: an adopting agent sees EEXIST for those qdiscs like for
 *    anyone else's, and would otherwise leave them behind at its clean stop.
 */
import { z } from "zod";
import type { InterfaceCounters, MapInfo, ProgramInfo } from "../../../control/wire/batch.ts";
import { BpfObject, type LinkAttachment, openPinnedLink, u32Key } from "../../libbpf/mod.ts";
import type { NetIf } from "../../netif.ts";
import { readIfCounters, zeroIfCounters } from "../common/if_counters.ts";
import { describeMaps, describePrograms } from "../common/inventory.ts";
import { closeAndUnpin, PinDir, setUpOrLeaveNothing } from "../common/lifecycle.ts";
import { HookRecord, removeLeftoverHooks, TcHooks, tcSlot } from "../common/tc_hooks.ts";
import type { Module, ModuleEnv, Reading, StartOptions } from "../module.ts";
import { asKernelCounts, encodeConfig, IFSTATS_ARRAY_SLOTS } from "./layout.ts";

/** The object's maps, all pinned. */
export const PINNED_MAPS = ["ifstats", "ifstats_big", "ifstats_cfg"] as const;
const DROP_LINK = "drop_link";

/**
 * The tc filter slot of both programs (ingress and egress hooks are
 * separate, so one slot serves both). Unusual numbers, so as not to meet
 * anyone else's filter; a filter found there that is not ours is never
 * replaced.
 */
export const TC_HANDLE = 0xeb8;
export const TC_PRIORITY = 0xeb8;
const SLOT = tcSlot({
  handle: TC_HANDLE,
  priority: TC_PRIORITY,
  programs: { ingress: "ifstats_ingress", egress: "ifstats_egress" },
  isOurs: (name) => name.startsWith("ifstats_"),
});

const Record = z.object({ interfaces: z.array(HookRecord) });

interface Running {
  obj: BpfObject;
  tc: TcHooks;
  drop: LinkAttachment;
}

export class IfStatsModule implements Module {
  readonly name = "ifstats" as const;
  readonly counting = true;
  #run: Running | null = null;
  readonly #pins: PinDir;

  constructor(private readonly env: ModuleEnv) {
    this.#pins = new PinDir(env.pinDir, [...PINNED_MAPS, DROP_LINK]);
  }

  hasPins(): boolean {
    return this.#pins.has("ifstats");
  }

  start({ adopt, previous }: StartOptions): void {
    if (this.#run) return;
    const prev = adopt ? parseRecord(previous) : [];
    if (!adopt) this.clean(previous);
    const obj = BpfObject.open(`${this.env.bpfDir}/ifstats.bpf.o`);
    this.#run = setUpOrLeaveNothing(obj, () => {
      this.#pins.pinMaps(obj, PINNED_MAPS);
      const adoptLink = adopt && this.#pins.has(DROP_LINK);
      if (adoptLink) obj.program("ifstats_drop").setAutoload(false);
      obj.load();
      obj.map("ifstats_cfg").update(u32Key(0), encodeConfig(this.env.netnsIno));
      // Counters continue for interfaces the predecessor watched, start at zero for the others.
      const before = (i: NetIf) => prev.find((p) => p.ifname === i.name && p.ifindex === i.ifindex);
      for (const i of this.env.interfaces) if (!before(i)) zeroIfCounters(obj, i.ifindex);
      const drop = adoptLink ? openPinnedLink(this.#pins.path(DROP_LINK), obj) : this.#attachDrop(obj);
      const run: Running = { obj, tc: new TcHooks(obj, SLOT, this.env.netns), drop };
      for (const netif of this.env.interfaces) run.tc.attach(netif, before(netif)?.ownQdisc ?? false);
      for (const p of prev) {
        if (!this.env.interfaces.some((i) => i.name === p.ifname && i.ifindex === p.ifindex)) {
          removeLeftoverHooks(SLOT, this.env.netns, p);
        }
      }
      return run;
    }, () => this.clean(previous));
  }

  stop(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = null;
    closeAndUnpin(run.obj, this.#pins); // detaches filters (and our qdiscs) and the drop link (unpinning it)
  }

  /** The hand-over (SIGTERM): filters, drop link and pins stay, as after a crash; the next agent adopts them. */
  release(): void {
    const run = this.#run;
    this.#run = null;
    run?.obj.close({ keepAttachments: true });
  }

  clean(previous?: unknown): void {
    if (this.#pins.has(DROP_LINK)) openPinnedLink(this.#pins.path(DROP_LINK), this).detach();
    for (const p of parseRecord(previous)) removeLeftoverHooks(SLOT, this.env.netns, p);
    this.#pins.removeAll();
  }

  record(): z.infer<typeof Record> {
    return { interfaces: this.#run?.tc.records() ?? [] };
  }

  /** Cumulative counters since attach (or since the adopted maps were made), summed over CPUs. */
  read(): Reading {
    const run = this.#run;
    if (!run) return {};
    const interfaces: InterfaceCounters[] = this.env.interfaces.map((i) => ({
      ifname: i.name,
      ifindex: i.ifindex,
      ...asKernelCounts(i.driver, readIfCounters(run.obj, i.ifindex)),
    }));
    return { interfaces };
  }

  programs(bpfStats: boolean): ProgramInfo[] {
    const run = this.#run;
    if (!run) return [];
    const sites = run.tc.programSites();
    sites.set(run.drop.progId, ["tracepoint skb/kfree_skb"]);
    return describePrograms(this.name, sites, bpfStats);
  }

  maps(): MapInfo[] {
    const run = this.#run;
    if (!run) return [];
    // the per-CPU array has a slot for every ifindex: in use are those of the watched interfaces
    return describeMaps(this.name, run.obj, {
      ifstats: this.env.interfaces.filter((i) => i.ifindex < IFSTATS_ARRAY_SLOTS).length,
      ifstats_big: run.obj.map("ifstats_big").countKeys(),
      ifstats_cfg: 1,
    });
  }

  #attachDrop(obj: BpfObject): LinkAttachment {
    const link = obj.program("ifstats_drop").attachTracepoint("skb", "kfree_skb");
    link.pin(this.#pins.path(DROP_LINK));
    return link;
  }
}

function parseRecord(previous: unknown): HookRecord[] {
  const r = Record.safeParse(previous);
  return r.success ? r.data.interfaces : [];
}
