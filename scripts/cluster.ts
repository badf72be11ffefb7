// SPDX-License-Identifier: Apache-2.0
/**
 * A running system, for the demo and the end-to-end tests: the control plane
 * as a real process (restartable on the same database), a lab cluster and an
 * agent per node, each in its node's netns and cgroup, with its own state and
 * pin dirs, joined with a join token made through the admin API.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { cgroupPath } from "./lab/cgroup.ts";
import { type Lab, labUp } from "./lab/lab.ts";
import { podsFilePath } from "./lab/pods-file.ts";
import type { NodeSpec, PodSpec } from "./lab/topology.ts";
import { agentArgv, type AgentOptions, controlArgv, type Proc, start, waitFor } from "./procs.ts";

export interface Counters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}
export interface ApiIf extends Counters {
  ifname: string;
  drops: number;
}

export interface ClusterOptions {
  /** Lab name: prefixes namespaces and node names. */
  name: string;
  index: number;
  nodes: number;
  pods: number;
  /** Also a client namespace outside the cluster, on the nodes' subnet (lab topology `outside`). */
  outside?: boolean;
  port: number;
  controlEnv?: Record<string, string>;
  /** Agents' read and push period, seconds. */
  interval?: number;
  /** Extra environment of every agent (its EBPF_K8S_* settings, agent/config.ts). */
  agentEnv?: Record<string, string>;
  /** Echo every process's output with a [name] prefix. */
  echo?: boolean;
}

export class Cluster {
  readonly dir = mkdtempSync(`${tmpdir()}/ek8s-cluster-`);
  readonly pinDir = `/sys/fs/bpf/ebpf-k8s-${process.pid}`;
  readonly adminToken = randomBytes(24).toString("base64url");
  readonly lab: Lab;
  control?: Proc;
  readonly agents = new Map<string, Proc>();
  joinToken = "";

  constructor(readonly o: ClusterOptions) {
    this.lab = labUp({ name: o.name, index: o.index, nodes: o.nodes, podsPerNode: o.pods, outside: o.outside });
  }

  get name() {
    return this.o.name;
  }

  get port() {
    return this.o.port;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async startControl(): Promise<void> {
    this.control = start("control", controlArgv(), {
      PORT: String(this.port),
      HOST: "0.0.0.0",
      DATABASE_URL: `file:${this.dir}/db.sqlite`,
      EBPF_K8S_ADMIN_TOKEN: this.adminToken,
      ...this.o.controlEnv,
    }, this.o.echo);
    await waitFor("control plane", async () => (await fetch(`${this.url}/healthz`)).ok, 30_000);
  }

  async admin(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async createJoinToken(): Promise<string> {
    const res = await this.admin("POST", "/api/v1/join-tokens", { ttlSeconds: 3600, description: `lab ${this.name}` });
    if (res.status !== 201) throw new Error(`join token: ${res.status} ${await res.text()}`);
    this.joinToken = ((await res.json()) as { token: string }).token;
    return this.joinToken;
  }

  node(i: number): NodeSpec {
    return this.lab.topology.nodes[i];
  }

  /** Cluster-wide node name of a lab node. */
  nodeName(node: NodeSpec) {
    return `${this.name}-${node.name}`;
  }

  /**
   * Pod veths are followed through the pods file (flows module); `interfaces` are the node's own.
   * `env` adds to the cluster's agentEnv for this node alone (its gateway interfaces, say).
   */
  startAgent(node: NodeSpec, interfaces = ["eth0", "cni0"], env: Record<string, string> = {}): Proc {
    const proc = start(
      `agent ${node.name}`,
      agentArgv(this.#agentOptions(node, interfaces)),
      { ...this.o.agentEnv, ...env },
      this.o.echo,
    );
    this.agents.set(node.name, proc);
    return proc;
  }

  /**
   * The agent's uninstall command for a node, with the flags its agent ran
   * with: SIGTERM leaves the datapath for a successor, this removes it.
   * Resolves with the exit code.
   */
  async uninstallAgent(node: NodeSpec, interfaces = ["eth0", "cni0"]): Promise<number | null> {
    const argv = agentArgv({ ...this.#agentOptions(node, interfaces), command: "uninstall" });
    const proc = start(`uninstall ${node.name}`, argv, this.o.agentEnv ?? {}, this.o.echo);
    const code = await new Promise<number | null>((r) => proc.child.on("exit", r));
    if (code !== 0) throw new Error(`uninstall of ${node.name} exited ${code}:\n${proc.output()}`);
    return code;
  }

  #agentOptions(node: NodeSpec, interfaces: string[]): AgentOptions {
    return {
      netns: node.netns,
      cgroup: cgroupPath(node.cgroup),
      control: `http://${this.lab.topology.hostIp}:${this.port}`,
      node: this.nodeName(node),
      interfaces,
      interval: this.o.interval ?? 0.5,
      joinToken: this.joinToken,
      stateDir: `${this.dir}/state-${node.name}`,
      pinDir: this.pinDir,
      podsFile: podsFilePath(this.name, node.name),
      // the node's cgroup holds its pods' cgroups (and the agent's own process, which the lb programs leave alone: it dials no VIP)
      lbCgroup: cgroupPath(node.cgroup),
    };
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`);
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<T>;
  }

  async interfaces(node: NodeSpec): Promise<Record<string, ApiIf>> {
    const ifs = await this.get<ApiIf[]>(`/api/v1/nodes/${this.nodeName(node)}/interfaces`);
    return Object.fromEntries(ifs.map((i) => [i.ifname, i]));
  }

  /** Logs of every process, for failure messages. */
  logs(): string {
    return [this.control, ...this.agents.values()].filter(Boolean).map((p) =>
      `--- ${p!.name}:\n${p!.output().slice(-4000)}`
    ).join("\n");
  }

  async down(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    // SIGTERM left each node's datapath attached for a successor: removed the way an operator does
    for (const name of this.agents.keys()) {
      await this.uninstallAgent(this.lab.topology.nodes.find((n) => n.name === name)!).catch((e) =>
        console.error((e as Error).message)
      );
    }
    await this.control?.stop();
    this.lab.down();
    rmSync(this.pinDir, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The kernel's own statistics of an interface in a netns. */
export function kernelStats(netns: string, ifname: string): Counters {
  const [link] = JSON.parse(
    execFileSync("ip", ["-n", netns, "-s", "-j", "link", "show", ifname], { encoding: "utf8" }),
  );
  const s = link.stats64;
  return { rxPackets: s.rx.packets, rxBytes: s.rx.bytes, txPackets: s.tx.packets, txBytes: s.tx.bytes };
}

/** N pings of payload SIZE from a pod; returns the Ethernet frame size of each packet. */
export function ping(from: PodSpec, to: string, n: number, size: number): number {
  execFileSync("ip", pingArgs(from, to, n, size));
  return size + 8 + 20 + 14;
}

/** `ip` arguments for N pings of payload SIZE from a pod, `intervalS` apart. */
export function pingArgs(from: PodSpec, to: string, n: number, size: number, intervalS = 0.01): string[] {
  const ping = ["ping", "-q", "-c", String(n), "-i", String(intervalS), "-s", String(size), "-W", "2", to];
  return ["netns", "exec", from.netns, ...ping];
}

export const pick = (i: Counters): Counters => ({
  rxPackets: i.rxPackets,
  rxBytes: i.rxBytes,
  txPackets: i.txPackets,
  txBytes: i.txBytes,
});
export const delta = (a: Counters, b: Counters): Counters => ({
  rxPackets: b.rxPackets - a.rxPackets,
  rxBytes: b.rxBytes - a.rxBytes,
  txPackets: b.txPackets - a.txPackets,
  txBytes: b.txBytes - a.txBytes,
});
