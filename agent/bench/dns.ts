// SPDX-License-Identifier: Apache-2.0
/**
 * ns/packet of the DNS program (dns_ingress, bpf/dns.bpf.c) next to an empty
 * tc program, through BPF_PROG_TEST_RUN, alternating rounds so that both see
 * the same machine noise (issue 20): the cost every packet of a pod pays,
 * for a packet that is not DNS (UDP to port 9, and a TCP segment to port 80).
 *
 * For scale, not a target: a DNS query (UDP to 53, a name of 3 labels). The
 * same frame each run, so after the first it takes the path of a query
 * retransmitted while pending (parse, name and server counters, pending
 * lookup); a first query also inserts into dns_pending. And its answers on
 * dns_egress, never matched (no query pending on that program's maps):
 * NOERROR (header, pending lookup, server counters) and NXDOMAIN (the name's
 * walk and counter too).
 *
 *   deno run --allow-ffi --allow-read --allow-env agent/bench/dns.ts
 *   (BENCH_ROUNDS, BENCH_REPEAT: fewer for a quick look)
 */
import { BpfObject } from "../libbpf/mod.ts";
import { udpFrame } from "../testing/packets.ts";
import { row } from "./report.ts";
import { alternatingRuns, BPF_DIR, REPEAT, ROUNDS } from "./test_runs.ts";

/** A message for www.example.lab type A, as dig sends it (no EDNS); flags 0x0100: a query, 0x818x: an answer. */
function dnsMessage(flags = 0x0100): Uint8Array {
  const name = "www.example.lab".split(".").flatMap((l) => [l.length, ...[...l].map((c) => c.charCodeAt(0))]);
  return new Uint8Array([0x12, 0x34, flags >> 8, flags & 0xff, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 0, 1, 0, 1]);
}

/** The answer to it: from port 53 back to the query's port. */
const answerFrame = (flags: number) => udpFrame({ srcPort: 53, dstPort: 40000, payload: dnsMessage(flags) });

/** udpFrame with the IP protocol made TCP and a 20-byte TCP header in place of UDP's (checksums are not checked). */
function tcpFrame(): Uint8Array {
  const f = udpFrame({ dstPort: 80, payload: new Uint8Array(64) });
  f[14 + 9] = 6;
  f[14 + 20 + 12] = 5 << 4; // data offset: 5 words
  return f;
}

export function benchDnsProgram(): void {
  const empty = BpfObject.open(`${BPF_DIR}empty_tc.bpf.o`);
  const dns = BpfObject.open(`${BPF_DIR}dns.bpf.o`);
  try {
    empty.load();
    dns.load();
    const note = `median of ${ROUNDS} x ${REPEAT}`;
    for (
      const [what, prog, frame] of [
        ["UDP, not DNS", "dns_ingress", udpFrame({ payload: new Uint8Array(64) })],
        ["TCP, not DNS", "dns_ingress", tcpFrame()],
        ["DNS query (pending: retransmit path)", "dns_ingress", udpFrame({ dstPort: 53, payload: dnsMessage() })],
        ["DNS answer, NOERROR (unmatched)", "dns_egress", answerFrame(0x8180)],
        ["DNS answer, NXDOMAIN (unmatched)", "dns_egress", answerFrame(0x8183)],
      ] as const
    ) {
      const { empty: e, dns: d } = alternatingRuns({ empty: empty.program("empty_tc"), dns: dns.program(prog) }, frame);
      row(`tc empty program, ${what}`, `${e.toFixed(1)} ns/pkt`, note);
      row(`tc ${prog}, ${what}`, `${d.toFixed(1)} ns/pkt`, note);
      row(`ratio dns / empty, ${what}`, `${(d / e).toFixed(2)}x`, "measured side by side");
    }
  } finally {
    dns.close();
    empty.close();
  }
}

if (import.meta.main) benchDnsProgram();
