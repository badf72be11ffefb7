// SPDX-License-Identifier: Apache-2.0
/**
 * The TypeScript mirror of bpf/include/lb.h against the BTF of the compiled
 * object (structs, enums), the limits against the wire's, and the check
 * word and encodings round trip.
 */
import { LB_MAX_BACKENDS, LB_MAX_SERVICES } from "../../../control/wire/services.ts";
import { BpfObject } from "../../libbpf/mod.ts";
import { assertEquals } from "../../testing/assert.ts";
import { assertStructLayout } from "../../testing/btf-layout.ts";
import { BPF_OBJ_DIR, kernelTest } from "../../testing/kernel.ts";
import { run } from "../../testing/run.ts";
import {
  BACKEND_STATE,
  decodeBackend,
  decodeSvc,
  encodeBackend,
  encodeSvc,
  encodeSvcKey,
  LB_LIMITS,
  LB_SVC_F_AFFINITY,
  STRUCTS,
  SVC_KEY_SIZE,
} from "./layout.ts";

const LB_OBJ = `${BPF_OBJ_DIR}/sock_lb.bpf.o`;

interface BtfEnum {
  kind: string;
  name?: string;
  values?: { name: string; val: number }[];
}

async function btfEnum(name: string): Promise<Record<string, number>> {
  const { stdout } = await run(["bpftool", "btf", "dump", "file", LB_OBJ, "-j"]);
  const e = (JSON.parse(stdout).types as BtfEnum[]).find((t) => t.kind === "ENUM" && t.name === name);
  if (!e) throw new Error(`enum ${name} not in the BTF of ${LB_OBJ}`);
  return Object.fromEntries(e.values!.map((v) => [v.name, v.val]));
}

kernelTest("lb structs match bpf/include/lb.h (BTF of sock_lb.bpf.o)", { needs: ["objects", "bpftool"] }, async () => {
  for (const [name, s] of Object.entries(STRUCTS)) {
    await assertStructLayout(LB_OBJ, name, s.fields.map(([f, o]) => [f, o]), s.size);
  }
  assertEquals(await btfEnum("ek8s_lb_limits"), LB_LIMITS);
  assertEquals(await btfEnum("ek8s_lb_svc_flags"), { LB_SVC_F_AFFINITY });
  assertEquals(await btfEnum("ek8s_lb_backend_state"), {
    LB_BACKEND_NONE: BACKEND_STATE.none,
    LB_BACKEND_ACTIVE: BACKEND_STATE.active,
    LB_BACKEND_TERMINATING: BACKEND_STATE.terminating,
    LB_BACKEND_UNHEALTHY: BACKEND_STATE.unhealthy,
  });
});

kernelTest(
  "lb limits: the C constants and the kernel arrays' sizes are the wire's LB_MAX_SERVICES and LB_MAX_BACKENDS",
  { needs: ["objects", "bpftool", "libbpf"] },
  async () => {
    const limits = await btfEnum("ek8s_lb_limits");
    assertEquals([limits.LB_MAX_SERVICES, limits.LB_MAX_BACKENDS], [LB_MAX_SERVICES, LB_MAX_BACKENDS]);
    const obj = BpfObject.open(LB_OBJ); // opened, never loaded: the sizes are those of the ELF's map definitions
    try {
      assertEquals(obj.map("lb_services").maxEntries, LB_MAX_SERVICES);
      assertEquals(obj.map("lb_svc_stats").maxEntries, LB_MAX_SERVICES + 1, "indexed by service id, 0 unused");
      assertEquals(obj.map("lb_backends").maxEntries, LB_MAX_BACKENDS + 1, "indexed by backend id, 0 unused");
      assertEquals(obj.map("lb_backend_stats").maxEntries, LB_MAX_BACKENDS + 1);
      assertEquals(obj.map("lb_maglev").valueSize, 4 * LB_LIMITS.LB_MAGLEV_CHUNK);
    } finally {
      obj.close();
    }
  },
);

Deno.test("lb encodings: keys in network order, the value repeats the key and carries a check word; backends round trip", () => {
  const f = { vip: "10.96.1.2", port: 8443, protocol: "UDP" as const };
  assertEquals([...encodeSvcKey(f)], [10, 96, 1, 2, 0x20, 0xfb, 17, 0]);
  const v = { id: 7, offset: 4096, size: 509, flags: LB_SVC_F_AFFINITY, gen: 3, timeoutS: 10800 };
  const b = encodeSvc(f, v);
  assertEquals([...b.subarray(0, SVC_KEY_SIZE - 1)], [...encodeSvcKey(f).subarray(0, SVC_KEY_SIZE - 1)]);
  assertEquals(decodeSvc(b), { frontend: f, value: v });
  for (let i = 0; i < 28; i++) {
    const torn = b.slice();
    torn[i] ^= 1;
    assertEquals(decodeSvc(torn), null, `a change of byte ${i} breaks the check`);
  }
  const be = { ip: "10.244.0.9", port: 8080, state: BACKEND_STATE.terminating };
  assertEquals(decodeBackend(encodeBackend(be)), be);
  assertEquals(decodeBackend(encodeBackend(null)), null);
});
