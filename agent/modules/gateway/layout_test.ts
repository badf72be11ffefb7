/**
 * The TypeScript mirror of bpf/include/gateway.h against the BTF of the
 * compiled object, and the filter bit against the program's own hash (an
 * address in gw_dests whose bit the agent set wrong would never be seen).
 */
import { assertEquals } from "../../testing/assert.ts";
import { assertStructLayout } from "../../testing/btf-layout.ts";
import { BPF_OBJ_DIR, kernelTest } from "../../testing/kernel.ts";
import { run } from "../../testing/run.ts";
import { filterBit, GW_DEST, GW_LIMITS, GW_STRUCTS } from "./layout.ts";

const GW_OBJ = `${BPF_OBJ_DIR}/gateway.bpf.o`;

async function btfEnum(name: string): Promise<Record<string, number>> {
  const { stdout } = await run(["bpftool", "btf", "dump", "file", GW_OBJ, "-j"]);
  const e = (JSON.parse(stdout).types as { kind: string; name?: string; values?: { name: string; val: number }[] }[]).find((t) => t.kind === "ENUM" && t.name === name);
  if (!e) throw new Error(`enum ${name} not in the BTF of ${GW_OBJ}`);
  return Object.fromEntries(e.values!.map((v) => [v.name, v.val]));
}

kernelTest("gateway structs match bpf/include/gateway.h (BTF of gateway.bpf.o)", { needs: ["objects", "bpftool"] }, async () => {
  for (const [name, s] of Object.entries(GW_STRUCTS)) await assertStructLayout(GW_OBJ, name, s.fields.map(([f, o]) => [f, o]), s.size);
  assertEquals(await btfEnum("ek8s_gw_limits"), GW_LIMITS);
  assertEquals(await btfEnum("ek8s_gw_dest_flags"), { GW_DEST_VIP: GW_DEST.VIP, GW_DEST_NODE: GW_DEST.NODE, GW_DEST_SNAT: GW_DEST.SNAT });
});

Deno.test("filterBit is dest_hash() of gateway.bpf.c: (u32 as loaded little-endian * 0x9e3779b1) >> 16", () => {
  // the address's bytes in memory order, read as a little-endian u32 (x86 and arm64), multiplied in 32 bits
  for (const ip of ["10.0.0.1", "203.0.113.7", "255.255.255.255", "0.0.0.0"]) {
    const le = ip.split(".").map(BigInt).reduce((acc, b, i) => acc | (b << BigInt(8 * i)), 0n);
    assertEquals(filterBit(ip), Number(((le * 0x9e3779b1n) & 0xffffffffn) >> 16n), ip);
  }
});
