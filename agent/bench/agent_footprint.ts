// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's memory and CPU with 10,000 active flows. The real agent
 * (deno run agent/main.ts, the permissions of `deno task agent`) runs as a
 * child process on a node namespace with two pods, pushing every 10 s to a
 * fake control plane in this process; a UDP sender in one pod sends one
 * datagram a second to each of 10,000 ports of the other pod, so 10,000
 * flows stay active (each seen at both pods' veths: 20,000 table entries).
 * After a warm-up, RSS (resident, and its peak) and CPU time of the agent
 * are read from /proc over a few intervals. Targets (issue 4): <= 100 MB RSS
 * and <= 5% of one core at a 10 s interval.
 *
 *   deno run --allow-all agent/bench/agent_footprint.ts
 *   (BENCH_FLOWS, BENCH_INTERVAL, BENCH_INTERVALS; BENCH_AGENT_ARGS="--flow-table-size 32768" adds agent flags)
 */
import { AgentProcess } from "../testing/agent_process.ts";
import { FakeControl } from "../testing/fake_control.ts";
import { PodNet } from "../testing/pod_net.ts";
import { REPO_ROOT } from "../testing/kernel.ts";
import { agentTaskFlags, output } from "../testing/run.ts";
import { row, verdict } from "./report.ts";

const FLOWS = Number(Deno.env.get("BENCH_FLOWS") ?? 10_000);
const INTERVAL = Number(Deno.env.get("BENCH_INTERVAL") ?? 10);
const MEASURE_INTERVALS = Number(Deno.env.get("BENCH_INTERVALS") ?? 3);

/** A sender of one datagram to each port in [base, base + count) every second, as a Node script (dgram). */
const SENDER = (ip: string, base: number, count: number) => `
const s = require("dgram").createSocket("udp4");
const b = Buffer.alloc(16);
const round = () => { for (let p = ${base}; p < ${base + count}; p++) s.send(b, p, "${ip}"); };
round(); setInterval(round, 1000);`;

function procStat(pid: number): { cpuTicks: number; rssKb: number; hwmKb: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { cpuTicks, rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
}

export async function benchAgentFootprint(): Promise<void> {
  const net = await PodNet.create(2);
  const control = FakeControl.start();
  const stateDir = await Deno.makeTempDir({ prefix: "ek8s-bench-state-" });
  const pinDir = `/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}-footprint`;
  const hz = Number((await output(["getconf", "CLK_TCK"])).trim());
  const sender = new Deno.Command("ip", {
    args: ["netns", "exec", net.pod("p1").netns, "node", "-e", SENDER(net.pod("p2").ip, 20000, FLOWS)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const agentArgs = [
    "--control",
    control.url,
    "--node",
    "bench-footprint",
    "--join-token",
    control.token,
    "--netns",
    net.node,
    "--interfaces",
    net.bridge,
    "--pods-file",
    net.podsFile,
    "--interval",
    String(INTERVAL),
    "--state-dir",
    stateDir,
    "--bpf-pin-dir",
    pinDir,
    ...(Deno.env.get("BENCH_AGENT_ARGS")?.split(" ").filter(Boolean) ?? []),
  ];
  const agent = new Deno.Command(Deno.execPath(), {
    args: ["run", ...agentTaskFlags(), "agent/main.ts", ...agentArgs],
    cwd: REPO_ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const logged = (async () => {
    for await (const chunk of agent.stderr.pipeThrough(new TextDecoderStream())) log = (log + chunk).slice(-20_000);
  })();
  try {
    // warm-up: started, the table filled, two reads done
    await new Promise((r) => setTimeout(r, (INTERVAL * 1.5 + 3) * 1000));
    const a = procStat(agent.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, INTERVAL * MEASURE_INTERVALS * 1000));
    const b = procStat(agent.pid);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = (b.cpuTicks - a.cpuTicks) / hz / seconds;
    const last = control.batches.at(-1);
    const m = last?.monitoring;
    row(
      "active flows (5-tuples) / flow table entries",
      `${FLOWS} / ${m?.flowEntries ?? "?"}`,
      `flow records per batch ${last?.flows?.length ?? "?"}, keys summed into "other" so far ${
        m?.flowKeysSummed ?? "?"
      }, cut ${m?.flowRecordsCut ?? "?"}`,
    );
    row(
      "agent RSS (now / peak)",
      `${(b.rssKb / 1024).toFixed(1)} / ${(b.hwmKb / 1024).toFixed(1)} MB`,
      verdict(b.hwmKb / 1024, 100, "lower"),
    );
    row(
      `agent CPU at a ${INTERVAL} s interval`,
      `${(cpu * 100).toFixed(2)} %`,
      `of one core over ${seconds.toFixed(0)} s; ${verdict(cpu * 100, 5, "lower")}`,
    );
  } finally {
    try {
      agent.kill("SIGTERM");
    } catch { /* gone */ }
    const status = await agent.status;
    await logged;
    if (!status.success || !control.batches.length) console.error(`agent (exit ${status.code}):\n${log}`);
    // SIGTERM left the datapath for a successor: removed as an operator does
    const u = await AgentProcess.uninstall(agentArgs);
    if (u.code !== 0) console.error(`uninstall (exit ${u.code}):\n${u.output}`);
    try {
      sender.kill("SIGTERM");
    } catch { /* gone */ }
    await sender.status;
    await control.close();
    await net.close();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    await Deno.remove(pinDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await benchAgentFootprint();
