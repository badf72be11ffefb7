// SPDX-License-Identifier: Apache-2.0
/**
 * Programs a desired LbState into the lb maps by difference, so that a
 * program running at any moment sees either the old or the new state of a
 * service, never a mix:
 *
 *   1. backend slots first: a backend new to the kernel gets its slot
 *      written, state changes are written in place; a backend no longer
 *      wanted is marked "none" (affinity no longer picks it) but keeps its
 *      address while a table may still name its slot;
 *   2. each changed service gets a new Maglev table in a free range of the
 *      pool, written whole (batch update) before anything points at it;
 *   3. then its lb_services value is replaced, one element update each:
 *      that is the swap; removed frontends are deleted;
 *   4. the ranges of replaced tables are freed, and the slots of removed
 *      backends cleared, only after a quarantine (≥ 1 s): a program that read
 *      the old value a moment before the swap never reads a range or a slot
 *      reused for something else.
 *
 * Slots: the tables name kernel backend slots (lb_backends indexes), which
 * the agent hands out: a backend (the control plane's id with its address)
 * keeps its slot while it is listed; the slot is its id when that is free,
 * which it almost always is. The control plane reuses ids at once (the
 * smallest free one), so an id may come back with another address while a
 * table in quarantine still names its old slot: it then gets a spare slot
 * (the lowest free above the ids in use) instead of waiting, and the old one
 * is cleared after the quarantine. An address is never rewritten in place.
 * Only when no slot at all is free is a backend left out of the tables
 * (held) until maintain() frees one. A service that loses a backend gets a
 * new generation, so affinity entries made before no longer count.
 *
 * The clock is the caller's (milliseconds, monotonic); nothing here waits
 * or sets timers: the module calls maintain() at nextDue().
 */
import { maglevTable } from "../../../control/wire/maglev.ts";
import { LB_MAX_BACKENDS, type LbService, type LbState } from "../../../control/wire/services.ts";
import {
  BACKEND_STATE,
  type BackendValue,
  type Frontend,
  frontendKey,
  LB_MAGLEV_CHUNK,
  LB_SVC_F_AFFINITY,
  type SvcValue,
} from "./layout.ts";
import { chunksFor, type PoolAllocator } from "./pool.ts";

/** A table to write: `table` from pool slot `offset` (a multiple of LB_MAGLEV_CHUNK) on, the last chunk padded with zeros. */
export interface TableWrite {
  offset: number;
  table: Uint32Array;
}

/** The maps, as the programmer writes them (the kernel's in module.ts, a checking fake in tests). */
export interface LbTarget {
  /** Backend slots; null clears one. */
  writeBackends(list: [number, BackendValue | null][]): void;
  writeTables(list: TableWrite[]): void;
  /** One element update per frontend (each is atomic). */
  writeServices(list: [Frontend, SvcValue][]): void;
  deleteServices(list: Frontend[]): void;
}

export interface ApplyReport {
  version: number;
  /** Services given a new table or new settings. */
  programmed: number;
  removed: number;
  /** Backend ids left out of the tables for want of a free slot (until one is freed). */
  held: number[];
  /** Frontends that found no room in the pool: they keep their previous table, if any. */
  unplaced: string[];
}

export const DEFAULT_QUARANTINE_MS = 1000;

interface Programmed {
  frontend: Frontend;
  value: SvcValue;
  /** What its table was computed from (size, then "slot ip:port weight" lines); null: adopted, not known. */
  inputs: string | null;
  /** Slots its table names. */
  members: number[];
}

interface Slot {
  value: BackendValue;
  /** The control plane's id of the backend in it (for its counters). */
  owner: number;
  /** Tables in place that name it. */
  refs: number;
  /** When the last of them was swapped out. */
  unrefAt: number;
}

const NONE = BACKEND_STATE.none;
const MAX_GEN = 0xffff_ffff;
const slotKey = (id: number, b: { ip: string; port: number }) => `${id} ${b.ip}:${b.port}`;

/** What owns a programmer and the timer of its maintenance (a running lb or gateway module). */
export interface Maintained {
  programmer: LbProgrammer;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Runs `maintain()` whenever the programmer has something due (ranges freed
 * after the quarantine, held backends), again after each run, for as long as
 * `current()` says its module still runs this `run`.
 */
export function scheduleMaintenance(
  run: Maintained,
  current: () => boolean,
  label: string,
  log: (m: string) => void,
  onReport?: (r: ApplyReport) => void,
): void {
  clearTimeout(run.timer);
  const due = run.programmer.nextDue();
  if (due === null) return;
  run.timer = setTimeout(() => {
    if (!current()) return;
    run.timer = undefined;
    try {
      const report = run.programmer.maintain(performance.now());
      if (report) onReport?.(report);
    } catch (e) {
      log(`${label}: maintenance failed: ${(e as Error).message}`);
    }
    scheduleMaintenance(run, current, label, log, onReport);
  }, Math.max(0, due - performance.now()) + 5);
}

export class LbProgrammer {
  readonly #services = new Map<string, Programmed>();
  /** Kernel slot -> what it holds. */
  readonly #slots = new Map<number, Slot>();
  /** The slot of each wanted backend ("id ip:port"). */
  #live = new Map<string, number>();
  /** Adopted slots no wanted backend has claimed yet, by address. */
  #adoptedFree = new Map<string, number[]>();
  #quarantine: { start: number; chunks: number; at: number }[] = [];
  #desired: LbState | null = null;
  #held = 0;
  #unplaced = 0;
  #gen = 0;
  /** While adopted services whose tables are not known remain, and a quarantine after: they may name any adopted slot. */
  #unknownUntil = -Infinity;
  #adoptedTable: ((offset: number, size: number) => Uint32Array | null) | null = null;

  /** `maxSlot`: the highest slot lb_backends has (LB_MAX_BACKENDS; smaller in tests). */
  constructor(
    private readonly target: LbTarget,
    readonly pool: PoolAllocator,
    readonly quarantineMs = DEFAULT_QUARANTINE_MS,
    private readonly maxSlot = LB_MAX_BACKENDS,
  ) {}

  /** Services programmed (each has a table, or size 0: refusing). */
  get services(): number {
    return this.#services.size;
  }

  /** Backend slots in use (including removed backends' in quarantine). */
  get backends(): number {
    return this.#slots.size;
  }

  /** Pool slots in use, quarantined ranges included. */
  get poolSlots(): number {
    return this.pool.used * LB_MAGLEV_CHUNK;
  }

  /** The highest backend slot in use (0: none). */
  get maxSlotInUse(): number {
    let max = 0;
    for (const s of this.#slots.keys()) if (s > max) max = s;
    return max;
  }

  /** The control plane's id of the backend a slot holds (or held, until cleared). */
  ownerOf(slot: number): number | undefined {
    return this.#slots.get(slot)?.owner;
  }

  /** The slot a wanted backend has. */
  slotOf(id: number, b: { ip: string; port: number }): number | undefined {
    return this.#live.get(slotKey(id, b));
  }

  /** Service ids and backend ids programmed now. */
  ids(): { services: Set<number>; backends: Set<number> } {
    return {
      services: new Set([...this.#services.values()].map((p) => p.value.id)),
      backends: new Set([...this.#live.values()].map((s) => this.#slots.get(s)!.owner)),
    };
  }

  /** The service id of each frontend programmed, by frontendKey(). */
  serviceIds(): Map<string, number> {
    return new Map([...this.#services].map(([k, p]) => [k, p.value.id]));
  }

  /**
   * Takes over what a previous agent programmed (read back from the pinned
   * maps). Slots are claimed by the backends of the first apply() (the slot
   * of their id when it holds their address, else one that does); tables
   * equal to what that apply computes (`table` reads one back) stay as they
   * are. Throws when the services' ranges overlap or leave the pool.
   */
  adopt(
    services: [Frontend, SvcValue][],
    backends: [number, BackendValue][],
    table: (offset: number, size: number) => Uint32Array | null,
  ): void {
    for (const [slot, value] of backends) {
      this.#slots.set(slot, { value, owner: slot, refs: 0, unrefAt: -Infinity });
      const addr = `${value.ip}:${value.port}`;
      this.#adoptedFree.set(addr, [...(this.#adoptedFree.get(addr) ?? []), slot]);
    }
    for (const [frontend, value] of services) {
      if (
        value.size &&
        (value.offset % LB_MAGLEV_CHUNK || !this.pool.reserve(value.offset / LB_MAGLEV_CHUNK, chunksFor(value.size)))
      ) {
        throw new Error(
          `lb: the adopted table of ${
            frontendKey(frontend)
          } (slots ${value.offset}+${value.size}) overlaps another or leaves the pool`,
        );
      }
      this.#services.set(frontendKey(frontend), { frontend, value, inputs: null, members: [] });
      this.#gen = Math.max(this.#gen, value.gen);
    }
    this.#unknownUntil = services.length ? Infinity : -Infinity;
    this.#adoptedTable = table;
  }

  /** Programs `state` (see the top of this file); what could not be done yet is done by maintain(). */
  apply(state: LbState, now: number): ApplyReport {
    this.#desired = state;
    const slotOf = this.#writeBackends(state);
    this.#adoptedFree.clear(); // adopted slots not claimed now are someone else's no more: cleared after the quarantine

    const desired = new Map<string, LbService>(state.services.map((s) => [frontendKey(s), s]));
    const tables: TableWrite[] = [];
    const values: [Frontend, SvcValue][] = [];
    const freed: SvcValue[] = [];
    const refsUp: number[][] = [];
    const refsDown: number[][] = [];
    const unplaced: string[] = [];
    const planned: Programmed[] = [];
    const held = new Set<number>();
    for (const [fk, s] of desired) {
      const p = this.#services.get(fk);
      const same = p !== undefined && p.value.id === s.id;
      const active: { id: number; key: string; weight: number }[] = [];
      for (const b of s.backends) {
        if (b.state !== "active") continue;
        const slot = slotOf.get(b.id);
        if (slot === undefined) held.add(b.id);
        else active.push({ id: slot, key: `${b.ip}:${b.port}`, weight: b.weight });
      }
      active.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      // the control plane chooses the size (the same on every node, never shrinking); no active backend: no table
      const size = active.length ? s.tableSize : 0;
      const inputs = `${size}\n${active.map((b) => `${b.id} ${b.key} ${b.weight}`).join("\n")}`;
      const members = active.map((b) => b.id);
      const flags = s.affinity === "client" ? LB_SVC_F_AFFINITY : 0;
      const settings = { flags, timeoutS: s.affinityTimeoutS };
      if (same && p.inputs === null && this.#adoptedTable && this.#matchesAdopted(p, active, size)) {
        p.inputs = inputs;
        p.members = members;
        refsUp.push(members);
      }
      if (same && p.inputs === inputs) {
        if (p.value.flags !== flags || p.value.timeoutS !== s.affinityTimeoutS) {
          p.value = { ...p.value, ...settings };
          values.push([p.frontend, p.value]);
        }
        continue;
      }
      let offset = 0;
      if (size) {
        const start = this.pool.alloc(chunksFor(size));
        if (start === null) {
          unplaced.push(fk);
          continue;
        }
        offset = start * LB_MAGLEV_CHUNK;
        tables.push({ offset, table: maglevTable(active, size) });
      }
      const kept = new Set(members);
      const lost = !same || p.inputs === null || p.members.some((slot) => !kept.has(slot));
      const frontend: Frontend = { vip: s.vip, port: s.port, protocol: s.protocol };
      const value: SvcValue = { id: s.id, offset, size, ...settings, gen: lost ? this.#nextGen() : p.value.gen };
      values.push([frontend, value]);
      if (p) {
        freed.push(p.value);
        refsDown.push(p.members);
      }
      refsUp.push(members);
      planned.push({ frontend, value, inputs, members });
    }
    const gone: Programmed[] = [...this.#services].filter(([fk]) => !desired.has(fk)).map(([, p]) => p);
    for (const p of gone) {
      freed.push(p.value);
      refsDown.push(p.members);
    }

    // 2. the new tables, whole, where nothing points yet
    try {
      if (tables.length) this.target.writeTables(tables);
    } catch (e) {
      for (const t of tables) this.pool.free(t.offset / LB_MAGLEV_CHUNK, chunksFor(t.table.length));
      throw e;
    }
    // 3. the swaps
    for (const p of planned) this.#services.set(frontendKey(p.frontend), p);
    for (const p of gone) this.#services.delete(frontendKey(p.frontend));
    for (const m of refsUp) for (const slot of m) this.#slots.get(slot)!.refs++;
    for (const m of refsDown) {
      for (const slot of m) {
        const k = this.#slots.get(slot);
        if (k && --k.refs === 0) k.unrefAt = now;
      }
    }
    try {
      if (values.length) this.target.writeServices(values);
      if (gone.length) this.target.deleteServices(gone.map((p) => p.frontend));
    } catch (e) {
      // some were swapped, some not: the old ranges stay allocated, and the next apply rewrites these services whole
      for (const p of planned) p.inputs = null;
      throw e;
    }
    // 4. quarantine what the swaps released
    for (const v of freed) {
      if (v.size) this.#quarantine.push({ start: v.offset / LB_MAGLEV_CHUNK, chunks: chunksFor(v.size), at: now });
    }
    this.#adoptedTable = null;
    if (this.#unknownUntil === Infinity && ![...this.#services.values()].some((p) => p.inputs === null)) {
      this.#unknownUntil = now;
    }
    this.#held = held.size;
    this.#unplaced = unplaced.length;
    return { version: state.version, programmed: values.length, removed: gone.length, held: [...held], unplaced };
  }

  /**
   * Frees quarantined ranges, clears the slots of removed backends whose
   * quarantine ended, and applies the desired state again when what did not
   * fit (a table in the pool, a backend in a slot) may fit now. Returns the
   * report of that apply, if one ran.
   */
  maintain(now: number): ApplyReport | null {
    const freed = this.#quarantine.filter((q) => now - q.at >= this.quarantineMs);
    if (freed.length) {
      this.#quarantine = this.#quarantine.filter((q) => now - q.at < this.quarantineMs);
      for (const q of freed) this.pool.free(q.start, q.chunks);
    }
    const live = new Set(this.#live.values());
    const clears: [number, null][] = [];
    for (const [slot, k] of this.#slots) if (!live.has(slot) && this.#unused(k, now)) clears.push([slot, null]);
    if (clears.length) {
      this.target.writeBackends(clears);
      for (const [slot] of clears) this.#slots.delete(slot);
    }
    if (this.#desired && ((this.#held && clears.length) || (this.#unplaced && freed.length))) {
      return this.apply(this.#desired, now);
    }
    return null;
  }

  /** When maintain() has something to do next (null: nothing pending). */
  nextDue(): number | null {
    let due = Infinity;
    for (const q of this.#quarantine) due = Math.min(due, q.at + this.quarantineMs);
    const live = new Set(this.#live.values());
    for (const [slot, k] of this.#slots) {
      if (!live.has(slot) && k.refs === 0) {
        due = Math.min(due, Math.max(k.unrefAt, this.#unknownUntil) + this.quarantineMs);
      }
    }
    return Number.isFinite(due) ? due : null;
  }

  /** Step 1: the slots of the wanted backends, written where new or changed; returns id -> slot. */
  #writeBackends(state: LbState): Map<number, number> {
    const writes: [number, BackendValue][] = [];
    const live = new Map<string, number>();
    const slotOf = new Map<number, number>();
    let maxId = 0;
    for (const s of state.services) for (const b of s.backends) maxId = Math.max(maxId, b.id);
    let spare = maxId + 1;
    for (const s of state.services) {
      for (const b of s.backends) {
        const key = slotKey(b.id, b);
        const value: BackendValue = { ip: b.ip, port: b.port, state: BACKEND_STATE[b.state] };
        if (live.has(key)) continue; // listed twice
        let slot = this.#live.get(key) ?? this.#claimAdopted(b.id, value);
        if (slot !== undefined) {
          const k = this.#slots.get(slot)!;
          k.owner = b.id;
          if (k.value.state !== value.state) {
            k.value = value;
            writes.push([slot, value]);
          }
        } else {
          if (b.id <= this.maxSlot && !this.#slots.has(b.id)) slot = b.id;
          else {
            while (spare <= this.maxSlot && this.#slots.has(spare)) spare++;
            if (spare > this.maxSlot) continue; // no slot free: held (the service leaves it out)
            slot = spare;
          }
          this.#slots.set(slot, { value, owner: b.id, refs: 0, unrefAt: -Infinity });
          writes.push([slot, value]);
        }
        live.set(key, slot);
        slotOf.set(b.id, slot);
      }
    }
    for (const [key, slot] of this.#live) {
      const k = this.#slots.get(slot)!;
      if (!live.has(key) && k.value.state !== NONE) {
        k.value = { ...k.value, state: NONE };
        writes.push([slot, k.value]);
      }
    }
    for (const slots of this.#adoptedFree.values()) {
      for (const slot of slots) {
        const k = this.#slots.get(slot)!;
        if (k.value.state !== NONE) {
          k.value = { ...k.value, state: NONE };
          writes.push([slot, k.value]);
        }
      }
    }
    this.#live = live;
    if (writes.length) this.target.writeBackends(writes);
    return slotOf;
  }

  /** An adopted slot holding this address: the one of the same number first. */
  #claimAdopted(id: number, b: BackendValue): number | undefined {
    const addr = `${b.ip}:${b.port}`;
    const free = this.#adoptedFree.get(addr);
    if (!free?.length) return undefined;
    const i = free.includes(id) ? free.indexOf(id) : 0;
    const [slot] = free.splice(i, 1);
    return slot;
  }

  /** Whether no table has named this slot for a quarantine, so it may be cleared (and reused). */
  #unused(k: Slot, now: number): boolean {
    return k.refs === 0 && now - Math.max(k.unrefAt, this.#unknownUntil) >= this.quarantineMs;
  }

  /** Whether an adopted service's table is exactly what these backends make (then it stays as it is). */
  #matchesAdopted(p: Programmed, active: { id: number; key: string; weight: number }[], size: number): boolean {
    if (size !== p.value.size) return false;
    if (!size) return true;
    const current = this.#adoptedTable!(p.value.offset, size);
    if (!current) return false;
    const table = maglevTable(active, size);
    return table.length === current.length && table.every((id, i) => id === current[i]);
  }

  #nextGen(): number {
    this.#gen = this.#gen >= MAX_GEN ? 1 : this.#gen + 1;
    return this.#gen;
  }
}
