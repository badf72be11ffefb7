// SPDX-License-Identifier: Apache-2.0
/**
 * ns/packet of the interface counter program next to an empty tc program,
 * through BPF_PROG_TEST_RUN, alternating rounds so that both see the same
 * machine noise. Target (issue 2): counter <= 1.5x the empty program.
 */
import { BpfObject } from "../libbpf/mod.ts";
import { udpFrame } from "../testing/packets.ts";
import { row, verdict } from "./report.ts";
import { alternatingRuns, BPF_DIR, REPEAT, ROUNDS } from "./test_runs.ts";

export function benchTcPrograms(): void {
  const empty = BpfObject.open(`${BPF_DIR}empty_tc.bpf.o`);
  const ifstats = BpfObject.open(`${BPF_DIR}ifstats.bpf.o`);
  try {
    empty.load();
    ifstats.load();
    const frame = udpFrame({ payload: new Uint8Array(64) });
    const { empty: e, counter: c } = alternatingRuns({
      empty: empty.program("empty_tc"),
      counter: ifstats.program("ifstats_ingress"),
    }, frame);
    row("tc empty program (BPF_PROG_TEST_RUN)", `${e.toFixed(1)} ns/pkt`, `median of ${ROUNDS} x ${REPEAT}`);
    row("tc ifstats counter (BPF_PROG_TEST_RUN)", `${c.toFixed(1)} ns/pkt`, `median of ${ROUNDS} x ${REPEAT}`);
    row("ratio counter / empty", `${(c / e).toFixed(2)}x`, verdict(c / e, 1.5, "lower"));
  } finally {
    ifstats.close();
    empty.close();
  }
}

if (import.meta.main) benchTcPrograms();
