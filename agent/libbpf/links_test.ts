// SPDX-License-Identifier: Apache-2.0
/** XDP, cgroup and tracepoint attachment, each counting traffic we generate, then detach. */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../testing/assert.ts";
import { BpfObject, LibbpfError, listAttachments, queryXdpProgId, u32Key } from "./mod.ts";
import {
  assertNoLeftovers,
  createTestCgroup,
  createVethPair,
  kernelTest,
  OBJECTS,
  openCompiled,
  output,
  ping,
  run,
  sendUdp,
  track,
} from "../testing/mod.ts";
import { encodeConfig } from "../modules/ifstats/layout.ts";

function u64(b: Uint8Array | null): bigint {
  assert(b !== null, "value present");
  return new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
}

kernelTest(
  "xdp attach on a veth in our namespace counts the echo requests it receives; detach removes it",
  async () => {
    const net = await createVethPair();
    const obj = track((await openCompiled("xdp_count")).load());
    try {
      const prog = obj.program("xdp_count");
      const target = { ifname: net.ifB, netns: net.nsB };
      const att = prog.attachXdp(target);
      assertEquals(queryXdpProgId(target), prog.id);
      const link = JSON.parse(await output(["ip", "-n", net.nsB, "-j", "link", "show", "dev", net.ifB]))[0];
      assertEquals(link.xdp?.prog?.id, prog.id);

      // a second attach without replace is refused and names the call
      const e = assertThrows(() => prog.attachXdp(target), LibbpfError);
      assertEquals(e.call, "bpf_xdp_attach");
      assertStringIncludes(e.message, `bpf_xdp_attach(xdp_count on ${net.ifB} (netns ${net.nsB}) (auto)): `);

      await ping(net.nsA, net.ipB, { count: 15, size: 64 });
      assertEquals(u64(obj.map("xdp_packets").lookup(u32Key(0))), 15n);

      att.detach();
      att.detach();
      assertEquals(queryXdpProgId(target), 0);
      const after = JSON.parse(await output(["ip", "-n", net.nsB, "-j", "link", "show", "dev", net.ifB]))[0];
      assertEquals(after.xdp, undefined);
      await ping(net.nsA, net.ipB, { count: 2 });
      assertEquals(u64(obj.map("xdp_packets").lookup(u32Key(0))), 15n);
    } finally {
      obj.close();
      await net.close();
    }
  },
);

kernelTest(
  "cgroup_skb/egress attached to a child cgroup counts exactly the packets its process sends; detach",
  async () => {
    const net = await createVethPair();
    const cg = await createTestCgroup();
    const obj = track((await openCompiled("cgroup_count")).load());
    try {
      assert(cg.path.includes(`/ek8s-test-${Deno.pid}-`), "a child cgroup of our own");
      const att = obj.program("cg_egress").attachCgroup(cg.path);
      assertEquals(att.kind, "cgroup");
      assert(att.id > 0);
      const shown = JSON.parse(await output(["bpftool", "cgroup", "show", cg.path, "-j"]));
      assertEquals(shown.map((p: { id: number }) => p.id), [obj.program("cg_egress").id]);

      // ping from a shell that first moves itself into the cgroup (before
      // `ip netns exec`, which remounts /sys without the cgroup mounts)
      const N = 12, S = 300;
      const res = await run([
        "sh",
        "-c",
        `echo $$ > ${cg.path}/cgroup.procs && exec ip netns exec ${net.nsA} ping -q -n -c ${N} -s ${S} -i 0.01 -W 1 ${net.ipB}`,
      ]);
      assertStringIncludes(res.stdout, `${N} packets transmitted, ${N} received`);
      const counts = obj.map("cg_counts");
      assertEquals(u64(counts.lookup(u32Key(0))), BigInt(N));
      assertEquals(u64(counts.lookup(u32Key(1))), BigInt(N * (S + 8 + 20))); // cgroup skb->len starts at the IP header

      // traffic from outside the cgroup is not counted
      await ping(net.nsA, net.ipB, { count: 3 });
      assertEquals(u64(counts.lookup(u32Key(0))), BigInt(N));

      att.detach();
      assertEquals(JSON.parse((await output(["bpftool", "cgroup", "show", cg.path, "-j"])).trim() || "[]"), []);
    } finally {
      obj.close();
      await cg.close();
      await net.close();
    }
  },
);

kernelTest("cgroup attach to a missing directory: error names the call, program and path", async () => {
  const obj = track((await openCompiled("cgroup_count")).load());
  try {
    const e = assertThrows(
      () => obj.program("cg_egress").attachCgroup("/sys/fs/cgroup/unified/ek8s-no-such-cgroup"),
      LibbpfError,
    );
    assertEquals(e.code, "ENOENT");
    assertStringIncludes(
      e.message,
      "bpf_program__attach_cgroup(cg_egress to cgroup /sys/fs/cgroup/unified/ek8s-no-such-cgroup): No such file or directory (ENOENT)",
    );
  } finally {
    obj.close();
  }
});

kernelTest(
  "tracepoint skb:kfree_skb (ifstats_drop) counts the datagrams our namespace drops; detach stops it",
  async () => {
    const net = await createVethPair();
    const obj = BpfObject.open(OBJECTS.ifstats);
    obj.program("ifstats_ingress").setAutoload(false);
    obj.program("ifstats_egress").setAutoload(false);
    track(obj.load());
    try {
      // only drops in nsB count: its namespace inode goes into ifstats_cfg
      obj.map("ifstats_cfg").update(u32Key(0), encodeConfig(Deno.statSync(`/var/run/netns/${net.nsB}`).ino!));

      const att = obj.program("ifstats_drop").attachTracepoint("skb", "kfree_skb");
      assertEquals(att.kind, "tracepoint");
      assertEquals(listAttachments(obj).length, 1);

      // UDP to a port nobody listens on: nsB frees each datagram with kfree_skb (NO_SOCKET)
      const N = 9;
      await sendUdp(net.nsA, net.ipB, 9, { count: N, size: 100 });
      const drops = () => obj.map("ifstats").sumU64(u32Key(net.ifindexB))![4];
      assertEquals(drops(), BigInt(N));

      att.detach();
      assertEquals(listAttachments(obj).length, 0);
      await sendUdp(net.nsA, net.ipB, 9, { count: 2, size: 100 });
      assertEquals(drops(), BigInt(N));
    } finally {
      obj.close();
      await net.close();
    }
  },
);

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});
