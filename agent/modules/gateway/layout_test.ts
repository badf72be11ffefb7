// SPDX-License-Identifier: Apache-2.0
/**
 * The TypeScript mirror of bpf/include/gateway.h against the BTF of the
 * compiled object, and the filter bit against the program's own hash (an
 * address in gw_dests whose bit the agent set wrong would never be seen).
 */
import { assertEquals, assertThrows } from "../../testing/assert.ts";
import { assertStructLayout } from "../../testing/btf-layout.ts";
import { BPF_OBJ_DIR, kernelTest } from "../../testing/kernel.ts";
import { run } from "../../testing/run.ts";
import {
  addrHome,
  type AddrSlot,
  GW_DEST,
  GW_FLOW,
  GW_LIMITS,
  GW_NEIGH_MAGIC,
  GW_STRUCTS,
  placeAddresses,
} from "./layout.ts";

const GW_OBJ = `${BPF_OBJ_DIR}/gateway.bpf.o`;

async function btfEnum(name: string): Promise<Record<string, number>> {
  const { stdout } = await run(["bpftool", "btf", "dump", "file", GW_OBJ, "-j"]);
  const e = (JSON.parse(stdout).types as { kind: string; name?: string; values?: { name: string; val: number }[] }[])
    .find((t) => t.kind === "ENUM" && t.name === name);
  if (!e) throw new Error(`enum ${name} not in the BTF of ${GW_OBJ}`);
  return Object.fromEntries(e.values!.map((v) => [v.name, v.val]));
}

kernelTest(
  "gateway structs match bpf/include/gateway.h (BTF of gateway.bpf.o)",
  { needs: ["objects", "bpftool"] },
  async () => {
    for (const [name, s] of Object.entries(GW_STRUCTS)) {
      await assertStructLayout(
        GW_OBJ,
        name,
        s.fields.map(([f, o]) => [f, o]),
        s.size,
      );
    }
    assertEquals(await btfEnum("ek8s_gw_limits"), GW_LIMITS);
    assertEquals(await btfEnum("ek8s_gw_dest_flags"), {
      GW_DEST_VIP: GW_DEST.VIP,
      GW_DEST_NODE: GW_DEST.NODE,
      GW_DEST_SNAT: GW_DEST.SNAT,
    });
    assertEquals(await btfEnum("ek8s_gw_neigh"), { GW_NEIGH_MAGIC });
    assertEquals(await btfEnum("ek8s_gw_flow_flags"), {
      GW_FLOW_FIN: GW_FLOW.FIN,
      GW_FLOW_SYN: GW_FLOW.SYN,
      GW_FLOW_RST: GW_FLOW.RST,
      GW_FLOW_REPLIED: GW_FLOW.REPLIED,
    });
  },
);

Deno.test("addrHome is dest_flags()'s hash in gateway.bpf.c: (u32 as loaded little-endian * 0x9e3779b1) >> 18", () => {
  // the address's bytes in memory order, read as a little-endian u32 (x86 and arm64), multiplied in 32 bits
  for (const ip of ["10.0.0.1", "203.0.113.7", "255.255.255.255", "0.0.0.0"]) {
    const le = ip.split(".").map(BigInt).reduce((acc, b, i) => acc | (b << BigInt(8 * i)), 0n);
    assertEquals(addrHome(ip), Number(((le * 0x9e3779b1n) & 0xffffffffn) >> 18n), ip);
  }
});

const N = GW_LIMITS.GW_ADDR_SLOTS;
const emptySlots = (): AddrSlot[] => Array.from({ length: N }, () => ({ addr: "", flags: 0 }));
const applyWrites = (slots: AddrSlot[], writes: Map<number, AddrSlot>) => writes.forEach((s, i) => (slots[i] = s));
/** The program's lookup over the slots. */
function lookup(slots: AddrSlot[], ip: string): number {
  for (let p = 0; p < GW_LIMITS.GW_ADDR_PROBES; p++) {
    const s = slots[(addrHome(ip) + p) & (N - 1)]!;
    if (!s.addr) return 0;
    if (s.addr === ip) return s.flags;
  }
  return 0;
}
/** Addresses that share a home slot: the worst case of linear probing. */
function colliding(count: number): string[] {
  const byHome = new Map<number, string[]>();
  for (let i = 0;; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const h = addrHome(ip);
    const list = byHome.get(h) ?? [];
    list.push(ip);
    byHome.set(h, list);
    if (list.length === count) return list;
  }
}

Deno.test("placeAddresses: every address of a full set is found, and no address moves while the set changes", () => {
  const slots = emptySlots();
  const first = new Map(
    Array.from({ length: GW_LIMITS.GW_MAX_DESTS }, (_, i) => [`10.1.${i >> 8}.${i & 255}`, GW_DEST.VIP] as const),
  );
  applyWrites(slots, placeAddresses(slots, first));
  for (const [ip, f] of first) assertEquals(lookup(slots, ip), f, ip);
  assertEquals(lookup(slots, "10.2.0.1"), 0);
  const where = new Map(slots.map((s, i) => [s.addr, i]));
  // half go, others come: the staying ones keep their slots
  const second = new Map<string, number>(
    [...first].filter((_, i) => i % 2).map(([ip]) => [ip, GW_DEST.VIP | GW_DEST.NODE]),
  );
  for (let i = 0; i < 2000; i++) second.set(`10.3.${i >> 8}.${i & 255}`, GW_DEST.SNAT);
  applyWrites(slots, placeAddresses(slots, second));
  for (const [ip, f] of second) assertEquals(lookup(slots, ip), f, ip);
  for (const [ip] of first) if (!second.has(ip)) assertEquals(lookup(slots, ip), 0, `${ip} removed`);
  for (const [ip] of second) {
    if (where.has(ip)) assertEquals(slots.indexOf(slots.find((s) => s.addr === ip)!), where.get(ip), `${ip} stayed`);
  }
  // all gone: the table is empty again (removed marks at the end of a run are emptied)
  applyWrites(slots, placeAddresses(slots, new Map()));
  assertEquals(slots.filter((s) => s.addr).length, 0);
});

Deno.test("placeAddresses: addresses sharing a home slot probe on; one more than the probes reach is refused, writing nothing", () => {
  const slots = emptySlots();
  const same = colliding(GW_LIMITS.GW_ADDR_PROBES + 1);
  const fits = new Map(same.slice(0, -1).map((ip) => [ip, GW_DEST.VIP] as const));
  applyWrites(slots, placeAddresses(slots, fits));
  for (const ip of fits.keys()) assertEquals(lookup(slots, ip), GW_DEST.VIP, ip);
  const before = JSON.stringify(slots);
  assertThrows(() => placeAddresses(slots, new Map([...fits, [same.at(-1)!, GW_DEST.VIP]])), Error, "within 8 probes");
  assertEquals(JSON.stringify(slots), before);
  // removing the first of the run keeps the others reachable past its removed mark
  applyWrites(slots, placeAddresses(slots, new Map([...fits].slice(1))));
  for (const ip of same.slice(1, -1)) assertEquals(lookup(slots, ip), GW_DEST.VIP, ip);
  assertEquals(lookup(slots, same[0]!), 0);
  assertThrows(() => placeAddresses(slots, new Map([["0.0.0.0", GW_DEST.VIP]])), Error, "cannot be a gateway address");
});
