// SPDX-License-Identifier: Apache-2.0
/** How modules describe their programs and maps in the inventory. */
import type { MapInfo, ModuleName, ProgramInfo } from "../../../control/wire/batch.ts";
import { type BpfObject, progInfoById, progTypeName } from "../../libbpf/mod.ts";
import { attachText } from "./tc_hooks.ts";

/**
 * Programs by kernel id with where each runs. Run counts are there when
 * kernel.bpf_stats_enabled is on, or someone holds bpf_enable_stats.
 */
export function describePrograms(module: ModuleName, sites: Map<number, string[]>, bpfStats: boolean): ProgramInfo[] {
  const out: ProgramInfo[] = [];
  for (const [id, where] of sites) {
    const info = progInfoById(id);
    if (!info) continue;
    const stats = bpfStats || info.runCount > 0 ? { runCount: info.runCount, runTimeNs: info.runTimeNs } : {};
    out.push({ id, name: info.name, type: progTypeName(info.type), module, attach: attachText(where), ...stats });
  }
  return out;
}

/** Loaded programs of an object that are attached nowhere (yet): listed so the inventory shows them. */
export function idleProgramSites(obj: BpfObject, names: string[], sites: Map<number, string[]>): Map<number, string[]> {
  for (const name of names) {
    const id = obj.program(name).id;
    if (!sites.has(id)) sites.set(id, []);
  }
  return sites;
}

/** Maps of an object with their fill levels (entries given by the module: it knows them without a walk). */
export function describeMaps(module: ModuleName, obj: BpfObject, entries: Record<string, number>): MapInfo[] {
  return Object.entries(entries).map(([name, n]) => {
    const h = obj.map(name).handle;
    return { id: h.id, name, type: h.typeName, module, maxEntries: h.maxEntries, entries: Math.min(n, h.maxEntries) };
  });
}
