// SPDX-License-Identifier: Apache-2.0
/**
 * Memory and CPU time of a process group, read from /proc: the processes scripts/procs.ts starts each lead a
 * group of their own (wrappers such as tsx and nsenter included), and the one doing the work is the group's leaf
 * (the process none of the others is the parent of): the Node process under tsx, the agent's Deno.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcSample {
  pid: number;
  ppid: number;
  pgrp: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssKb: number;
  /** Peak RSS (VmHWM). */
  hwmKb: number;
}

/** The fields of /proc/PID/stat after the command (which may hold spaces and parentheses). */
export function parseStat(stat: string): { ppid: number; pgrp: number; cpuTicks: number } {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(f[1]), pgrp: Number(f[2]), cpuTicks: Number(f[11]) + Number(f[12]) };
}

/** A process now, or null when it is gone. */
export function sample(pid: number): ProcSample | null {
  try {
    const stat = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { pid, ...stat, rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** The group's leaf process (see the top), or null when the group has none left. */
export function groupLeaf(pgrp: number): ProcSample | null {
  const members = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map((d) => sample(Number(d)))
    .filter((s): s is ProcSample => s !== null && s.pgrp === pgrp);
  return members.find((m) => !members.some((o) => o.ppid === m.pid)) ?? null;
}
