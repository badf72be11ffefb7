// SPDX-License-Identifier: Apache-2.0
/**
 * cgroup v2 for the lab: each node and pod gets a child cgroup under the
 * lab's own one, so cgroup eBPF programs can be attached per node without
 * ever touching the machine's root cgroup.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";

/** Where cgroup v2 is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function cgroup2Mount(): string {
  const line = readFileSync("/proc/mounts", "utf8").split("\n").find((l) => l.split(" ")[2] === "cgroup2");
  if (!line) throw new Error("cgroup v2 is not mounted (run npm run setup)");
  return line.split(" ")[1];
}

export const cgroupPath = (rel: string) => `${cgroup2Mount()}/${rel}`;

export function makeCgroup(rel: string): string {
  if (!rel || rel.startsWith("/") || rel.includes("..")) {
    throw new Error(`refusing cgroup path '${rel}': must be a child path`);
  }
  const path = cgroupPath(rel);
  mkdirSync(path, { recursive: true });
  return path;
}

export const cgroupProcs = (path: string): number[] =>
  existsSync(`${path}/cgroup.procs`)
    ? readFileSync(`${path}/cgroup.procs`, "utf8").split("\n").filter(Boolean).map(Number)
    : [];

/** Kills what is left inside and removes the cgroup and its children, deepest first. */
export function removeCgroupTree(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirDirs(path)) removeCgroupTree(`${path}/${entry}`);
  for (const pid of cgroupProcs(path)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(path);
      return;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // processes take a moment to leave
    }
  }
  throw new Error(`cannot remove cgroup ${path}: still busy`);
}

const readdirDirs = (path: string) =>
  readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

/** argv prefix that moves the command into a cgroup before exec'ing it. */
export const inCgroup = (
  path: string,
  argv: string[],
) => ["sh", "-c", `echo $$ > "${path}/cgroup.procs" && exec "$@"`, "sh", ...argv];
