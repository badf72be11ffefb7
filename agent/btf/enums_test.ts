// SPDX-License-Identifier: Apache-2.0
import { assert, assertEquals } from "../testing/assert.ts";
import { dropReasonName, enumMembers, kernelDropReasons } from "./enums.ts";

/** A minimal BTF blob: one INT and one ENUM "colour" { RED = 1, BLUE = 7 }. */
function tinyBtf(): Uint8Array {
  const strings = "\0int\0colour\0RED\0BLUE\0";
  const types = new Uint8Array(12 + 4 + 12 + 16);
  const t = new DataView(types.buffer);
  t.setUint32(0, 1, true);
  t.setUint32(4, 1 << 24, true);
  t.setUint32(8, 4, true);
  t.setUint32(12, 32, true); // INT "int"
  t.setUint32(16, 5, true);
  t.setUint32(20, (6 << 24) | 2, true);
  t.setUint32(24, 4, true); // ENUM "colour", 2 members
  t.setUint32(28, 12, true);
  t.setInt32(32, 1, true);
  t.setUint32(36, 16, true);
  t.setInt32(40, 7, true);
  const hdr = new Uint8Array(24);
  const h = new DataView(hdr.buffer);
  h.setUint16(0, 0xeb9f, true);
  h.setUint8(2, 1);
  h.setUint32(4, 24, true);
  h.setUint32(8, 0, true);
  h.setUint32(12, types.length, true);
  h.setUint32(16, types.length, true);
  h.setUint32(20, strings.length, true);
  return new Uint8Array([...hdr, ...types, ...new TextEncoder().encode(strings)]);
}

Deno.test("enum members from a hand-made BTF blob", () => {
  assertEquals([...enumMembers(tinyBtf(), "colour")!], [[1, "RED"], [7, "BLUE"]]);
  assertEquals(enumMembers(tinyBtf(), "shape"), null);
});

Deno.test("skb_drop_reason from the running kernel's BTF", { ignore: !existsSync("/sys/kernel/btf/vmlinux") }, () => {
  const reasons = enumMembers(Deno.readFileSync("/sys/kernel/btf/vmlinux"), "skb_drop_reason");
  assert(reasons !== null, "the kernel's BTF has enum skb_drop_reason");
  assert([...reasons!.values()].includes("SKB_DROP_REASON_NO_SOCKET"));
  assertEquals(dropReasonName("SKB_DROP_REASON_NO_SOCKET"), "NO_SOCKET");
  // the same, read through libc as the agent does (no --allow-all there)
  const named = kernelDropReasons();
  assertEquals(named.size, reasons!.size);
  assert([...named.values()].includes("NO_SOCKET"));
});

function existsSync(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}
