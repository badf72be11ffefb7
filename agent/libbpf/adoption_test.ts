// SPDX-License-Identifier: Apache-2.0
/**
 * What a restarted agent needs of libbpf: a tc filter at a fixed handle and
 * priority replaced in place (never a second one), a clsact qdisc claimed
 * from a predecessor, leftovers removed only when they run our programs, a
 * pinned link that outlives its process and is reopened, feature probes,
 * run statistics, and bpffs directories made and removed without Deno's
 * --allow-all.
 */
import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import {
  BpfObject,
  destroyClsact,
  enableBpfStats,
  LibbpfError,
  listAttachments,
  makeDirs,
  MapType,
  openPinnedLink,
  pathExists,
  probeMapType,
  probeProgType,
  progInfoById,
  ProgType,
  readKernelFile,
  removeEmptyDir,
  removeFile,
  removeTcFilter,
  tcFilterProgram,
  u32Key,
} from "./mod.ts";
import {
  assertNoLeftovers,
  createPinDir,
  createVethPair,
  kernelTest,
  OBJECTS,
  output,
  ping,
  sendUdp,
  tc,
  track,
  udpFrame,
  waitProgramsGone,
} from "../testing/mod.ts";
import { encodeConfig } from "../modules/ifstats/layout.ts";

const SLOT = { handle: 0xeb8, priority: 0xeb8 };
const filterLines = async (ns: string, dev: string, dir: string) =>
  (await tc(ns, ["filter", "show", "dev", dev, dir])).split("\n").filter((l) => l.includes(" handle "));

kernelTest(
  "fixed handle/priority with replace: a second object replaces the first in place, one filter each way",
  async () => {
    const net = await createVethPair();
    const a = track(BpfObject.open(OBJECTS.ifstats).load());
    const b = track(BpfObject.open(OBJECTS.ifstats).load());
    try {
      const target = { ifname: net.ifA, netns: net.nsA };
      const ia = a.program("ifstats_ingress").attachTc(target, "ingress", { ...SLOT, replace: true });
      assert(ia.createdQdisc);
      assertEquals([ia.handle, ia.priority], [SLOT.handle, SLOT.priority]);
      assertEquals(tcFilterProgram(target, "ingress", SLOT.handle, SLOT.priority), {
        id: a.program("ifstats_ingress").id,
        name: "ifstats_ingress",
      });
      // as a crashed agent would: the filter stays, the object goes
      a.close({ keepAttachments: true });

      const ib = b.program("ifstats_ingress").attachTc(target, "ingress", { ...SLOT, replace: true, claimQdisc: true });
      assert(ib.createdQdisc, "claimed: destroyed with our last filter");
      assertEquals((await filterLines(net.nsA, net.ifA, "ingress")).length, 1);
      assertEquals(tcFilterProgram(target, "ingress", SLOT.handle, SLOT.priority)?.id, b.program("ifstats_ingress").id);
      await ping(net.nsA, net.ipB, { count: 4 });
      assertEquals(b.map("ifstats").sumU64(u32Key(net.ifindexA))![0], 4n);

      ib.detach();
      assert(!(await tc(net.nsA, ["qdisc", "show", "dev", net.ifA])).includes("clsact"), "claimed clsact removed");
    } finally {
      a.close();
      b.close();
      await net.close();
    }
  },
);

kernelTest(
  "removeTcFilter removes a leftover only when it runs our program; destroyClsact; a missing filter is null",
  async () => {
    const net = await createVethPair();
    const obj = track(BpfObject.open(OBJECTS.ifstats).load());
    try {
      const target = { ifname: net.ifB, netns: net.nsB };
      assertEquals(tcFilterProgram(target, "egress", SLOT.handle, SLOT.priority), null, "no clsact yet");
      obj.program("ifstats_egress").attachTc(target, "egress", { ...SLOT, replace: true });
      obj.close({ keepAttachments: true });
      assertEquals(removeTcFilter(target, "egress", SLOT.handle, SLOT.priority, (n) => n === "someone_else"), false);
      assertEquals((await filterLines(net.nsB, net.ifB, "egress")).length, 1, "not ours: left in place");
      assertEquals(removeTcFilter(target, "egress", SLOT.handle, SLOT.priority, (n) => n.startsWith("ifstats_")), true);
      assertEquals(await filterLines(net.nsB, net.ifB, "egress"), []);
      assertEquals(tcFilterProgram(target, "egress", SLOT.handle, SLOT.priority), null);
      assertEquals(destroyClsact(target), true);
      assertEquals(destroyClsact(target), false);
      assertEquals(destroyClsact({ ifname: "ek8snothere", netns: net.nsB }), false);
    } finally {
      obj.close();
      await net.close();
    }
  },
);

kernelTest(
  "a pinned tracepoint link outlives its object, is reopened from bpffs, keeps counting, and unpinning detaches it",
  async () => {
    const net = await createVethPair();
    const dir = await createPinDir();
    const obj = BpfObject.open(OBJECTS.ifstats);
    obj.program("ifstats_ingress").setAutoload(false);
    obj.program("ifstats_egress").setAutoload(false);
    obj.map("ifstats").setPinPath(`${dir.path}/ifstats`);
    obj.map("ifstats_cfg").setPinPath(`${dir.path}/ifstats_cfg`);
    track(obj.load());
    const progId = obj.program("ifstats_drop").id;
    let reopened: ReturnType<typeof openPinnedLink> | undefined;
    const owner = {};
    try {
      obj.map("ifstats_cfg").update(u32Key(0), encodeConfig(Deno.statSync(`/var/run/netns/${net.nsB}`).ino!));
      const link = obj.program("ifstats_drop").attachTracepoint("skb", "kfree_skb");
      link.pin(`${dir.path}/drop_link`);
      assertEquals(link.progId, progId);
      obj.close({ keepAttachments: true }); // our handles are gone; the pin keeps the link

      const shown = JSON.parse(await output(["bpftool", "link", "show", "pinned", `${dir.path}/drop_link`, "-j"]));
      assertEquals(shown.prog_id, progId);
      await sendUdp(net.nsA, net.ipB, 9, { count: 5, size: 40 });

      reopened = openPinnedLink(`${dir.path}/drop_link`, owner);
      assertEquals([reopened.program, reopened.progId, reopened.pinPath], [
        "ifstats_drop",
        progId,
        `${dir.path}/drop_link`,
      ]);
      assertEquals(listAttachments(owner).length, 1);
      const counters = (await import("./map.ts")).openPinnedMap(`${dir.path}/ifstats`);
      try {
        assertEquals(counters.sumU64(u32Key(net.ifindexB))![4], 5n, "counted while no process held it");
      } finally {
        counters.close();
      }
      reopened.detach();
      assert(!pathExists(`${dir.path}/drop_link`));
      assertEquals(await waitProgramsGone([progId]), []);
    } finally {
      reopened?.detach();
      obj.close();
      for (const m of ["ifstats", "ifstats_cfg", "drop_link"]) removeFile(`${dir.path}/${m}`);
      await dir.close();
      await net.close();
    }
  },
);

kernelTest("openPinnedLink of a missing pin names the call and path", () => {
  try {
    openPinnedLink(`/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}-none/link`, {});
    throw new Error("expected a LibbpfError");
  } catch (e) {
    assert(e instanceof LibbpfError, String(e));
    assertEquals(e.code, "ENOENT");
    assertStringIncludes(e.message, `bpf_link__open(/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}-none/link)`);
  }
});

kernelTest("feature probes: the types this project uses are supported here", () => {
  for (
    const t of [
      ProgType.SCHED_CLS,
      ProgType.XDP,
      ProgType.CGROUP_SKB,
      ProgType.CGROUP_SOCK_ADDR,
      ProgType.SOCK_OPS,
      ProgType.SK_MSG,
      ProgType.TRACEPOINT,
    ]
  ) {
    assertEquals(probeProgType(t), true, `prog type ${t}`);
  }
  for (const t of [MapType.PERCPU_ARRAY, MapType.LRU_HASH, MapType.SOCKHASH, MapType.RINGBUF]) {
    assertEquals(probeMapType(t), true, `map type ${t}`);
  }
});

kernelTest("run statistics: while bpf_enable_stats is held, run_cnt counts exactly the test runs", () => {
  const obj = track(BpfObject.open(OBJECTS.ifstats).load());
  const stats = enableBpfStats();
  try {
    const prog = obj.program("ifstats_ingress");
    prog.testRun({ data: udpFrame(), repeat: 37 });
    const info = progInfoById(prog.id)!;
    assertEquals([info.name, info.runCount], ["ifstats_ingress", 37]);
    assert(info.runTimeNs > 0);
  } finally {
    stats.close();
    obj.close();
  }
  assertEquals(progInfoById(0x7ffffff0), null, "no such program");
});

kernelTest(
  "bpffs directories: made level by level, removed only when empty; kernel files read through libc",
  async () => {
    const root = `/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}-dirs`;
    try {
      makeDirs(`${root}/n1/ifstats`);
      makeDirs(`${root}/n1/ifstats`); // again: harmless
      assert(pathExists(`${root}/n1/ifstats`));
      assertEquals(removeEmptyDir(`${root}/n1`), false, "not empty");
      assertEquals(removeEmptyDir(`${root}/n1/ifstats`), true);
      assertEquals(removeEmptyDir(`${root}/n1/ifstats`), false, "already gone");
      assertEquals(removeFile(`${root}/n1/none`), false);
      assert(/^[01]\n$/.test(readKernelFile("/proc/sys/kernel/bpf_stats_enabled")));
    } finally {
      removeEmptyDir(`${root}/n1`);
      removeEmptyDir(root);
    }
    assert(!pathExists(root));
  },
);

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});
