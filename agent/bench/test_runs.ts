// SPDX-License-Identifier: Apache-2.0
/** BPF_PROG_TEST_RUN benchmarks: programs run side by side in alternating rounds, so all see the same machine noise. */
import type { BpfProgram } from "../libbpf/mod.ts";
import { median } from "./report.ts";

export const BPF_DIR = new URL("../../build/bpf/", import.meta.url).pathname;
export const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 9);
export const REPEAT = Number(Deno.env.get("BENCH_REPEAT") ?? 1_000_000);

/** Median ns/packet of each program on `frame`, ROUNDS rounds of REPEAT runs, the programs taking turns. */
export function alternatingRuns<K extends string>(progs: Record<K, BpfProgram>, frame: Uint8Array): Record<K, number> {
  const names = Object.keys(progs) as K[];
  const ns = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of names) ns[k].push(progs[k].testRun({ data: frame, repeat: REPEAT }).durationNs);
  }
  return Object.fromEntries(names.map((k) => [k, median(ns[k])])) as Record<K, number>;
}
