// SPDX-License-Identifier: Apache-2.0
/**
 * Byte-exact builders for the libbpf option structs passed by pointer.
 * Layouts are from the x86_64 (LP64) headers of libbpf 1.1
 * (/usr/include/bpf/libbpf.h, /usr/include/bpf/bpf.h) and the kernel UAPI
 * (/usr/include/linux/bpf.h); offsets and sizes were checked with
 * offsetof()/sizeof() in a C program compiled against those headers.
 *
 * Every libbpf opts struct starts with `size_t sz` = sizeof(struct), and
 * ends with `size_t :0`, which pads it to a multiple of 8. libbpf rejects a
 * struct whose bytes past the fields it knows are non-zero, so all buffers
 * start zeroed (alloc).
 */
import { alloc, ptrOf } from "./ffi.ts";

const LE = true;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** enum bpf_tc_attach_point (libbpf.h) */
export const BPF_TC_INGRESS = 1 << 0;
export const BPF_TC_EGRESS = 1 << 1;
export const BPF_TC_CUSTOM = 1 << 2;
/** enum bpf_tc_flags (libbpf.h) */
export const BPF_TC_F_REPLACE = 1 << 0;

/**
 * struct bpf_tc_hook (libbpf.h), sizeof 24:
 *   0  size_t sz
 *   8  int ifindex
 *  12  enum bpf_tc_attach_point attach_point
 *  16  __u32 parent
 *  20  (size_t :0 padding to 24)
 */
export const BPF_TC_HOOK_SIZE = 24;
export function tcHook(ifindex: number, attachPoint: number, parent = 0): Uint8Array {
  const b = alloc(BPF_TC_HOOK_SIZE);
  const v = view(b);
  v.setBigUint64(0, BigInt(BPF_TC_HOOK_SIZE), LE);
  v.setInt32(8, ifindex, LE);
  v.setUint32(12, attachPoint, LE);
  v.setUint32(16, parent >>> 0, LE);
  return b;
}

/**
 * struct bpf_tc_opts (libbpf.h), sizeof 32:
 *   0  size_t sz
 *   8  int prog_fd
 *  12  __u32 flags
 *  16  __u32 prog_id
 *  20  __u32 handle
 *  24  __u32 priority
 *  28  (size_t :0 padding to 32)
 */
export const BPF_TC_OPTS_SIZE = 32;
export interface TcOptsFields {
  progFd?: number;
  flags?: number;
  progId?: number;
  handle?: number;
  priority?: number;
}
export function tcOpts(f: TcOptsFields): Uint8Array {
  const b = alloc(BPF_TC_OPTS_SIZE);
  const v = view(b);
  v.setBigUint64(0, BigInt(BPF_TC_OPTS_SIZE), LE);
  v.setInt32(8, f.progFd ?? 0, LE);
  v.setUint32(12, f.flags ?? 0, LE);
  v.setUint32(16, f.progId ?? 0, LE);
  v.setUint32(20, f.handle ?? 0, LE);
  v.setUint32(24, f.priority ?? 0, LE);
  return b;
}
export function readTcOpts(b: Uint8Array): Required<TcOptsFields> {
  const v = view(b);
  return {
    progFd: v.getInt32(8, LE),
    flags: v.getUint32(12, LE),
    progId: v.getUint32(16, LE),
    handle: v.getUint32(20, LE),
    priority: v.getUint32(24, LE),
  };
}

/**
 * struct bpf_xdp_attach_opts (libbpf.h), sizeof 16:
 *   0  size_t sz
 *   8  int old_prog_fd
 *  12  (size_t :0 padding to 16)
 */
export const BPF_XDP_ATTACH_OPTS_SIZE = 16;
export function xdpAttachOpts(oldProgFd = 0): Uint8Array {
  const b = alloc(BPF_XDP_ATTACH_OPTS_SIZE);
  const v = view(b);
  v.setBigUint64(0, BigInt(BPF_XDP_ATTACH_OPTS_SIZE), LE);
  v.setInt32(8, oldProgFd, LE);
  return b;
}

/** XDP_FLAGS_* (linux/if_link.h) */
export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;
export const XDP_FLAGS_HW_MODE = 1 << 3;
export const XDP_FLAGS_REPLACE = 1 << 4;

/**
 * struct bpf_map_batch_opts (bpf.h), sizeof 24:
 *   0  size_t sz
 *   8  __u64 elem_flags
 *  16  __u64 flags
 */
export const BPF_MAP_BATCH_OPTS_SIZE = 24;
export function mapBatchOpts(elemFlags = 0n, flags = 0n): Uint8Array {
  const b = alloc(BPF_MAP_BATCH_OPTS_SIZE);
  const v = view(b);
  v.setBigUint64(0, BigInt(BPF_MAP_BATCH_OPTS_SIZE), LE);
  v.setBigUint64(8, elemFlags, LE);
  v.setBigUint64(16, flags, LE);
  return b;
}

/**
 * struct bpf_test_run_opts (bpf.h), sizeof 80:
 *   0  size_t sz
 *   8  const void *data_in
 *  16  void *data_out
 *  24  __u32 data_size_in
 *  28  __u32 data_size_out   (in: capacity of data_out; out: bytes written)
 *  32  const void *ctx_in
 *  40  void *ctx_out
 *  48  __u32 ctx_size_in
 *  52  __u32 ctx_size_out    (in: capacity; out: bytes written)
 *  56  __u32 retval          (out)
 *  60  int repeat
 *  64  __u32 duration        (out: average ns per repetition)
 *  68  __u32 flags
 *  72  __u32 cpu
 *  76  __u32 batch_size
 * The buffers must stay referenced until the call returns (they do: the
 * caller holds them).
 */
export const BPF_TEST_RUN_OPTS_SIZE = 80;
export interface TestRunFields {
  dataIn?: Uint8Array;
  dataOut?: Uint8Array;
  ctxIn?: Uint8Array;
  ctxOut?: Uint8Array;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}
export function testRunOpts(f: TestRunFields): Uint8Array {
  const b = alloc(BPF_TEST_RUN_OPTS_SIZE);
  const v = view(b);
  const addr = (x: Uint8Array | undefined) => (x ? BigInt(Deno.UnsafePointer.value(ptrOf(x))) : 0n);
  v.setBigUint64(0, BigInt(BPF_TEST_RUN_OPTS_SIZE), LE);
  v.setBigUint64(8, addr(f.dataIn), LE);
  v.setBigUint64(16, addr(f.dataOut), LE);
  v.setUint32(24, f.dataIn?.length ?? 0, LE);
  v.setUint32(28, f.dataOut?.length ?? 0, LE);
  v.setBigUint64(32, addr(f.ctxIn), LE);
  v.setBigUint64(40, addr(f.ctxOut), LE);
  v.setUint32(48, f.ctxIn?.length ?? 0, LE);
  v.setUint32(52, f.ctxOut?.length ?? 0, LE);
  v.setInt32(60, f.repeat ?? 0, LE);
  v.setUint32(68, f.flags ?? 0, LE);
  v.setUint32(72, f.cpu ?? 0, LE);
  v.setUint32(76, f.batchSize ?? 0, LE);
  return b;
}
export function readTestRunOpts(
  b: Uint8Array,
): { dataSizeOut: number; ctxSizeOut: number; retval: number; duration: number } {
  const v = view(b);
  return {
    dataSizeOut: v.getUint32(28, LE),
    ctxSizeOut: v.getUint32(52, LE),
    retval: v.getInt32(56, LE), // __u32 in the header; tc/xdp return codes are signed ints
    duration: v.getUint32(64, LE),
  };
}

/**
 * struct bpf_map_info (linux/bpf.h), the fields used here:
 *   0 type, 4 id, 8 key_size, 12 value_size, 16 max_entries, 20 map_flags,
 *  24 char name[16]; sizeof 88 in the 6.1 UAPI header (the kernel accepts a
 *  shorter or longer zeroed buffer and reports how much it filled).
 */
export const BPF_MAP_INFO_SIZE = 88;
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  name: string;
}
export function readMapInfo(b: Uint8Array): MapInfo {
  const v = view(b);
  return {
    type: v.getUint32(0, LE),
    id: v.getUint32(4, LE),
    keySize: v.getUint32(8, LE),
    valueSize: v.getUint32(12, LE),
    maxEntries: v.getUint32(16, LE),
    mapFlags: v.getUint32(20, LE),
    name: cname(b.subarray(24, 40)),
  };
}

/**
 * struct bpf_prog_info (linux/bpf.h), the fields used here:
 *   0 type, 4 id, 8 tag[8], 64 char name[16], 192 __u64 run_time_ns,
 * 200 __u64 run_cnt; sizeof 232 in the 6.1 header (offsets checked with
 * offsetof). run_time_ns and run_cnt stay 0 unless kernel.bpf_stats_enabled.
 */
export const BPF_PROG_INFO_SIZE = 232;
export interface ProgInfo {
  type: number;
  id: number;
  tag: string;
  name: string;
  runTimeNs: number;
  runCount: number;
}
export function readProgInfo(b: Uint8Array): ProgInfo {
  const v = view(b);
  return {
    type: v.getUint32(0, LE),
    id: v.getUint32(4, LE),
    tag: [...b.subarray(8, 16)].map((x) => x.toString(16).padStart(2, "0")).join(""),
    name: cname(b.subarray(64, 80)),
    // u64 counters; beyond 2^53 they lose precision, never their magnitude
    runTimeNs: Number(v.getBigUint64(192, LE)),
    runCount: Number(v.getBigUint64(200, LE)),
  };
}

/**
 * struct bpf_link_info (linux/bpf.h): 0 type, 4 id, 8 prog_id, then a union
 * at 16 whose cgroup member is 16 __u64 cgroup_id, 24 __u32 attach_type;
 * sizeof 48 in the 6.1 header.
 */
export const BPF_LINK_INFO_SIZE = 48;
/** enum bpf_link_type: BPF_LINK_TYPE_CGROUP */
export const BPF_LINK_TYPE_CGROUP = 3;
export interface LinkInfo {
  type: number;
  id: number;
  progId: number;
  /** cgroup links: the cgroup's id (its cgroup v2 directory's inode); 0 for other links. */
  cgroupId: number;
}
export function readLinkInfo(b: Uint8Array): LinkInfo {
  const v = view(b);
  const type = v.getUint32(0, LE);
  return {
    type,
    id: v.getUint32(4, LE),
    progId: v.getUint32(8, LE),
    cgroupId: type === BPF_LINK_TYPE_CGROUP ? Number(v.getBigUint64(16, LE)) : 0,
  };
}

/** A __u32 in-out length argument (bpf_obj_get_info_by_fd's info_len, batch count). */
export function u32Cell(value: number): Uint8Array {
  const b = alloc(4);
  view(b).setUint32(0, value, LE);
  return b;
}
export function readU32(b: Uint8Array, off = 0): number {
  return view(b).getUint32(off, LE);
}

function cname(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}
