// SPDX-License-Identifier: Apache-2.0
/**
 * BPF_PROG_TEST_RUN (bpf_prog_test_run_opts, bpf.h): runs a loaded program
 * on a packet in the kernel without attaching it.
 *
 * For tc (SCHED_CLS) programs the kernel builds an skb from `data` (an
 * Ethernet frame), so skb->len is the whole frame. Unless `ctx` (a
 * struct __sk_buff, 192 bytes) sets ifindex, skb->dev is the namespace's
 * loopback device, i.e. skb->ifindex == 1.
 */
import { alloc, copyBytes, libbpf } from "./ffi.ts";
import { checkInt } from "./errors.ts";
import { readTestRunOpts, testRunOpts } from "./structs.ts";

export interface TestRunOptions {
  /** Packet (for tc and XDP: starting with the Ethernet header). */
  data?: Uint8Array;
  /** Repetitions (kernel default 1 when 0). */
  repeat?: number;
  /** Context in, e.g. a struct __sk_buff for tc programs. */
  ctx?: Uint8Array;
  /** Capacity for the context out (default: ctx length when ctx is given, else 0). */
  ctxOutSize?: number;
  /** Capacity for the packet out (default: data length + 4096). */
  dataOutSize?: number;
  flags?: number;
  cpu?: number;
}

export interface TestRunResult {
  /** The program's return value (signed: tc's TC_ACT_UNSPEC is -1). */
  retval: number;
  /** Average run time per repetition in ns, as the kernel measured it. */
  durationNs: number;
  /** The packet after the program ran. */
  dataOut: Uint8Array;
  /** The context after the program ran (when ctxOutSize > 0). */
  ctxOut: Uint8Array | null;
}

/** Buffers whose raw addresses are in an opts struct of a call in progress. */
const inFlight = new Set<unknown[]>();

/** @internal used by BpfProgram.testRun */
export function testRunFd(progFd: number, progName: string, options: TestRunOptions): TestRunResult {
  const dataIn = options.data ? copyBytes(options.data) : undefined;
  const dataOut = alloc(options.dataOutSize ?? (dataIn ? dataIn.length + 4096 : 0));
  const ctxIn = options.ctx ? copyBytes(options.ctx) : undefined;
  const ctxOutSize = options.ctxOutSize ?? (ctxIn ? ctxIn.length : 0);
  const ctxOut = ctxOutSize > 0 ? alloc(ctxOutSize) : undefined;
  const opts = testRunOpts({
    dataIn,
    dataOut: dataOut.length ? dataOut : undefined,
    ctxIn,
    ctxOut,
    repeat: options.repeat ?? 1,
    flags: options.flags,
    cpu: options.cpu,
  });
  // opts holds raw addresses of these buffers: keep them reachable until the call returns.
  const buffers = [dataIn, dataOut, ctxIn, ctxOut];
  inFlight.add(buffers);
  try {
    checkInt(
      "bpf_prog_test_run_opts",
      `${progName}, ${dataIn?.length ?? 0} bytes, repeat ${options.repeat ?? 1}`,
      () => libbpf().bpf_prog_test_run_opts(progFd, opts),
    );
  } finally {
    inFlight.delete(buffers);
  }
  const out = readTestRunOpts(opts);
  return {
    retval: out.retval,
    durationNs: out.duration,
    dataOut: dataOut.slice(0, out.dataSizeOut),
    ctxOut: ctxOut ? ctxOut.slice(0, out.ctxSizeOut) : null,
  };
}
