// SPDX-License-Identifier: Apache-2.0
/**
 * Kernel feature probes (libbpf_probe_bpf_prog_type / _map_type): libbpf
 * loads a minimal program or creates a minimal map of the type and reports
 * whether the kernel took it. Needs the same privileges as loading (root or
 * CAP_BPF); each probe is a syscall or two, so callers cache the answers.
 */
import { libbpf, readCString } from "./ffi.ts";
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
