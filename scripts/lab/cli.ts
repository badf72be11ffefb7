// SPDX-License-Identifier: Apache-2.0
/**
 * npm run lab: a lab cluster by hand (docs/running.md).
 * Needs root, iproute2 and cgroup v2; --traffic also nc and ping (npm run
 * setup installs them). No build artifacts: the lab is namespaces only.
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { describeLab } from "./describe.ts";
import { labAttach, labDown, labUp, startTraffic } from "./lab.ts";
import { labProcesses, readRecord } from "./records.ts";
import { topology } from "./topology.ts";

const USAGE = `usage:
  npm run lab -- up [--nodes 2] [--pods 3] [--traffic] [--name lab] [--index 0] [--json]
  npm run lab -- status [--name lab] [--json]
  npm run lab -- traffic [--name lab]     (start the --traffic processes in a lab that is up)
  npm run lab -- down [--name lab]        (removes namespaces, links, cgroups, processes and records)
--name (1-5 of [a-z0-9]) and --index (0..15, the subnet 10.250.<index>.0/24) let labs run side by side.`;

const args = () =>
  parseArgs({
    allowPositionals: true,
    options: {
      name: { type: "string", default: "lab" },
      index: { type: "string", default: "0" },
      nodes: { type: "string", default: "2" },
      pods: { type: "string", default: "3" },
      traffic: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });

function needRoot(): void {
  if (process.getuid?.() !== 0) throw new Error("must run as root (it creates network namespaces and cgroups)");
}

/** The traffic processes are started inside namespaces, where a missing tool would fail silently. */
function needTrafficTools(): void {
  const missing = ["nc", "ping"].filter((tool) => {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) throw new Error(`--traffic needs ${missing.join(" and ")} (npm run setup installs them)`);
}

/** What a lab that is up looks like now: its description, or JSON with --json. */
function show(name: string, json: boolean): string {
  const rec = readRecord(name);
  if (!rec) return `lab '${name}' is not up`;
  const procs = labProcesses(rec);
  const t = topology(rec.options);
  if (json) return JSON.stringify({ topology: t, created: rec.created, processes: procs }, null, 1);
  return describeLab(t, { running: procs.filter((p) => p.alive).length, started: procs.length });
}

try {
  const { positionals, values } = args();
  const cmd = positionals[0] ?? "status";
  if (values.help) {
    console.log(USAGE);
  } else if (cmd === "up") {
    needRoot();
    if (values.traffic) needTrafficTools();
    const lab = labUp({
      name: values.name,
      index: Number(values.index),
      nodes: Number(values.nodes),
      podsPerNode: Number(values.pods),
    });
    if (values.traffic) startTraffic(lab);
    console.log(show(values.name, values.json));
  } else if (cmd === "traffic") {
    needRoot();
    needTrafficTools();
    const lab = labAttach(values.name);
    if (!lab) throw new Error(`lab '${values.name}' is not up`);
    startTraffic(lab);
    console.log(show(values.name, values.json));
  } else if (cmd === "down") {
    needRoot();
    const wasUp = readRecord(values.name) !== null;
    labDown(values.name); // also without a record: whatever carries the lab's names goes
    console.log(wasUp ? `lab '${values.name}' removed` : `lab '${values.name}' was not up; nothing of it is left`);
  } else if (cmd === "status") {
    console.log(show(values.name, values.json));
  } else {
    throw new Error(`unknown command '${cmd}'\n${USAGE}`);
  }
} catch (e) {
  console.error(`lab: ${(e as Error).message}`);
  process.exit(1);
}
