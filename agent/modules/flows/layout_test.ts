// SPDX-License-Identifier: Apache-2.0
import { assertEquals } from "../../testing/assert.ts";
import { assertStructLayout } from "../../testing/btf-layout.ts";
import { kernelTest, OBJECTS } from "../../testing/kernel.ts";
import {
  addrText,
  decodeFlowKey,
  FLOW_KEY_FIELDS,
  FLOW_KEY_SIZE,
  FLOW_VALUE_FIELDS,
  FLOW_VALUE_SIZE,
} from "./layout.ts";

const FLOWS_OBJ = OBJECTS.ifstats.replace("ifstats.bpf.o", "flows.bpf.o");

kernelTest("struct flow_key and flow_value match the C header", { needs: ["objects"] }, async () => {
  await assertStructLayout(FLOWS_OBJ, "flow_key", FLOW_KEY_FIELDS, FLOW_KEY_SIZE);
  await assertStructLayout(FLOWS_OBJ, "flow_value", FLOW_VALUE_FIELDS, FLOW_VALUE_SIZE);
});

Deno.test("addresses: IPv4-mapped as dotted quad, IPv6 compressed", () => {
  const v4 = new Uint8Array(16);
  v4.set([0xff, 0xff, 10, 244, 1, 11], 10);
  assertEquals(addrText(v4), "10.244.1.11");
  const v6 = new Uint8Array(16);
  v6.set([0xfd, 0x00], 0);
  v6[15] = 1;
  assertEquals(addrText(v6), "fd00::1");
  assertEquals(addrText(new Uint8Array(16)), "::");
});

Deno.test("a flow key decodes field by field", () => {
  const k = new Uint8Array(FLOW_KEY_SIZE);
  k.set([0xff, 0xff, 10, 0, 0, 1], 10);
  k.set([0xff, 0xff, 10, 0, 0, 2], 26);
  const dv = new DataView(k.buffer);
  dv.setUint16(32, 40000, true);
  dv.setUint16(34, 80, true);
  k[36] = 6;
  k[37] = 1;
  dv.setUint32(40, 7, true);
  assertEquals(decodeFlowKey(k), {
    saddr: "10.0.0.1",
    daddr: "10.0.0.2",
    sport: 40000,
    dport: 80,
    proto: 6,
    dir: 1,
    ifindex: 7,
  });
});
