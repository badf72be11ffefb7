// SPDX-License-Identifier: Apache-2.0
/**
 * ns/packet of the flow program (flows_ingress: per-pod counters plus the
 * flow-table update) next to an empty tc program, through
 * BPF_PROG_TEST_RUN, alternating rounds so that both see the same machine
 * noise. Target (issue 4): flows <= 3x the empty program.
 *
 * The ratio is for a packet of a flow already in the table (the common case:
 * a lookup and atomic adds). The insert path (a new flow) is shown apart:
 * one run per new source port, so each is an insert; a single run's time is
 * near the kernel timer's resolution, so that figure is rough.
 *
 *   deno run --allow-ffi --allow-read --allow-env agent/bench/flows_program.ts
 */
import { BpfObject } from "../libbpf/mod.ts";
import { udpFrame } from "../testing/packets.ts";
import { median, row, verdict } from "./report.ts";
import { alternatingRuns, BPF_DIR, REPEAT, ROUNDS } from "./test_runs.ts";

const INSERTS = Number(Deno.env.get("BENCH_INSERTS") ?? 20_000);

export function benchFlowsProgram(): void {
  const empty = BpfObject.open(`${BPF_DIR}empty_tc.bpf.o`);
  const flows = BpfObject.open(`${BPF_DIR}flows.bpf.o`);
  try {
    empty.load();
    flows.map("flows").setMaxEntries(65536);
    flows.load();
    const frame = udpFrame({ payload: new Uint8Array(64) });
    const progs = { empty: empty.program("empty_tc"), flows: flows.program("flows_ingress") };
    const { empty: e, flows: f } = alternatingRuns(progs, frame);
    // the insert path: one run per new source port (the syscall's own cost is not in durationNs)
    const insertNs: number[] = [];
    for (let i = 0; i < INSERTS; i++) {
      insertNs.push(
        progs.flows.testRun({
          data: udpFrame({
            srcPort: 1024 + (i % 60000),
            dstPort: 80 + Math.floor(i / 60000),
            payload: new Uint8Array(64),
          }),
          repeat: 1,
        }).durationNs,
      );
    }
    row("tc empty program (BPF_PROG_TEST_RUN)", `${e.toFixed(1)} ns/pkt`, `median of ${ROUNDS} x ${REPEAT}`);
    row(
      "tc flows_ingress, known flow (BPF_PROG_TEST_RUN)",
      `${f.toFixed(1)} ns/pkt`,
      `median of ${ROUNDS} x ${REPEAT}`,
    );
    row("ratio flows / empty", `${(f / e).toFixed(2)}x`, verdict(f / e, 3, "lower"));
    row(
      "tc flows_ingress, new flow (insert)",
      `${median(insertNs).toFixed(0)} ns/pkt`,
      `median of ${INSERTS} single runs (timer resolution bound)`,
    );
  } finally {
    flows.close();
    empty.close();
  }
}

if (import.meta.main) benchFlowsProgram();
