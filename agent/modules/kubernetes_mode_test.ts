// SPDX-License-Identifier: Apache-2.0
/**
 * Pods as the Kubernetes API describes them (name, IPs; no host veth, no
 * network namespace): the flows module hooks every veth of the node's
 * namespace and ties a veth to the pod whose IP it carries out; the tcp
 * module ties a namespace to the pod whose IP its sockets use, and the drops
 * module then charges that namespace's drops to the pod.
 */
import type { PodInfo } from "../../control/wire/pods.ts";
import { PodTable } from "../pods/directory.ts";
import type { PodSource } from "../pods/source.ts";
import {
  assertEquals,
  assertNoLeftovers,
  createPinDir,
  kernelTest,
  ping,
  PodNet,
  run,
  tcpTransfer,
} from "../testing/mod.ts";
import { BPF_OBJ_DIR } from "../testing/kernel.ts";
import { netnsInode } from "../netif.ts";
import { DropsModule } from "./drops/module.ts";
import { DnsModule } from "./dns/module.ts";
import { DEFAULT_DNS_MODULE } from "./dns/settings.ts";
import { FlowsModule } from "./flows/module.ts";
import type { ModuleEnv } from "./module.ts";
import { TcpModule } from "./tcp/module.ts";

class StaticPods implements PodSource {
  readonly description = "static";
  constructor(readonly list: PodInfo[]) {}
  pods() {
    return this.list;
  }
  start(onChange: () => void) {
    onChange();
  }
  stop() {
    return Promise.resolve();
  }
}

kernelTest("Kubernetes mode: every veth hooked; a veth and a namespace are tied to their pod by its IP", async () => {
  const net = await PodNet.create(2);
  const pin = await createPinDir();
  const logs: string[] = [];
  const pods = new PodTable(
    new StaticPods(
      net.podInfos().map(({ uid, namespace, name, labels, ips, hostNetwork }) => ({
        uid,
        namespace,
        name,
        labels,
        ips,
        hostNetwork,
      })),
    ),
    false,
  );
  const env: ModuleEnv = {
    node: "k8s",
    bpfDir: BPF_OBJ_DIR,
    pinDir: `${pin.path}/flows`,
    interfaces: [],
    netns: net.node,
    netnsIno: netnsInode(net.node),
    excludeInterfaces: [],
    pods,
    log: (m) => logs.push(m),
  };
  const flows = new FlowsModule(env), tcp = new TcpModule(env), drops = new DropsModule(env);
  const [p1, p2] = [net.pod("p1"), net.pod("p2")];
  try {
    pods.start();
    for (const m of [flows, tcp, drops]) m.start({ adopt: false });
    assertEquals(flows.record().interfaces.map((i) => i.ifname), ["ek8sp1", "ek8sp2"], "every veth, no pod names one");
    await ping(p1.netns, p2.ip, { count: 3, size: 100 });
    await tcpTransfer(net, "p1", "p2", 5003, 10_000);
    const r = flows.read();
    // each veth was tied to its pod by the source address of what it carried out of the pod
    assertEquals(pods.list().map((p) => [p.name, p.hostVeth, p.ifindex]), [[p1.name, p1.hostVeth, p1.ifindex], [
      p2.name,
      p2.hostVeth,
      p2.ifindex,
    ]]);
    assertEquals(
      r.podTraffic!.get(p2.uid)!.rxPackets,
      r.flows!.filter((f) => f.obs === "rx" && f.dst === p2.ip).reduce((s, f) => s + f.packets, 0),
    );
    assertEquals(r.flows!.filter((f) => f.obs === "host"), []);
    const t = tcp.read().tcp!.filter((x) => x.port === 5003);
    assertEquals(t.map((x) => [x.pod, x.role, x.opened]).sort(), [[p1.uid, "client", 1], [p2.uid, "server", 1]]);
    assertEquals(pods.list().map((p) => p.netnsIno), [p1.netnsIno, p2.netnsIno], "namespaces learned from the sockets");
    // now a drop inside p2's namespace is p2's
    await run(net.in("p1", ["bash", "-c", `printf x > /dev/udp/${p2.ip}/9`]));
    assertEquals(drops.read().drops!.filter((d) => d.pod === p2.uid).map((d) => [d.reason, d.packets]), [[
      "NO_SOCKET",
      1,
    ]]);
    assertEquals(logs, []);
  } finally {
    for (const m of [flows, tcp, drops]) m.stop();
    await pods.stop();
    await net.close();
    await pin.close();
  }
});

kernelTest(
  "Kubernetes mode: dns hooks every veth but those of --flow-interfaces (a node's own veth uplink)",
  async () => {
    const net = await PodNet.create(2);
    const pods = new PodTable(new StaticPods([]), false);
    const env: ModuleEnv = {
      node: "k8s",
      bpfDir: BPF_OBJ_DIR,
      pinDir: "/nonexistent", // dns pins nothing
      interfaces: [],
      netns: net.node,
      netnsIno: netnsInode(net.node),
      excludeInterfaces: [],
      pods,
      log: () => {},
    };
    const dns = new DnsModule(env, { ...DEFAULT_DNS_MODULE, hostInterfaces: [net.pod("p2").hostVeth] });
    try {
      pods.start();
      dns.start({ adopt: false });
      assertEquals(dns.record().interfaces.map((i) => i.ifname), [net.pod("p1").hostVeth]);
    } finally {
      dns.stop();
      await pods.stop();
      await net.close();
    }
  },
);

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});
