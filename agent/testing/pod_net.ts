// SPDX-License-Identifier: Apache-2.0
/**
 * A node with pods, shaped like the lab (and the bridge CNI): a "node"
 * network namespace with a bridge, and pod namespaces each joined to it by a
 * veth pair (eth0 in the pod, a host veth on the bridge), plus the pods file
 * the agent follows (--pods-file), as the lab writes it.
 *
 * Quiet enough to count exactly: IPv6 off everywhere, multicast off, static
 * neighbours between all pods and static bridge forwarding entries (no ARP,
 * no flooding). Names start with the test prefix (ek8s-<pid>-...), links
 * inside our namespaces with ek8s; addresses are 10.244.24x.y and never leave
 * them. close() deletes every namespace (and with them every veth).
 */
import type { PodInfo } from "../../control/wire/pods.ts";
import { createNetns, deleteNetns, netnsPrefix } from "./netns.ts";
import { inNs, output, run } from "./run.ts";

export interface TestPod {
  /** Short name, also the pod's name in the pods file: p1, p2, ... */
  name: string;
  uid: string;
  netns: string;
  ip: string;
  mac: string;
  hostVeth: string;
  /** ifindex of the host veth in the node namespace. */
  ifindex: number;
  /** Inode of the pod's network namespace. */
  netnsIno: number;
}

let nets = 0;
const rand = Math.floor(Math.random() * 36 ** 3).toString(36).padStart(3, "0");

export class PodNet {
  readonly removed = new Set<string>();

  private constructor(readonly node: string, readonly bridge: string, readonly pods: TestPod[], readonly dir: string) {}

  /** The pods file (PodInfo of every pod not removed). */
  get podsFile(): string {
    return `${this.dir}/pods.json`;
  }

  pod(name: string): TestPod {
    const p = this.pods.find((x) => x.name === name);
    if (!p) throw new Error(`no test pod ${name}`);
    return p;
  }

  static async create(podCount = 3): Promise<PodNet> {
    const n = ++nets;
    const base = `${netnsPrefix()}${rand}-k${n}`;
    const node = `${base}n`;
    const third = 240 + (n % 16);
    const hex = (x: number) => x.toString(16).padStart(2, "0");
    const mac = (kind: number, j: number) =>
      `02:e9:${hex((Deno.pid >> 8) & 0xff)}:${hex(Deno.pid & 0xff)}:${hex(n & 0xff)}:${hex(kind * 16 + j)}`;
    const dir = await Deno.makeTempDir({ prefix: "ek8s-pods-" });
    const created: string[] = [];
    const net = new PodNet(node, "ek8sbr0", [], dir);
    try {
      await createNetns(node);
      created.push(node);
      await run(["ip", "netns", "exec", node, "sysctl", "-q", "-w", "net.ipv4.igmp_link_local_mcast_reports=0"]);
      const ipNode = (...args: string[]) => run(["ip", "-n", node, ...args]);
      await ipNode("link", "add", net.bridge, "type", "bridge");
      await ipNode("link", "set", net.bridge, "multicast", "off", "up");
      for (let j = 1; j <= podCount; j++) {
        const pod: Omit<TestPod, "ifindex" | "netnsIno"> = {
          name: `p${j}`,
          uid: `uid-${base}-p${j}`,
          netns: `${base}p${j}`,
          ip: `10.244.${third}.${10 + j}`,
          mac: mac(1, j),
          hostVeth: `ek8sp${j}`,
        };
        await createNetns(pod.netns);
        created.push(pod.netns);
        await ipNode(
          "link",
          "add",
          pod.hostVeth,
          "address",
          mac(2, j),
          "type",
          "veth",
          "peer",
          "name",
          "eth0",
          "address",
          pod.mac,
          "netns",
          pod.netns,
        );
        await ipNode("link", "set", pod.hostVeth, "master", net.bridge, "multicast", "off", "up");
        const ipPod = (...args: string[]) => run(["ip", "-n", pod.netns, ...args]);
        await ipPod("addr", "add", `${pod.ip}/24`, "dev", "eth0");
        await ipPod("link", "set", "eth0", "multicast", "off", "up");
        await run(["bridge", "-n", node, "fdb", "replace", pod.mac, "dev", pod.hostVeth, "master", "static"]);
        const [link] = JSON.parse(await output(["ip", "-n", node, "-j", "link", "show", "dev", pod.hostVeth])) as {
          ifindex: number;
        }[];
        net.pods.push({ ...pod, ifindex: link.ifindex, netnsIno: Deno.statSync(`/run/netns/${pod.netns}`).ino! });
      }
      for (const a of net.pods) {
        for (const b of net.pods) {
          if (a !== b) {
            await run([
              "ip",
              "-n",
              a.netns,
              "neigh",
              "replace",
              b.ip,
              "lladdr",
              b.mac,
              "dev",
              "eth0",
              "nud",
              "permanent",
            ]);
          }
        }
      }
      net.writePodsFile();
      return net;
    } catch (e) {
      for (const ns of created.reverse()) await deleteNetns(ns).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw e;
    }
  }

  /** What the lab writes: PodInfo of each pod still there. */
  podInfos(): PodInfo[] {
    return this.pods.filter((p) => !this.removed.has(p.name)).map((p) => ({
      uid: p.uid,
      namespace: "test",
      name: p.name,
      labels: { app: p.name },
      ips: [p.ip],
      hostVeth: p.hostVeth,
      ifindex: p.ifindex,
      netnsIno: p.netnsIno,
      hostNetwork: false,
    }));
  }

  /** Rewrites the pods file atomically (with a new mtime: file sources compare it). */
  writePodsFile(): void {
    Deno.writeTextFileSync(`${this.podsFile}.tmp`, JSON.stringify(this.podInfos(), null, 1));
    Deno.renameSync(`${this.podsFile}.tmp`, this.podsFile);
  }

  /** Deletes a pod like Kubernetes does: its namespace goes (and its veth pair with it), then the pods file says so. */
  async removePod(name: string): Promise<void> {
    const p = this.pod(name);
    this.removed.add(name);
    await deleteNetns(p.netns);
    await new Promise((r) => setTimeout(r, 5)); // a distinct mtime
    this.writePodsFile();
  }

  /** `cmd` inside pod `name`'s namespace. */
  in(name: string, cmd: string[]): string[] {
    return inNs(this.pod(name).netns, cmd);
  }

  async close(): Promise<void> {
    const errors: string[] = [];
    for (const ns of [...this.pods.map((p) => p.netns), this.node]) {
      try {
        await deleteNetns(ns);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    if (errors.length) throw new Error(`cleanup of ${this.node} failed: ${errors.join("; ")}`);
  }
}
