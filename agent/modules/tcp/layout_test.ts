// SPDX-License-Identifier: Apache-2.0
import { assertStructLayout } from "../../testing/btf-layout.ts";
import { kernelTest, OBJECTS } from "../../testing/kernel.ts";
import { TCP_KEY_FIELDS, TCP_KEY_SIZE, TCP_STATS_FIELDS, TCP_STATS_SIZE } from "./layout.ts";

kernelTest("struct ek8s_tcp_key and ek8s_tcp_stats match the C header", { needs: ["objects"] }, async () => {
  const obj = OBJECTS.ifstats.replace("ifstats.bpf.o", "tcp.bpf.o");
  await assertStructLayout(obj, "ek8s_tcp_key", TCP_KEY_FIELDS, TCP_KEY_SIZE);
  await assertStructLayout(obj, "ek8s_tcp_stats", TCP_STATS_FIELDS.map((f, i) => [f, i * 8]), TCP_STATS_SIZE);
});
