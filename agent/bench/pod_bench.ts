// SPDX-License-Identifier: Apache-2.0
/**
 * What the lab benchmarks of monitoring modules share (monitoring_overhead.ts,
 * dns_overhead.ts): a test node with pods (testing/pod_net.ts: namespaces on
 * a bridge with no way out) whose pods file the modules follow as the agent
 * does, iperf3 between two of its pods, and modules switched on and off in
 * alternating rounds so that both sides see the same machine.
 *
 * close() (withPodBench does it, also after a failure) stops every module it
 * switched, ends the processes it started by pid and deletes the namespaces.
 */
import type { Module, ModuleEnv, Reading } from "../modules/module.ts";
import { listInterfaces, netnsInode } from "../netif.ts";
import { PodTable } from "../pods/directory.ts";
import { FilePodSource } from "../pods/file-pods.ts";
import { PodNet } from "../testing/pod_net.ts";
import { waitListening } from "../testing/pod_traffic.ts";
import { output } from "../testing/run.ts";
import { median } from "./report.ts";

const BPF = new URL("../../build/bpf/", import.meta.url).pathname;
const IPERF = Deno.env.get("IPERF3") ?? "/usr/bin/iperf3";
const IPERF_PORT = 5201;
// Five pairs: with three, one disturbed run (the machine is shared) moved the median ratio by 15 %.
export const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
/** Seconds of each measured run (iperf3 -t, dnsperf -l). */
export const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 3);

/** Samples of a measure with the modules off and on, one of each per round, in the rounds' order. */
export interface OnOff {
  off: number[];
  on: number[];
}

/** on ÷ off: of the medians, and of each round (its own pair, measured one right after the other) with their median. */
export function onOffRatios(s: OnOff): { ofMedians: number; rounds: number[]; median: number } {
  const rounds = s.on.map((v, i) => v / s.off[i]);
  return { ofMedians: median(s.on) / median(s.off), rounds, median: median(rounds) };
}

export class PodBench {
  readonly #procs = new Set<Deno.ChildProcess>();
  readonly #modules = new Set<Module>();
  readonly pinDir = `/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}-bench`;

  private constructor(readonly net: PodNet, readonly pods: PodTable) {}

  /** A node of `pods` pods (p1, p2, ...), its pod directory following the pods file. */
  static async create(pods: number): Promise<PodBench> {
    const net = await PodNet.create(pods);
    try {
      const table = new PodTable(new FilePodSource(net.podsFile, 500, () => {}), true);
      table.start();
      return new PodBench(net, table);
    } catch (e) {
      await net.close();
      throw e;
    }
  }

  /** Where a module of this node runs, as the agent gives it (its pins under the bench's own directory). */
  env(name: string): ModuleEnv {
    return {
      node: "bench",
      bpfDir: BPF,
      pinDir: `${this.pinDir}/${name}`,
      interfaces: listInterfaces(this.net.node).filter((i) => i.name !== "lo").map((i) => ({ ...i, driver: null })),
      netns: this.net.node,
      netnsIno: netnsInode(this.net.node),
      excludeInterfaces: [],
      pods: this.pods,
      log: (m) => console.error(m),
    };
  }

  /** Starts `cmd` in pod `pod` (ended by its pid at close(): `ip netns exec` execs it). */
  spawn(pod: string, cmd: string[]): Deno.ChildProcess {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", this.net.pod(pod).netns, ...cmd],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#procs.add(child);
    return child;
  }

  /** An iperf3 server in pod `pod`, listening when this returns. */
  async iperf3Server(pod: string): Promise<void> {
    this.spawn(pod, [IPERF, "-s", "-p", String(IPERF_PORT)]);
    await waitListening(this.net.pod(pod).netns, IPERF_PORT);
  }

  /** One iperf3 run (one TCP stream, SECONDS) from pod `from` to the server in `to`: received bits per second. */
  async iperf3(from: string, to: string): Promise<number> {
    const args = ["-c", this.net.pod(to).ip, "-p", String(IPERF_PORT), "-t", String(SECONDS), "-J"];
    const json = await output(this.net.in(from, [IPERF, ...args]));
    return JSON.parse(json).end.sum_received.bits_per_second;
  }

  /**
   * `measure` ROUNDS times with `modules` off (never started, or stopped: their
   * programs detached) and on, in turns: off then on in even rounds, on then
   * off in odd ones, so that a drift of the machine over a round (a neighbour's
   * load rising) does not always land on the same side. After each run with
   * them on, each module is read, as the agent does every interval (so they
   * really counted), and `afterOn` gets the readings.
   */
  async alternate(
    modules: Module[],
    measure: () => Promise<number>,
    afterOn: (readings: Reading[]) => void = () => {},
  ): Promise<OnOff> {
    const s: OnOff = { off: [], on: [] };
    const on = () =>
      this.withOn(modules, async () => {
        s.on.push(await measure());
        afterOn(modules.map((m) => m.read()));
      });
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2) await on();
      s.off.push(await measure());
      if (r % 2 === 0) await on();
    }
    return s;
  }

  /** Runs `fn` with `modules` started (as a fresh agent starts them), stopped afterwards (close() stops them too). */
  async withOn<T>(modules: Module[], fn: () => Promise<T>): Promise<T> {
    try {
      for (const m of modules) {
        this.#modules.add(m);
        m.start({ adopt: false });
      }
      return await fn();
    } finally {
      for (const m of modules) m.stop();
    }
  }

  /** Stops the modules, ends the processes, deletes the namespaces and pins; says what failed. */
  async close(): Promise<void> {
    for (const m of this.#modules) {
      try {
        m.stop();
      } catch (e) {
        console.error(`stopping ${m.name}: ${(e as Error).message}`);
      }
    }
    for (const p of this.#procs) {
      try {
        p.kill("SIGKILL");
      } catch { /* gone */ }
      await p.status.catch(() => {});
    }
    await this.pods.stop();
    await this.net.close();
    await Deno.remove(this.pinDir, { recursive: true }).catch(() => {});
  }
}

/** Runs `fn` with a bench node of `pods` pods, closed afterwards whatever happens. */
export async function withPodBench(pods: number, fn: (b: PodBench) => Promise<void>): Promise<void> {
  const b = await PodBench.create(pods);
  try {
    await fn(b);
  } finally {
    await b.close();
  }
}
