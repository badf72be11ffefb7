// SPDX-License-Identifier: Apache-2.0
/** XDP features as the kernel reports them: a veth receives redirected frames (NDO_XMIT) only while its peer runs XDP. */
import { assert, assertEquals } from "../testing/assert.ts";
import { BPF_OBJ_DIR, createVethPair, kernelTest, track } from "../testing/mod.ts";
import { BpfObject, NETDEV_XDP_ACT, xdpFeatures } from "./mod.ts";

kernelTest(
  "xdpFeatures: a veth runs XDP natively; frames redirected to it are delivered only while its peer runs XDP",
  async () => {
    const net = await createVethPair();
    const obj = track(BpfObject.open(`${BPF_OBJ_DIR}/empty_xdp.bpf.o`).load());
    try {
      const a = () => xdpFeatures(net.ifindexA, net.nsA)!;
      const native = NETDEV_XDP_ACT.BASIC | NETDEV_XDP_ACT.REDIRECT;
      assert(a() !== null, "the kernel (>= 6.3) answers");
      assertEquals(a() & native, native, "the veth driver runs XDP and redirects");
      assertEquals(a() & NETDEV_XDP_ACT.NDO_XMIT, 0, "its peer runs no XDP: redirected frames would be dropped");
      const att = obj.program("empty_xdp").attachXdp({ ifname: net.ifB, netns: net.nsB }, { mode: "native" });
      assertEquals(a() & NETDEV_XDP_ACT.NDO_XMIT, NETDEV_XDP_ACT.NDO_XMIT, "its peer runs XDP: delivered");
      att.detach();
      assertEquals(a() & NETDEV_XDP_ACT.NDO_XMIT, 0, "and no longer once it stops");
    } finally {
      obj.close();
      await net.close();
    }
  },
);
