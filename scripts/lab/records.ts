// SPDX-License-Identifier: Apache-2.0
/**
 * What a lab created, written to disk after every step, so that `lab down`
 * can remove it all even after the process that built it crashed.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { LabOptions } from "./topology.ts";

export const RECORDS_DIR = process.env.EBPF_K8S_LAB_RUN_DIR ?? "/run/ebpf-k8s";

export type Created =
  | { kind: "netns"; name: string }
  | { kind: "link"; name: string } // in the root netns
  | { kind: "cgroup"; path: string }
  | { kind: "pid"; pid: number; what: string };

export interface LabRecord {
  options: LabOptions;
  created: Created[];
}

export const recordPath = (name: string) => `${RECORDS_DIR}/lab-${name}.json`;

export function readRecord(name: string): LabRecord | null {
  const path = recordPath(name);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, "utf8")) as LabRecord;
}

/** Appends to the record and writes it atomically (tmp + rename). */
export function remember(rec: LabRecord, item: Created): void {
  rec.created.push(item);
  writeRecord(rec);
}

export function writeRecord(rec: LabRecord): void {
  mkdirSync(RECORDS_DIR, { recursive: true });
  const path = recordPath(rec.options.name);
  writeFileSync(`${path}.tmp`, JSON.stringify(rec, null, 1));
  renameSync(`${path}.tmp`, path);
}

export function forgetRecord(name: string): void {
  rmSync(recordPath(name), { force: true });
}

/** Whether a process runs: a zombie (exited, not yet reaped by whoever adopted it) does not. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8"); // "pid (comm) state …", comm may hold anything
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

/** The processes the lab started (traffic), with whether each still runs. */
export const labProcesses = (rec: LabRecord): { pid: number; what: string; alive: boolean }[] =>
  rec.created.flatMap((c) => c.kind === "pid" ? [{ pid: c.pid, what: c.what, alive: alive(c.pid) }] : []);
