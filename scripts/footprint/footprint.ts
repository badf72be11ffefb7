// SPDX-License-Identifier: Apache-2.0
/**
 * Memory and CPU of the control plane and the agents under the demo's load: the cluster `npm run demo` makes
 * (two lab nodes of three pods, their traffic, an agent per node every 2 s, the lb module on and the service
 * demo/echo dialled twenty times a second), on a lab of its own. After a warm-up, each process (the leaf of its
 * group: the Node process under tsx, the agent's Deno) is sampled every 2 s: RSS at the end and its peak (VmHWM),
 * and CPU time over the window as a share of one core. Absolute figures of this machine: for the README's
 * "Resource use", with the date and the machine. Cleans up (agents uninstalled, lab down) also when it fails.
 *
 *   npx tsx scripts/footprint/footprint.ts
 *   (BENCH_LAB_INDEX, default 13: the lab's index, 0..15; BENCH_WARMUP_SECONDS 30; BENCH_SECONDS 60; PORT 18080)
 */
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { Cluster } from "../cluster.ts";
import { DEMO_SHAPE, startDemoService } from "../demo-service.ts";
import { startTraffic } from "../lab/lab.ts";
import type { Proc } from "../procs.ts";
import { groupLeaf, type ProcSample } from "./proc-group.ts";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const WARMUP_S = env("BENCH_WARMUP_SECONDS", 30);
const WINDOW_S = env("BENCH_SECONDS", 60);
const SAMPLE_MS = 2000;
const mib = (kb: number) => (kb / 1024).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Watched {
  name: string;
  first: ProcSample;
  last: ProcSample;
  peakRssKb: number;
}

function leafOf(p: Proc): ProcSample {
  const leaf = groupLeaf(p.child.pid!);
  if (!leaf) throw new Error(`${p.name}: no process left (exit ${p.child.exitCode})\n${p.output().slice(-2000)}`);
  return leaf;
}

const c = new Cluster({
  name: "foot",
  index: env("BENCH_LAB_INDEX", 13),
  nodes: DEMO_SHAPE.nodes,
  pods: DEMO_SHAPE.pods,
  port: env("PORT", 18080),
  interval: DEMO_SHAPE.interval,
});
let code = 0;
try {
  await c.startControl();
  await c.createJoinToken();
  startTraffic(c.lab);
  for (const node of c.lab.topology.nodes) c.startAgent(node);
  await startDemoService(c);
  await sleep(WARMUP_S * 1000);
  const procs = [c.control!, ...c.agents.values()];
  const watched: Watched[] = procs.map((p) => {
    const s = leafOf(p);
    return { name: p.name, first: s, last: s, peakRssKb: s.rssKb };
  });
  const t0 = performance.now();
  while (performance.now() - t0 < WINDOW_S * 1000) {
    await sleep(SAMPLE_MS);
    procs.forEach((p, i) => {
      const s = leafOf(p);
      if (s.pid !== watched[i].first.pid) throw new Error(`${p.name}: restarted during the window`);
      watched[i].last = s;
      watched[i].peakRssKb = Math.max(watched[i].peakRssKb, s.rssKb);
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  const hz = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  const ready = (await c.get<{ status: string }[]>("/api/v1/nodes")).filter((n) => n.status === "Ready").length;
  console.log(
    `footprint under the demo's load (${DEMO_SHAPE.nodes} nodes × ${DEMO_SHAPE.pods} pods, agents every ` +
      `${DEMO_SHAPE.interval} s, lb on, 20 connections/s to demo/echo) on ${new Date().toISOString().slice(0, 10)}, ` +
      `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
      `Linux ${execFileSync("uname", ["-r"], { encoding: "utf8" }).trim()}; window ${seconds.toFixed(0)} s`,
  );
  for (const w of watched) {
    const cpu = (w.last.cpuTicks - w.first.cpuTicks) / hz / seconds;
    console.log(
      `  ${w.name.padEnd(10)} RSS ${mib(w.last.rssKb)} MiB (highest sampled ${mib(w.peakRssKb)}, peak since start ` +
        `${mib(w.last.hwmKb)}), CPU ${(cpu * 100).toFixed(2)} % of one core`,
    );
  }
  if (ready !== DEMO_SHAPE.nodes) throw new Error(`${ready} of ${DEMO_SHAPE.nodes} nodes Ready at the end`);
} catch (e) {
  console.error(`footprint: ${(e as Error).message}\n${c.logs()}`);
  code = 1;
} finally {
  await c.down();
}
process.exit(code);
