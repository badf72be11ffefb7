// SPDX-License-Identifier: Apache-2.0
/**
 * An agent under test: a quiet veth pair in namespaces of our own (the
 * agent watches ifA in nsA through --netns) or, with `pods`, a node
 * namespace with a bridge and pods (the agent watches the bridge and follows
 * the pods file), a fake control plane on 127.0.0.1, a temp state directory
 * and a pin directory under /sys/fs/bpf/ebpf-k8s-test-<pid>-*. close()
 * removes all of it, also after a failure.
 */
import { Agent } from "../agent.ts";
import { type AgentConfig, parseConfig } from "../config.ts";
import { pathExists } from "../libbpf/mod.ts";
import { FakeControl } from "./fake_control.ts";
import { BPF_OBJ_DIR } from "./kernel.ts";
import { createVethPair, type InterfaceStats, interfaceStats, statsDelta, type VethPair } from "./netns.ts";
import { assertEquals } from "./assert.ts";
import type { InterfaceCounters } from "../../control/wire/batch.ts";
import { PodNet } from "./pod_net.ts";
import { tc } from "./bpf.ts";

/** ICMP payload of the test pings; frame = payload + 8 ICMP + 20 IPv4 + 14 Ethernet. */
export const PING_SIZE = 200;
export const PING_FRAME = PING_SIZE + 8 + 20 + 14;

let rigs = 0;

/**
 * The batch's counters of the rig's watched interface are `total` test pings each way, and equal to what
 * the kernel's own statistics of that interface counted since `before`.
 */
export async function assertPingTotals(
  r: AgentRig,
  c: InterfaceCounters,
  total: number,
  before: InterfaceStats,
): Promise<void> {
  assertEquals([c.rxPackets, c.txPackets, c.rxBytes, c.txBytes], [
    total,
    total,
    total * PING_FRAME,
    total * PING_FRAME,
  ]);
  const d = statsDelta(before, await interfaceStats(r.net.nsA, r.net.ifA));
  assertEquals([d.rxPackets, d.txPackets, d.rxBytes, d.txBytes], [c.rxPackets, c.txPackets, c.rxBytes, c.txBytes]);
}

export class AgentRig {
  readonly logs: string[] = [];
  readonly agents: Agent[] = [];
  readonly log = (m: string) => {
    this.logs.push(m);
    if (this.logs.length > 1000) this.logs.shift();
  };

  private constructor(
    readonly veths: VethPair | null,
    readonly podNet: PodNet | null,
    readonly control: FakeControl,
    readonly stateDir: string,
    readonly pinRoot: string,
    readonly node: string,
  ) {}

  /** `pods`: a node namespace with that many pods instead of a veth pair. */
  static async create(options: { pods?: number } = {}): Promise<AgentRig> {
    const n = ++rigs;
    const veths = options.pods ? null : await createVethPair();
    let pods: PodNet | null = null;
    try {
      pods = options.pods ? await PodNet.create(options.pods) : null;
    } catch (e) {
      await veths?.close();
      throw e;
    }
    const control = FakeControl.start();
    const stateDir = await Deno.makeTempDir({ prefix: "ek8s-agent-state-" });
    return new AgentRig(
      veths,
      pods,
      control,
      stateDir,
      `/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}-agent-${n}`,
      `ek8s-test-n${n}`,
    );
  }

  /** The veth pair (rigs made without pods). */
  get net(): VethPair {
    if (!this.veths) throw new Error("this rig has pods, not a veth pair");
    return this.veths;
  }

  /** The node with pods (rigs made with pods). */
  get pods(): PodNet {
    if (!this.podNet) throw new Error("this rig has a veth pair, not pods");
    return this.podNet;
  }

  /** The agent's command-line arguments (the token unless `token: false`). */
  args(options: { token?: boolean; bpfDir?: string; interval?: number; extra?: string[] } = {}): string[] {
    return [
      "--control",
      this.control.url,
      "--node",
      this.node,
      ...(options.token === false ? [] : ["--join-token", this.control.token]),
      ...(this.podNet
        ? ["--netns", this.podNet.node, "--interfaces", this.podNet.bridge, "--pods-file", this.podNet.podsFile]
        : ["--netns", this.net.nsA, "--interfaces", this.net.ifA]),
      "--interval",
      String(options.interval ?? 1),
      "--bpf-dir",
      options.bpfDir ?? BPF_OBJ_DIR,
      "--bpf-pin-dir",
      this.pinRoot,
      "--state-dir",
      this.stateDir,
      ...(options.extra ?? []),
    ];
  }

  config(options: Parameters<AgentRig["args"]>[0] = {}): AgentConfig {
    return parseConfig(this.args(options), () => undefined);
  }

  async start(options: Parameters<AgentRig["args"]>[0] = {}): Promise<Agent> {
    const agent = await Agent.start(this.config(options), { log: this.log, finalPushMs: 1000 });
    this.agents.push(agent);
    return agent;
  }

  /** One read and one delivery; returns the batch made. */
  async tick(agent: Agent) {
    const b = agent.collect();
    await agent.deliver();
    return b!;
  }

  /** Pin directory of a module (default ifstats). */
  get pinDir(): string {
    return this.pinDirOf("ifstats");
  }

  pinDirOf(module: string): string {
    return `${this.pinRoot}/${this.node}/${module}`;
  }

  /** Namespace of the watched links, and the links: the veth, or the bridge and the pods' host veths still there. */
  #links(): { ns: string; devs: string[] } {
    if (!this.podNet) return { ns: this.net.nsA, devs: [this.net.ifA] };
    const p = this.podNet;
    return { ns: p.node, devs: [p.bridge, ...p.pods.filter((x) => !p.removed.has(x.name)).map((x) => x.hostVeth)] };
  }

  /** Lines of `tc filter show` for one direction of a watched link (default: the veth or the bridge) that are filters (have a handle). */
  async filters(direction: "ingress" | "egress", dev = this.#links().devs[0]): Promise<string[]> {
    return (await tc(this.#links().ns, ["filter", "show", "dev", dev, direction])).split("\n").filter((l) =>
      l.includes(" handle ")
    );
  }

  async hasClsact(dev = this.#links().devs[0]): Promise<boolean> {
    return (await tc(this.#links().ns, ["qdisc", "show", "dev", dev])).includes("clsact");
  }

  /** Everything gone that a clean stop removes: filters, our qdiscs, pins, epoch.json. */
  async assertCleanedUp(): Promise<string[]> {
    const left: string[] = [];
    for (const dev of this.#links().devs) {
      if ((await this.filters("ingress", dev)).length || (await this.filters("egress", dev)).length) {
        left.push(`tc filters on ${dev}`);
      }
      if (await this.hasClsact(dev)) left.push(`clsact qdisc on ${dev}`);
    }
    if (pathExists(this.pinRoot)) left.push(`pins under ${this.pinRoot}`);
    if (pathExists(`${this.stateDir}/epoch.json`)) left.push("epoch.json");
    return left;
  }

  async close(): Promise<void> {
    for (const a of this.agents) await a.stop().catch(() => {});
    await this.control.close();
    await this.veths?.close();
    await this.podNet?.close();
    await Deno.remove(this.stateDir, { recursive: true }).catch(() => {});
    await Deno.remove(this.pinRoot, { recursive: true }).catch(() => {});
  }
}

/** Runs `fn` with a rig, closed afterwards; a failure carries the agents' log. */
export async function withAgentRig(options: { pods?: number }, fn: (r: AgentRig) => Promise<void>): Promise<void> {
  const r = await AgentRig.create(options);
  try {
    await fn(r);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nagent log:\n  ${r.logs.join("\n  ")}`, { cause: e });
  } finally {
    await r.close();
  }
}
