// SPDX-License-Identifier: Apache-2.0
/** chooseHook: what --gateway-hook auto resolves to for what the kernel reports (pure; xdp_features_test.ts asks the kernel). */
import { NETDEV_XDP_ACT } from "../../libbpf/mod.ts";
import { assertEquals, assertStringIncludes } from "../../testing/assert.ts";
import { chooseHook, type HookSite } from "./choose_hook.ts";

const { BASIC, REDIRECT, NDO_XMIT, RX_SG } = NETDEV_XDP_ACT;
const nic = (ifname: string, xdpFeatures: number | null = BASIC | REDIRECT | NDO_XMIT | RX_SG): HookSite => ({
  ifname,
  driver: "mlx5_core",
  xdpFeatures,
});

Deno.test("chooseHook auto: native where every driver runs XDP, redirects and takes redirected frames", () => {
  assertEquals(chooseHook("auto", [nic("eth0"), nic("eth1")]).hook, "native");
});

Deno.test("chooseHook auto: tc when one interface cannot take redirected frames, has no native XDP, or is a veth", () => {
  const cases: [HookSite[], string][] = [
    [[nic("eth0"), nic("eth1", BASIC | REDIRECT)], "frames redirected to eth1 (mlx5_core) are dropped"],
    [
      [nic("eth0"), { ifname: "br0", driver: "bridge", xdpFeatures: 0 }],
      "no native XDP with redirect in the driver of br0",
    ],
    [
      [nic("eth0"), { ifname: "veth1", driver: "veth", xdpFeatures: BASIC | REDIRECT | NDO_XMIT }],
      "veth1 (veth): veth",
    ],
    [[nic("eth0", null)], "does not report the XDP features of eth0"],
  ];
  for (const [sites, why] of cases) {
    const c = chooseHook("auto", sites);
    assertEquals(c.hook, "tc", why);
    assertStringIncludes(c.why, why);
  }
});

Deno.test("chooseHook: an explicit hook is used as given; native names where redirected frames would be dropped", () => {
  for (const hook of ["native", "skb", "tc"] as const) assertEquals(chooseHook(hook, [nic("eth0", 0)]).hook, hook);
  assertEquals(chooseHook("native", [nic("eth0")]).why, "as configured");
  assertStringIncludes(
    chooseHook("native", [nic("eth0"), nic("eth1", BASIC | REDIRECT)]).why,
    "eth1 (mlx5_core) are dropped",
  );
});
