// SPDX-License-Identifier: Apache-2.0
/**
 * Kernel feature probes (libbpf_probe_bpf_prog_type / _map_type): libbpf
 * loads a minimal program or creates a minimal map of the type and reports
 * whether the kernel took it. Needs the same privileges as loading (root or
 * CAP_BPF); each probe is a syscall or two, so callers cache the answers.
 */
import { libbpf, libc, readCString } from "./ffi.ts";
import { LibbpfError } from "./errors.ts";

/** Whether the kernel supports programs of `type` (enum bpf_prog_type). */
export function probeProgType(type: number): boolean {
  return probeResult("libbpf_probe_bpf_prog_type", progTypeName(type), libbpf().libbpf_probe_bpf_prog_type(type, null));
}

/** Whether the kernel supports maps of `type` (enum bpf_map_type). */
export function probeMapType(type: number): boolean {
  const name = readCString(libbpf().libbpf_bpf_map_type_str(type), `map type ${type}`);
  return probeResult("libbpf_probe_bpf_map_type", name, libbpf().libbpf_probe_bpf_map_type(type, null));
}

/**
 * Whether programs of `progType` may call helper `helperId` (enum bpf_func_id) on this kernel. Undefined when
 * libbpf cannot tell (it cannot probe some program types, e.g. tracing ones): the caller decides what an
 * unknown means.
 */
export function probeHelper(progType: number, helperId: number): boolean | undefined {
  const ret = libbpf().libbpf_probe_bpf_helper(progType, helperId, null);
  return ret < 0 ? undefined : ret === 1;
}

/** One instruction (struct bpf_insn): opcode, dst and src registers, offset, immediate. */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new DataView(new ArrayBuffer(8));
  b.setUint8(0, code);
  b.setUint8(1, (src << 4) | dst);
  b.setInt16(2, off, true);
  b.setInt32(4, imm, true);
  return [...new Uint8Array(b.buffer)];
}
const R0 = 0, R1 = 1, R10 = 10, EXIT = insn(0x95, 0, 0, 0, 0), RETURN_0 = insn(0xb7, R0, 0, 0, 0);
/** Minimal socket-filter programs that use one kind of instruction (elf_calls.ts instructionKinds). */
const INSN_PROBES = {
  // if w0 == 0 goto +0 (BPF_JMP32 | BPF_JEQ | BPF_K)
  jmp32: [RETURN_0, insn(0x16, R0, 0, 0, 0), EXIT],
  // *(u64 *)(r10 - 8) = 0; r1 = 1; lock *(u64 *)(r10 - 8) |= r1 (BPF_STX | BPF_ATOMIC | BPF_DW, imm BPF_OR)
  atomics: [insn(0x7a, R10, 0, -8, 0), insn(0xb7, R1, 0, 0, 1), insn(0xdb, R10, R1, -8, 0x40), RETURN_0, EXIT],
};
const BPF_PROG_TYPE_SOCKET_FILTER = 1;

/** Whether the kernel's verifier takes instructions of `kind`: loads a program of a few of them (then closes it). */
export function probeInstructions(kind: keyof typeof INSN_PROBES): boolean {
  const code = new Uint8Array(INSN_PROBES[kind].flat());
  const fd = libbpf().bpf_prog_load(
    BPF_PROG_TYPE_SOCKET_FILTER,
    new TextEncoder().encode(`probe_${kind}\0`),
    new TextEncoder().encode("GPL\0"),
    code,
    BigInt(code.length / 8),
    null,
  );
  if (fd >= 0) {
    libc().close(fd);
    return true;
  }
  // EINVAL: the verifier refused the instructions; anything else (EPERM) is the probe failing, not an answer
  if (fd === -22) return false;
  throw new LibbpfError("bpf_prog_load", `probe_${kind}`, -fd);
}

/** libbpf's name of a program type, e.g. "sched_cls". */
export function progTypeName(type: number): string {
  return readCString(libbpf().libbpf_bpf_prog_type_str(type), `prog type ${type}`);
}

// 1: supported, 0: not; a negative errno means the probe itself failed
// (EPERM without privileges, EOPNOTSUPP for a type libbpf cannot probe).
function probeResult(call: string, what: string, ret: number): boolean {
  if (ret < 0) throw new LibbpfError(call, what, -ret);
  return ret === 1;
}
