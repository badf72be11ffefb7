// SPDX-License-Identifier: Apache-2.0
/**
 * tc attach of ifstats on a veth inside our own namespace: exact counts for
 * generated traffic, equal to the kernel's interface statistics; detach
 * leaves the qdisc as it was found.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../testing/assert.ts";
import { BpfObject, detachAll, LibbpfError, listAttachments, queryTc, u32Key } from "./mod.ts";
import {
  assertNoLeftovers,
  createVethPair,
  interfaceStats,
  kernelTest,
  OBJECTS,
  ping,
  statsDelta,
  tc,
  track,
  waitProgramsGone,
} from "../testing/mod.ts";

const N = 25; // echo requests
const S = 200; // ICMP payload bytes
const FRAME = S + 8 + 20 + 14; // ICMP header + IPv4 header + Ethernet header

/** ifstats counters of one ifindex, summed over CPUs. */
function counters(obj: BpfObject, ifindex: number) {
  const [rxPackets, rxBytes, txPackets, txBytes, drops] = obj.map("ifstats").sumU64(u32Key(ifindex))!;
  return { rxPackets, rxBytes, txPackets, txBytes, drops };
}

kernelTest(
  "tc ingress+egress on a veth count exactly the pings, equal to the interface statistics; detach removes our clsact",
  async () => {
    const net = await createVethPair();
    const obj = track(BpfObject.open(OBJECTS.ifstats).load());
    try {
      const target = { ifname: net.ifA, netns: net.nsA };
      const ing = obj.program("ifstats_ingress").attachTc(target, "ingress");
      const eg = obj.program("ifstats_egress").attachTc(target, "egress");
      assert(ing.createdQdisc, "clsact was absent, so we created it");
      assertEquals(ing.progId, obj.program("ifstats_ingress").id);
      assertEquals(eg.progId, obj.program("ifstats_egress").id);
      assert(ing.handle > 0 && ing.priority > 0, "kernel chose handle and priority");
      assertEquals(queryTc(target, "ingress", ing.handle, ing.priority), ing.progId);
      assertStringIncludes(await tc(net.nsA, ["qdisc", "show", "dev", net.ifA]), "clsact");
      assertStringIncludes(await tc(net.nsA, ["filter", "show", "dev", net.ifA, "ingress"]), "ifstats_ingress");
      assertStringIncludes(await tc(net.nsA, ["filter", "show", "dev", net.ifA, "egress"]), "ifstats_egress");
      assertEquals(listAttachments(obj).length, 2);

      const before = await interfaceStats(net.nsA, net.ifA);
      const c0 = counters(obj, net.ifindexA);
      await ping(net.nsA, net.ipB, { count: N, size: S });
      const after = await interfaceStats(net.nsA, net.ifA);
      const c = counters(obj, net.ifindexA);
      const d = statsDelta(before, after);

      // exact numbers from our own traffic: N requests out, N replies in
      assertEquals(c.txPackets - c0.txPackets, BigInt(N));
      assertEquals(c.rxPackets - c0.rxPackets, BigInt(N));
      assertEquals(c.txBytes - c0.txBytes, BigInt(N * FRAME));
      assertEquals(c.rxBytes - c0.rxBytes, BigInt(N * FRAME));
      // and the kernel's own counters for the veth agree
      assertEquals(d.txPackets, N);
      assertEquals(d.rxPackets, N);
      assertEquals(d.txBytes, N * FRAME);
      assertEquals(d.rxBytes, N * FRAME);

      ing.detach();
      ing.detach(); // harmless
      assert(!ing.attached);
      // the qdisc stays while our egress filter is on it
      assertStringIncludes(await tc(net.nsA, ["qdisc", "show", "dev", net.ifA]), "clsact");
      eg.detach();
      assertEquals(listAttachments(obj).length, 0);
      const q = await tc(net.nsA, ["qdisc", "show", "dev", net.ifA]);
      assert(!q.includes("clsact"), `clsact should be gone, got: ${q}`);
      assertEquals((await tc(net.nsA, ["filter", "show", "dev", net.ifA, "ingress"])).trim(), "");
      assertEquals((await tc(net.nsA, ["filter", "show", "dev", net.ifA, "egress"])).trim(), "");

      // nothing counts any more
      await ping(net.nsA, net.ipB, { count: 3, size: S });
      assertEquals(counters(obj, net.ifindexA), c);
    } finally {
      obj.close();
      await net.close();
    }
  },
);

kernelTest("a pre-existing clsact qdisc is left in place; only our filters are removed", async () => {
  const net = await createVethPair();
  const obj = track(BpfObject.open(OBJECTS.ifstats).load());
  try {
    await tc(net.nsB, ["qdisc", "add", "dev", net.ifB, "clsact"]);
    const target = { ifname: net.ifB, netns: net.nsB };
    const ing = obj.program("ifstats_ingress").attachTc(target, "ingress", { handle: 7, priority: 3 });
    const eg = obj.program("ifstats_egress").attachTc(target, "egress");
    assert(!ing.createdQdisc && !eg.createdQdisc, "clsact pre-existed");
    assertEquals([ing.handle, ing.priority], [7, 3]);

    await ping(net.nsA, net.ipB, { count: N, size: S });
    const c = counters(obj, net.ifindexB);
    assertEquals([c.rxPackets, c.txPackets], [BigInt(N), BigInt(N)]);
    assertEquals([c.rxBytes, c.txBytes], [BigInt(N * FRAME), BigInt(N * FRAME)]);

    // attaching again at the same handle/priority without replace is refused
    const e = assertThrows(
      () => obj.program("ifstats_egress").attachTc(target, "ingress", { handle: 7, priority: 3 }),
      LibbpfError,
    );
    assertEquals(e.call, "bpf_tc_attach");
    assertEquals(e.code, "EEXIST");
    assertStringIncludes(
      e.message,
      `bpf_tc_attach(ifstats_egress on ${net.ifB} (netns ${net.nsB}) ingress): File exists (EEXIST)`,
    );

    const report = detachAll(obj);
    assertEquals(report.errors, []);
    assertEquals(report.detached.length, 2);
    assertStringIncludes(await tc(net.nsB, ["qdisc", "show", "dev", net.ifB]), "clsact");
    assertEquals((await tc(net.nsB, ["filter", "show", "dev", net.ifB, "ingress"])).trim(), "");
    assertEquals((await tc(net.nsB, ["filter", "show", "dev", net.ifB, "egress"])).trim(), "");
  } finally {
    obj.close();
    await net.close();
  }
});

kernelTest("attach to a missing interface: error names call, program, interface and errno", async () => {
  const net = await createVethPair();
  const obj = track(BpfObject.open(OBJECTS.ifstats).load());
  try {
    const e = assertThrows(
      () => obj.program("ifstats_ingress").attachTc({ ifname: "ek8snothere", netns: net.nsA }, "ingress"),
      LibbpfError,
    );
    assertEquals(e.code, "ENODEV");
    assertStringIncludes(
      e.message,
      `bpf_tc_attach(ifstats_ingress on ek8snothere (netns ${net.nsA}) ingress): No such device (ENODEV)`,
    );
    const e2 = assertThrows(
      () => obj.program("ifstats_ingress").attachTc({ ifindex: 4242, netns: net.nsA }, "egress"),
      LibbpfError,
    );
    assertEquals(e2.code, "ENODEV");
    assertStringIncludes(e2.message, "ifstats_ingress on ifindex 4242");
    assertEquals(listAttachments(obj).length, 0);
  } finally {
    obj.close();
    await net.close();
  }
});

kernelTest("close() detaches what is still attached and the programs are unloaded", async () => {
  const net = await createVethPair();
  const obj = track(BpfObject.open(OBJECTS.ifstats).load());
  const ids = obj.programs.map((p) => p.id);
  try {
    obj.program("ifstats_ingress").attachTc({ ifname: net.ifA, netns: net.nsA }, "ingress");
    obj.program("ifstats_egress").attachTc({ ifname: net.ifA, netns: net.nsA }, "egress");
    assertEquals(listAttachments().length, 2);
  } finally {
    obj.close();
  }
  try {
    assertEquals(listAttachments().length, 0);
    assert(!(await tc(net.nsA, ["qdisc", "show", "dev", net.ifA])).includes("clsact"));
    assertEquals(await waitProgramsGone(ids), []);
  } finally {
    await net.close();
  }
});

kernelTest(
  "detach after the namespace was deleted counts as detached (its devices and filters went with it)",
  async () => {
    const net = await createVethPair();
    const obj = track(BpfObject.open(OBJECTS.ifstats).load());
    try {
      const att = obj.program("ifstats_ingress").attachTc({ ifname: net.ifA, netns: net.nsA }, "ingress");
      await net.close();
      att.detach();
      assert(!att.attached);
      assertEquals(listAttachments().length, 0);
    } finally {
      obj.close();
      await net.close();
    }
  },
);

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});
