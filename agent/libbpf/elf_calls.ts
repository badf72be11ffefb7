// SPDX-License-Identifier: Apache-2.0
/**
 * The helpers a compiled BPF object calls, read from its ELF file: every executable section's call
 * instructions (BPF_JMP | BPF_CALL with src_reg 0 carry the helper's id, enum bpf_func_id, in imm; src_reg 1
 * is a call of a subprogram, 2 of a kfunc). Sections are named as in the ELF: the programs' own ("tc",
 * "tracepoint/skb/kfree_skb") and ".text", where the subprograms and bpf_loop callbacks live.
 *
 * Read from the file rather than through libbpf: libbpf keeps ".text" to itself until it links the programs
 * at load, and a helper called only from a subprogram would be missed.
 */
const SHF_EXECINSTR = 0x4;
const BPF_CALL_OPCODE = 0x85; // BPF_JMP | BPF_CALL
const INSN_BYTES = 8;
const BPF_JMP32_CLASS = 0x06;
const BPF_STX_CLASS = 0x03;
const BPF_ATOMIC_MODE = 0xc0;

/** Each executable section of a BPF object: its name and its instructions' byte range in `elf`. */
function codeSections(elf: Uint8Array): { name: string; view: DataView; start: number; end: number }[] {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (view.getUint32(0) !== 0x7f454c46) throw new Error("not an ELF file");
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error("not a 64-bit little-endian ELF file (BPF objects are)");
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const shstrndx = view.getUint16(0x3e, true);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: view.getUint32(at, true),
      flags: Number(view.getBigUint64(at + 8, true)),
      offset: Number(view.getBigUint64(at + 24, true)),
      size: Number(view.getBigUint64(at + 32, true)),
    };
  };
  const names = section(shstrndx);
  const nameAt = (off: number) => {
    let end = names.offset + off;
    while (elf[end] !== 0) end++;
    return new TextDecoder().decode(elf.subarray(names.offset + off, end));
  };
  const out = [];
  for (let i = 1; i < shnum; i++) {
    const s = section(i);
    if (!(s.flags & SHF_EXECINSTR) || s.size === 0) continue;
    out.push({ name: nameAt(s.name), view, start: s.offset, end: s.offset + s.size });
  }
  return out;
}

/** Section name → the helper ids its code calls. */
export function helperCalls(elf: Uint8Array): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const { name, view, start, end } of codeSections(elf)) {
    const ids = new Set<number>();
    for (let at = start; at + INSN_BYTES <= end; at += INSN_BYTES) {
      const srcReg = elf[at + 1] >> 4;
      if (elf[at] === BPF_CALL_OPCODE && srcReg === 0) ids.add(view.getInt32(at + 4, true));
    }
    out.set(name, ids);
  }
  return out;
}

/**
 * The instruction kinds newer than the eBPF of Linux 4.x that an object's code holds (clang -mcpu=v3 emits them):
 * "jmp32" (32-bit conditional jumps, Linux 5.1) and "atomics" (atomic and/or/xor, fetch, xchg, cmpxchg: any
 * BPF_ATOMIC but the old BPF_XADD add, Linux 5.12). A kernel without them refuses the load with a verifier log.
 */
export function instructionKinds(elf: Uint8Array): Set<"jmp32" | "atomics"> {
  const out = new Set<"jmp32" | "atomics">();
  for (const { view, start, end } of codeSections(elf)) {
    for (let at = start; at + INSN_BYTES <= end; at += INSN_BYTES) {
      const code = elf[at];
      if ((code & 0x07) === BPF_JMP32_CLASS) out.add("jmp32");
      else if (
        (code & 0x07) === BPF_STX_CLASS && (code & 0xe0) === BPF_ATOMIC_MODE && view.getInt32(at + 4, true) !== 0
      ) {
        out.add("atomics"); // imm 0: BPF_ADD without BPF_FETCH, the BPF_XADD every kernel with eBPF maps has
      }
    }
  }
  return out;
}
