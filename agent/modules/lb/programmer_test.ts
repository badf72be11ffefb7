// SPDX-License-Identifier: Apache-2.0
/**
 * The programmer against a stand-in of the maps that checks, at every write,
 * what a program reading them concurrently relies on:
 *   - a table is written only into slots no service value names, and that no
 *     value has named for a quarantine (a program may still read them);
 *   - every slot a table names holds an active backend when the swap makes
 *     the table live (backends before the tables that name them);
 *   - a backend slot changes its address, or is cleared, only when no table
 *     live or released less than a quarantine ago names it.
 */
import { maglevTable } from "../../../control/wire/maglev.ts";
import type { LbService, LbState } from "../../../control/wire/services.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import {
  BACKEND_STATE,
  type BackendValue,
  type Frontend,
  frontendKey,
  LB_MAGLEV_CHUNK,
  type SvcValue,
} from "./layout.ts";
import { chunksFor, PoolAllocator } from "./pool.ts";
import { LbProgrammer, type LbTarget, type TableWrite } from "./programmer.ts";
import { seeded, testService } from "./fixtures.ts";

const Q = 1000;

class CheckedMaps implements LbTarget {
  now = 0;
  readonly services = new Map<string, { f: Frontend; v: SvcValue }>();
  readonly backends = new Map<number, BackendValue>();
  readonly pool: Uint32Array;
  /** Ranges a swap or delete stopped naming: [offset, size, at]. */
  released: [number, number, number][] = [];
  /** Chunks written since they were last released (so a swap may point at them). */
  readonly fresh = new Set<number>();
  writes = { backends: 0, tables: 0, services: 0, deletes: 0 };

  constructor(slots: number) {
    this.pool = new Uint32Array(slots);
  }

  #namedNow(): Set<number> {
    const ids = new Set<number>();
    for (const { v } of this.services.values()) {
      for (const id of this.pool.subarray(v.offset, v.offset + v.size)) ids.add(id);
    }
    for (const [off, size, at] of this.released) {
      if (this.now - at < Q) { for (const id of this.pool.subarray(off, off + size)) ids.add(id); }
    }
    return ids;
  }

  #overlaps(a: number, an: number, b: number, bn: number): boolean {
    return a < b + bn && b < a + an;
  }

  writeBackends(list: [number, BackendValue | null][]): void {
    this.writes.backends += list.length;
    const named = this.#namedNow();
    for (const [slot, v] of list) {
      const old = this.backends.get(slot);
      const moves = old && (!v || v.ip !== old.ip || v.port !== old.port);
      if (moves) {
        assert(
          !named.has(slot),
          `slot ${slot} rewritten (${old.ip}:${old.port} -> ${
            v ? `${v.ip}:${v.port}` : "cleared"
          }) while a table may name it`,
        );
      }
      if (v) this.backends.set(slot, { ...v });
      else this.backends.delete(slot);
    }
  }

  writeTables(list: TableWrite[]): void {
    this.writes.tables += list.length;
    for (const { offset, table } of list) {
      assertEquals(offset % LB_MAGLEV_CHUNK, 0, "tables start at a chunk");
      const span = chunksFor(table.length) * LB_MAGLEV_CHUNK;
      for (const { f, v } of this.services.values()) {
        assert(
          !v.size || !this.#overlaps(offset, span, v.offset, chunksFor(v.size) * LB_MAGLEV_CHUNK),
          `table at ${offset} overwrites the live table of ${frontendKey(f)}`,
        );
      }
      for (const [off, size, at] of this.released) {
        if (this.now - at < Q) {
          assert(
            !this.#overlaps(offset, span, off, size),
            `table at ${offset} overwrites a table released ${this.now - at} ms ago`,
          );
        }
      }
      for (const id of table) {
        assertEquals(this.backends.get(id)?.state, BACKEND_STATE.active, `slot ${id} written before its table`);
      }
      this.pool.set(table, offset);
      this.pool.fill(0, offset + table.length, offset + span);
      for (let c = offset / LB_MAGLEV_CHUNK; c < (offset + span) / LB_MAGLEV_CHUNK; c++) this.fresh.add(c);
    }
  }

  writeServices(list: [Frontend, SvcValue][]): void {
    this.writes.services += list.length;
    for (const [f, v] of list) {
      const old = this.services.get(frontendKey(f));
      if (v.size && (!old || old.v.offset !== v.offset)) {
        for (let c = v.offset / LB_MAGLEV_CHUNK; c < (v.offset + v.size) / LB_MAGLEV_CHUNK; c++) {
          assert(this.fresh.has(c), `${frontendKey(f)} swapped to a range not written`);
        }
      }
      for (const id of this.pool.subarray(v.offset, v.offset + v.size)) {
        assertEquals(
          this.backends.get(id)?.state,
          BACKEND_STATE.active,
          `${frontendKey(f)} goes live naming slot ${id}, which is not active`,
        );
      }
      if (old && old.v.size && old.v.offset !== v.offset) this.#release(old.v);
      this.services.set(frontendKey(f), { f, v: { ...v } });
    }
  }

  deleteServices(list: Frontend[]): void {
    this.writes.deletes += list.length;
    for (const f of list) {
      const old = this.services.get(frontendKey(f));
      assert(old, `delete of ${frontendKey(f)}, which is not there`);
      if (old.v.size) this.#release(old.v);
      this.services.delete(frontendKey(f));
    }
  }

  #release(v: SvcValue): void {
    this.released.push([v.offset, v.size, this.now]);
    for (let c = v.offset / LB_MAGLEV_CHUNK; c < chunksFor(v.offset + v.size); c++) this.fresh.delete(c);
  }

  /** The slots a service's live table names. */
  table(vip: string, port = 80, protocol: "TCP" | "UDP" = "TCP"): Uint32Array {
    const s = this.services.get(frontendKey({ vip, port, protocol }));
    if (!s) throw new Error(`no service ${vip}:${port}`);
    return this.pool.subarray(s.v.offset, s.v.offset + s.v.size);
  }

  value(vip: string, port = 80): SvcValue {
    return this.services.get(frontendKey({ vip, port, protocol: "TCP" }))!.v;
  }
}

type B = [id: number, ip: string, state?: "active" | "terminating" | "unhealthy", weight?: number];

function service(id: number, vip: string, backends: B[], extra: Partial<LbService> = {}): LbService {
  return testService(id, vip, backends.map(([bid, ip, state, weight]) => ({ id: bid, ip, state, weight })), extra);
}

let version = 0;
const state = (...services: LbService[]): LbState => ({ version: ++version, services });

function setup(slots = 1 << 16, maxSlot?: number) {
  const maps = new CheckedMaps(slots);
  const prog = new LbProgrammer(maps, new PoolAllocator(slots / LB_MAGLEV_CHUNK), Q, maxSlot);
  const apply = (s: LbState) => prog.apply(s, maps.now);
  const at = (t: number) => {
    maps.now = t;
    return prog.maintain(t);
  };
  return { maps, prog, apply, at };
}

/** The table the active backends make, naming their slots (= their ids unless `slot` says otherwise). */
function maglev(b: B[], size = 251, slot: (id: number, ip: string) => number = (id) => id): Uint32Array {
  const active = b.filter((x) => (x[2] ?? "active") === "active");
  return maglevTable(active.map(([id, ip, , w]) => ({ id: slot(id, ip), key: `${ip}:8080`, weight: w ?? 1 })), size);
}

Deno.test("programmer: first state: backends, Maglev tables and services exactly as computed", () => {
  const { maps, prog, apply } = setup();
  const a: B[] = [[1, "10.244.1.1"], [2, "10.244.1.2"], [3, "10.244.1.3", "terminating"]];
  const b: B[] = [[4, "10.244.2.1", "active", 3], [5, "10.244.2.2"]];
  const services = () =>
    state(
      service(1, "10.96.0.1", a),
      service(2, "10.96.0.2", b, { affinity: "client", affinityTimeoutS: 60 }),
      service(3, "10.96.0.3", []),
    );
  const r = apply(services());
  assertEquals([r.programmed, r.removed, r.held, r.unplaced], [3, 0, [], []]);
  assertEquals(maps.value("10.96.0.1").size, 509, "the service's tableSize");
  assertEquals([...maps.table("10.96.0.1")], [...maglev(a, 509)], "slots are the ids");
  assertEquals([...maps.table("10.96.0.2")], [...maglev(b)]);
  assertEquals(maps.value("10.96.0.3").size, 0, "no backend: size 0, refused");
  assertEquals([maps.value("10.96.0.2").flags, maps.value("10.96.0.2").timeoutS], [1, 60]);
  assertEquals(maps.backends.get(3), { ip: "10.244.1.3", port: 8080, state: BACKEND_STATE.terminating });
  assertEquals([prog.services, prog.backends, prog.poolSlots, prog.ownerOf(4)], [3, 5, 512 + 256, 4]);
  assertEquals(prog.nextDue(), null, "nothing pending");
  const w = { ...maps.writes };
  assertEquals(apply(services()).programmed, 0, "the same state again changes nothing");
  assertEquals(maps.writes, w);
});

Deno.test("programmer: a removed backend: new table and generation, old range and slot freed only after the quarantine", () => {
  const { maps, prog, apply, at } = setup(2048);
  const all: B[] = [[1, "10.244.1.1"], [2, "10.244.1.2"], [3, "10.244.1.3"]];
  apply(state(service(1, "10.96.0.1", all)));
  const v1 = maps.value("10.96.0.1");
  apply(state(service(1, "10.96.0.1", all.slice(0, 2), { tableSize: 509 }))); // the size never shrinks
  const v2 = maps.value("10.96.0.1");
  assert(v2.offset !== v1.offset, "a new range");
  assert(v2.gen !== v1.gen, "lost a backend: new generation");
  assertEquals([...maps.table("10.96.0.1")], [...maglev(all.slice(0, 2), 509)]);
  assertEquals(
    maps.backends.get(3),
    { ip: "10.244.1.3", port: 8080, state: BACKEND_STATE.none },
    "removed: not pickable at once, address kept",
  );
  assertEquals(prog.poolSlots, 1024, "old range quarantined");
  assertEquals(prog.nextDue(), Q);
  assertEquals(at(Q - 1), null);
  assert(maps.backends.has(3), "not yet");
  at(Q);
  assertEquals([maps.backends.has(3), prog.poolSlots, prog.nextDue()], [false, 512, null]);
  apply(state(service(1, "10.96.0.1", [...all.slice(0, 2), [6, "10.244.1.6"]], { tableSize: 509 })));
  assertEquals(maps.value("10.96.0.1").gen, v2.gen, "a backend added keeps the generation: affinity entries stay good");
});

Deno.test("programmer: settings alone change the value in place; terminating and unhealthy leave the table", () => {
  const { maps, apply } = setup();
  const b: B[] = [[1, "10.244.1.1"], [2, "10.244.1.2"]];
  apply(state(service(1, "10.96.0.1", b)));
  const v = maps.value("10.96.0.1");
  apply(state(service(1, "10.96.0.1", b, { affinity: "client", affinityTimeoutS: 5 })));
  const w = maps.value("10.96.0.1");
  assertEquals([w.offset, w.gen, w.flags, w.timeoutS], [v.offset, v.gen, 1, 5]);
  apply(
    state(
      service(1, "10.96.0.1", [[1, "10.244.1.1", "unhealthy"], [2, "10.244.1.2"]], {
        affinity: "client",
        affinityTimeoutS: 5,
      }),
    ),
  );
  assertEquals(new Set(maps.table("10.96.0.1")), new Set([2]));
  assertEquals(maps.backends.get(1)?.state, BACKEND_STATE.unhealthy);
  apply(state(service(1, "10.96.0.1", [[1, "10.244.1.1", "unhealthy"], [2, "10.244.1.2", "terminating"]])));
  assertEquals(maps.value("10.96.0.1").size, 0, "no active backend left: refuses");
});

Deno.test("programmer: an id back at once with another address takes a spare slot; its old slot is cleared after the quarantine", () => {
  const { maps, prog, apply, at } = setup();
  apply(state(service(1, "10.96.0.1", [[1, "10.244.1.1"], [2, "10.244.1.2"]])));
  // the control plane removed backend 2 from s1 and gave id 2 to a new backend of s2, in one version
  const s2: B[] = [[2, "10.244.9.9"], [3, "10.244.9.3"]];
  const r = apply(state(service(1, "10.96.0.1", [[1, "10.244.1.1"]]), service(2, "10.96.0.2", s2)));
  assertEquals(r.held, []);
  const spare = prog.slotOf(2, { ip: "10.244.9.9", port: 8080 })!;
  assertEquals([spare, prog.ownerOf(spare)], [4, 2], "the lowest free slot above the ids in use");
  assertEquals(
    [...maps.table("10.96.0.2")],
    [...maglev(s2, 251, (id) => (id === 2 ? spare : id))],
    "in the table at once",
  );
  assertEquals(
    maps.backends.get(2),
    { ip: "10.244.1.2", port: 8080, state: BACKEND_STATE.none },
    "the old slot keeps its address, not pickable",
  );
  at(Q);
  assertEquals([maps.backends.has(2), maps.backends.get(4)?.ip], [false, "10.244.9.9"]);
  // later versions keep the backend in its slot
  apply(state(service(1, "10.96.0.1", [[1, "10.244.1.1"]]), service(2, "10.96.0.2", [...s2, [5, "10.244.9.5"]])));
  assertEquals(prog.slotOf(2, { ip: "10.244.9.9", port: 8080 }), 4);
});

Deno.test("programmer: with every slot taken, a backend is held out of the tables until a slot is cleared", () => {
  const { maps, prog, apply, at } = setup(1 << 16, 3);
  apply(state(service(1, "10.96.0.1", [[1, "10.244.1.1"], [2, "10.244.1.2"]])));
  const r = apply(
    state(
      service(1, "10.96.0.1", [[1, "10.244.1.1"]]),
      service(2, "10.96.0.2", [[2, "10.244.9.9"], [3, "10.244.9.3"]]),
    ),
  );
  assertEquals(r.held, [2]);
  assertEquals(new Set(maps.table("10.96.0.2")), new Set([3]));
  const late = at(Q);
  assertEquals(late?.held, []);
  assertEquals(new Set(maps.table("10.96.0.2")), new Set([2, 3]));
  assertEquals(maps.backends.get(2), { ip: "10.244.9.9", port: 8080, state: BACKEND_STATE.active });
  assertEquals(prog.backends, 3);
});

Deno.test("programmer: a frontend taken over by another service id, a service moved to another VIP, a service removed", () => {
  const { maps, prog, apply, at } = setup();
  apply(state(service(1, "10.96.0.1", [[1, "10.244.1.1"]]), service(2, "10.96.0.2", [[2, "10.244.1.2"]])));
  const g = maps.value("10.96.0.1").gen;
  apply(state(service(7, "10.96.0.1", [[1, "10.244.1.1"]]), service(2, "10.96.0.3", [[2, "10.244.1.2"]])));
  assertEquals(maps.value("10.96.0.1").id, 7);
  assert(maps.value("10.96.0.1").gen !== g, "another service: its own generation");
  assert(!maps.services.has(frontendKey({ vip: "10.96.0.2", port: 80, protocol: "TCP" })));
  assertEquals(maps.value("10.96.0.3").id, 2);
  apply(state(service(7, "10.96.0.1", [[1, "10.244.1.1"]])));
  assertEquals(maps.services.size, 1);
  at(10 * Q);
  assertEquals([prog.backends, prog.poolSlots], [1, 256]);
});

Deno.test("programmer: a full pool keeps the old table, and places the new one once the quarantine frees room", () => {
  const { maps, apply, at } = setup(512); // two tables of 251
  const a: B[] = [[1, "10.244.1.1"], [2, "10.244.1.2"]];
  apply(state(service(1, "10.96.0.1", a), service(2, "10.96.0.2", [[3, "10.244.2.1"]])));
  const r = apply(state(service(1, "10.96.0.1", [a[0]]), service(2, "10.96.0.2", [[3, "10.244.2.1"]])));
  assertEquals(r.unplaced, ["10.96.0.1:80/TCP"]);
  assertEquals(new Set(maps.table("10.96.0.1")), new Set([1, 2]), "the old table still serves");
  apply(state(service(1, "10.96.0.1", [a[0]]))); // s2 goes: its range is free after the quarantine
  assertEquals(new Set(maps.table("10.96.0.1")), new Set([1, 2]));
  assertEquals(at(Q)?.unplaced, []);
  assertEquals(new Set(maps.table("10.96.0.1")), new Set([1]));
});

for (const seed of [11, 12, 13]) {
  Deno.test(`programmer: churn with swaps faster than the quarantine and ids reused at once never breaks an invariant, and ends as desired (seed ${seed})`, () => {
    const { maps, prog, apply, at } = setup(1 << 14);
    const rnd = seeded(seed);
    let spares = 0;
    let now = 0;
    let last: LbState = state();
    for (let step = 0; step < 300; step++) {
      const services: LbService[] = [];
      for (let s = 1; s <= 6; s++) {
        if (rnd(5) === 0) continue;
        const backends: B[] = [];
        for (let k = 0; k < 1 + rnd(4); k++) {
          const id = 1 + rnd(20); // ids moving between services with other addresses, as reused ids do
          const ip = `10.244.${s}.${1 + rnd(3)}`;
          if (
            backends.some((b) => b[0] === id || b[1] === ip) ||
            services.some((x) => x.backends.some((b) => b.id === id))
          ) continue;
          backends.push([id, ip, (["active", "active", "terminating"] as const)[rnd(3)], 1 + rnd(3)]);
        }
        services.push(
          service(s, `10.96.0.${s + (rnd(8) === 0 ? 10 : 0)}`, backends, { affinity: rnd(2) ? "client" : "none" }),
        );
      }
      const vips = new Set<string>();
      last = state(...services.filter((s) => !vips.has(s.vip) && vips.add(s.vip)));
      now += rnd(3) ? rnd(300) : rnd(2 * Q);
      at(now);
      assertEquals(apply(last).held, []);
      for (const s of last.services) for (const b of s.backends) if (prog.slotOf(b.id, b) !== b.id) spares++;
    }
    assert(spares > 10, `ids that took a spare slot: ${spares}`);
    at(now + 5 * Q);
    at(now + 10 * Q);
    assertEquals(prog.nextDue(), null);
    assertEquals(maps.services.size, last.services.length);
    for (const s of last.services) {
      const b: B[] = s.backends.map((x) => [x.id, x.ip, x.state, x.weight]);
      const v = maps.value(s.vip);
      assertEquals(v.id, s.id);
      const slot = (id: number, ip: string) => prog.slotOf(id, { ip, port: 8080 })!;
      assertEquals([...maps.table(s.vip)], [...maglev(b, v.size, slot)], `table of ${s.vip}`);
      for (const x of s.backends) {
        assertEquals(maps.backends.get(slot(x.id, x.ip)), { ip: x.ip, port: x.port, state: BACKEND_STATE[x.state] });
        assertEquals(prog.ownerOf(slot(x.id, x.ip)), x.id);
      }
    }
    assertEquals(
      maps.backends.size,
      last.services.reduce((n, s) => n + s.backends.length, 0),
      "the other slots cleared",
    );
    assertEquals(
      prog.poolSlots,
      last.services.reduce((n, s) => n + chunksFor(maps.value(s.vip).size) * LB_MAGLEV_CHUNK, 0),
    );
  });
}

function adoptFrom(maps: CheckedMaps): LbProgrammer {
  const next = new LbProgrammer(maps, new PoolAllocator((1 << 16) / LB_MAGLEV_CHUNK), Q);
  next.adopt(
    [...maps.services.values()].map(({ f, v }) => [f, v]),
    [...maps.backends],
    (o, n) => maps.pool.slice(o, o + n),
  );
  return next;
}

Deno.test("programmer: adopting what a predecessor programmed rewrites nothing that is already right", () => {
  const { maps, apply } = setup();
  const a: B[] = [[1, "10.244.1.1"], [2, "10.244.1.2"]];
  const s = state(
    service(1, "10.96.0.1", a, { affinity: "client" }),
    service(2, "10.96.0.2", [[3, "10.244.2.1"]]),
    service(3, "10.96.0.3", []),
  );
  apply(s);
  const gens = [...maps.services.values()].map(({ v }) => v.gen);
  const next = adoptFrom(maps);
  const w = { ...maps.writes };
  assertEquals(next.apply({ ...s, version: s.version + 1 }, 0).programmed, 0);
  assertEquals(maps.writes, w, "no write at all");
  assertEquals([...maps.services.values()].map(({ v }) => v.gen), gens, "affinity generations kept");
  next.apply(
    state(
      service(1, "10.96.0.1", [a[0]], { affinity: "client" }),
      service(2, "10.96.0.2", [[3, "10.244.2.1"]]),
      service(3, "10.96.0.3", []),
    ),
    0,
  );
  assertEquals(new Set(maps.table("10.96.0.1")), new Set([1]), "and from there on by difference");
  assertEquals(maps.writes.services, w.services + 1);
});

Deno.test("programmer: an adopted table that differs is replaced; adopted slots nobody claims are cleared after its quarantine", () => {
  const { maps } = setup();
  new LbProgrammer(maps, new PoolAllocator((1 << 16) / LB_MAGLEV_CHUNK), Q).apply(
    state(service(1, "10.96.0.1", [[1, "10.244.1.1"], [2, "10.244.1.2"]])),
    0,
  );
  const next = adoptFrom(maps);
  // while the agent was away, backend 2 went and its id came back with another address in another service
  const r = next.apply(
    state(service(1, "10.96.0.1", [[1, "10.244.1.1"]]), service(2, "10.96.0.2", [[2, "10.244.7.7"]])),
    0,
  );
  assertEquals([r.programmed, r.held], [2, []]);
  assertEquals([...maps.table("10.96.0.2")], [...maglev([[2, "10.244.7.7"]], 251, () => 3)], "a spare slot, at once");
  assertEquals(maps.backends.get(2)?.state, BACKEND_STATE.none);
  maps.now = Q;
  next.maintain(Q);
  assert(!maps.backends.has(2), "cleared once no adopted table can name it");
});

Deno.test("programmer: 10,000 services in a few batched writes", () => {
  const { maps, prog, apply } = setup(1 << 22);
  const services: LbService[] = [];
  for (let i = 1; i <= 10_000; i++) {
    services.push(
      service(i, `10.${96 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`, [[2 * i - 1, `10.244.${i >> 8}.${i & 0xff}`], [
        2 * i,
        `10.245.${i >> 8}.${i & 0xff}`,
      ]]),
    );
  }
  const r = apply(state(...services));
  assertEquals([r.programmed, prog.services, prog.backends], [10_000, 10_000, 20_000]);
  assertEquals(maps.writes, { backends: 20_000, tables: 10_000, services: 10_000, deletes: 0 });
});
