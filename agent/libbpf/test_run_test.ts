// SPDX-License-Identifier: Apache-2.0
/**
 * BPF_PROG_TEST_RUN: retval, duration, data out, and what skb->ifindex the
 * kernel gives a tc program (loopback, 1, unless ctx_in sets one).
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../testing/assert.ts";
import { BpfObject, LibbpfError, u32Key, withNetns } from "./mod.ts";
import { assertNoLeftovers, createVethPair, kernelTest, OBJECTS, skbCtx, track, udpFrame } from "../testing/mod.ts";

const TC_ACT_UNSPEC = -1;
const REPEAT = 1000;

kernelTest(
  "test_run empty_tc on an Ethernet+IPv4+UDP frame: retval TC_ACT_UNSPEC, duration > 0, packet unchanged",
  () => {
    const obj = track(BpfObject.open(OBJECTS.emptyTc).load());
    try {
      const frame = udpFrame({ payload: new Uint8Array(100).fill(0xab) });
      assertEquals(frame.length, 14 + 20 + 8 + 100);
      const r = obj.program("empty_tc").testRun({ data: frame, repeat: REPEAT });
      assertEquals(r.retval, TC_ACT_UNSPEC);
      assert(r.durationNs > 0, `duration ${r.durationNs}`);
      assertEquals(r.dataOut, frame);
      assertEquals(r.ctxOut, null);
    } finally {
      obj.close();
    }
  },
);

kernelTest(
  "test_run ifstats_ingress: counts exactly `repeat` packets of the frame's length, on ifindex 1 (loopback) by default",
  () => {
    const obj = track(BpfObject.open(OBJECTS.ifstats).load());
    try {
      const frame = udpFrame();
      const ifstats = obj.map("ifstats");
      const r = obj.program("ifstats_ingress").testRun({ data: frame, repeat: REPEAT });
      assertEquals(r.retval, TC_ACT_UNSPEC);
      assert(r.durationNs > 0);
      // skb->dev is the namespace's loopback device when ctx_in sets no ifindex
      assertEquals(ifstats.sumU64(u32Key(1)), [BigInt(REPEAT), BigInt(REPEAT * frame.length), 0n, 0n, 0n]);
      // and nothing else was counted anywhere
      const nonZero = ifstats.lookupBatch().values
        .map((v, i) => [i, v.some((x) => x !== 0)] as const)
        .filter(([, nz]) => nz)
        .map(([i]) => i);
      assertEquals(nonZero, [1]);

      // egress counts into tx
      obj.program("ifstats_egress").testRun({ data: frame, repeat: 10 });
      assertEquals(ifstats.sumU64(u32Key(1)), [
        BigInt(REPEAT),
        BigInt(REPEAT * frame.length),
        10n,
        BigInt(10 * frame.length),
        0n,
      ]);
    } finally {
      obj.close();
    }
  },
);

kernelTest(
  "test_run with a __sk_buff ctx: ifindex comes from ctx_in, looked up in the caller's namespace",
  async () => {
    const obj = track(BpfObject.open(OBJECTS.ifstats).load());
    const net = await createVethPair();
    try {
      const frame = udpFrame({ payload: new Uint8Array(50) });
      const prog = obj.program("ifstats_ingress");
      const ifstats = obj.map("ifstats");
      // run inside our namespace nsA, where ifA exists (never touching a host interface)
      const r = withNetns(net.nsA, () => prog.testRun({ data: frame, repeat: 7, ctx: skbCtx(net.ifindexA) }));
      assertEquals(r.retval, TC_ACT_UNSPEC);
      assert(r.ctxOut !== null && r.ctxOut.length === 192);
      assertEquals(new DataView(r.ctxOut.buffer).getUint32(40, true), net.ifindexA);
      assertEquals(ifstats.sumU64(u32Key(net.ifindexA))!.slice(0, 2), [7n, BigInt(7 * frame.length)]);
      // without ctx, in nsA: that namespace's loopback, ifindex 1
      withNetns(net.nsA, () => prog.testRun({ data: frame, repeat: 3 }));
      assertEquals(ifstats.sumU64(u32Key(1))!.slice(0, 2), [3n, BigInt(3 * frame.length)]);

      // an ifindex that does not exist in the namespace
      const e = assertThrows(
        () => withNetns(net.nsA, () => prog.testRun({ data: frame, ctx: skbCtx(987654) })),
        LibbpfError,
      );
      assertEquals(e.code, "ENODEV");
      assertStringIncludes(
        e.message,
        "bpf_prog_test_run_opts(ifstats_ingress, 92 bytes, repeat 1): No such device (ENODEV)",
      );
    } finally {
      await net.close();
      obj.close();
    }
  },
);

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});
