// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's mirror of bpf/include/ifstats.h must match the compiled
 * object's BTF field by field: a change to one side alone fails here.
 */
import { BpfObject } from "../../libbpf/mod.ts";
import { assertEquals } from "../../testing/assert.ts";
import { kernelTest, OBJECTS } from "../../testing/kernel.ts";
import { assertStructLayout } from "../../testing/btf-layout.ts";
import {
  asKernelCounts,
  IF_COUNTERS_FIELDS,
  IF_COUNTERS_SIZE,
  IFSTATS_ARRAY_SLOTS,
  IFSTATS_CONFIG_SIZE,
  sumPerCpu,
} from "./layout.ts";

kernelTest("struct if_counters: same fields, order and size as the C header", { needs: ["objects"] }, async () => {
  await assertStructLayout(
    OBJECTS.ifstats,
    "if_counters",
    IF_COUNTERS_FIELDS.map((f, i) => [f, i * 8]),
    IF_COUNTERS_SIZE,
  );
  await assertStructLayout(OBJECTS.ifstats, "ifstats_config", [["netns_ino", 0], ["pad", 4]], IFSTATS_CONFIG_SIZE);
});

kernelTest("IFSTATS_ARRAY_SLOTS equals the array map's size in the object", { needs: ["root", "objects"] }, () => {
  const obj = BpfObject.open(OBJECTS.ifstats);
  try {
    obj.load();
    assertEquals(obj.map("ifstats").handle.maxEntries, IFSTATS_ARRAY_SLOTS);
  } finally {
    obj.close();
  }
});

Deno.test("per-CPU copies are summed field by field", () => {
  const cpu = (vals: number[]) => {
    const b = new Uint8Array(IF_COUNTERS_SIZE);
    vals.forEach((v, i) => new DataView(b.buffer).setBigUint64(i * 8, BigInt(v), true));
    return b;
  };
  assertEquals(sumPerCpu([cpu([1, 100, 2, 200, 3]), cpu([4, 400, 5, 500, 6])]), {
    rxPackets: 5,
    rxBytes: 500,
    txPackets: 7,
    txBytes: 700,
    drops: 9,
  });
});

Deno.test("a bridge's RX bytes leave out the Ethernet header, as the kernel counts them", () => {
  const c = { rxPackets: 10, rxBytes: 1000, txPackets: 10, txBytes: 1000, drops: 0 };
  assertEquals(asKernelCounts("bridge", c).rxBytes, 1000 - 14 * 10);
  assertEquals(asKernelCounts("veth", c), c);
});
