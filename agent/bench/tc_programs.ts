/**
 * ns/packet of the interface counter program next to an empty tc program,
 * through BPF_PROG_TEST_RUN, alternating rounds so that both see the same
 * machine noise. Target (issue 2): counter <= 1.5x the empty program.
 */
import { BpfObject } from "../libbpf/mod.ts";
import { udpFrame } from "../testing/packets.ts";
import { median, row, verdict } from "./report.ts";

const BPF = new URL("../../build/bpf/", import.meta.url).pathname;
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 9);
const REPEAT = Number(Deno.env.get("BENCH_REPEAT") ?? 1_000_000);

export function benchTcPrograms(): void {
  const empty = BpfObject.open(`${BPF}empty_tc.bpf.o`);
  const ifstats = BpfObject.open(`${BPF}ifstats.bpf.o`);
  try {
    empty.load();
    ifstats.load();
    const frame = udpFrame({ payload: new Uint8Array(64) });
    const progs = { empty: empty.program("empty_tc"), counter: ifstats.program("ifstats_ingress") };
    const ns: Record<keyof typeof progs, number[]> = { empty: [], counter: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const k of Object.keys(progs) as (keyof typeof progs)[]) {
        ns[k].push(progs[k].testRun({ data: frame, repeat: REPEAT }).durationNs);
      }
    }
    const e = median(ns.empty), c = median(ns.counter);
    row("tc empty program (BPF_PROG_TEST_RUN)", `${e.toFixed(1)} ns/pkt`, `median of ${ROUNDS} x ${REPEAT}`);
    row("tc ifstats counter (BPF_PROG_TEST_RUN)", `${c.toFixed(1)} ns/pkt`, `median of ${ROUNDS} x ${REPEAT}`);
    row("ratio counter / empty", `${(c / e).toFixed(2)}x`, verdict(c / e, 1.5, "lower"));
  } finally {
    ifstats.close();
    empty.close();
  }
}

if (import.meta.main) benchTcPrograms();
