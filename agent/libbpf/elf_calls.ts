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

/** Section name → the helper ids its code calls. */
export function helperCalls(elf: Uint8Array): Map<string, Set<number>> {
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
  const out = new Map<string, Set<number>>();
  for (let i = 1; i < shnum; i++) {
    const s = section(i);
    if (!(s.flags & SHF_EXECINSTR) || s.size === 0) continue;
    const ids = new Set<number>();
    for (let at = s.offset; at + INSN_BYTES <= s.offset + s.size; at += INSN_BYTES) {
      const srcReg = elf[at + 1] >> 4;
      if (elf[at] === BPF_CALL_OPCODE && srcReg === 0) ids.add(view.getInt32(at + 4, true));
    }
    out.set(nameAt(s.name), ids);
  }
  return out;
}
