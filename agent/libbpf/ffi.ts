// SPDX-License-Identifier: Apache-2.0
/**
 * The symbol tables of libbpf.so.1 and libc, opened once when this module is
 * imported, plus the small memory helpers every other module uses.
 *
 * Why at import time: Deno's test runner counts a dynamic library opened
 * inside a test as a leaked resource; opening here keeps the handle outside
 * any test. A missing library does not throw at import: `libbpf()` throws a
 * LibbpfUnavailableError naming the path, so skip logic can still run.
 *
 * Threading: every symbol is synchronous (no `nonblocking`), so each libbpf
 * call, and each print callback libbpf makes while inside it, runs on the
 * JavaScript thread that made the call. Nothing here is called from another
 * thread.
 *
 * Flags: `--allow-ffi` is enough on Deno 2.x (FFI, including
 * Deno.UnsafeCallback, no longer needs `--unstable-ffi`).
 */

/** Where libbpf is loaded from; EBPF_K8S_LIBBPF overrides. */
export const LIBBPF_PATH = envOr("EBPF_K8S_LIBBPF", "libbpf.so.1");
const LIBC_PATH = "libc.so.6";

const LIBBPF_SYMBOLS = {
  // --- object (libbpf.h) ---
  bpf_object__open_file: { parameters: ["buffer", "pointer"], result: "pointer" },
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  bpf_object__name: { parameters: ["pointer"], result: "pointer" },
  bpf_object__next_program: { parameters: ["pointer", "pointer"], result: "pointer" },
  bpf_object__next_map: { parameters: ["pointer", "pointer"], result: "pointer" },
  bpf_object__find_program_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_object__find_map_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_object__pin_maps: { parameters: ["pointer", "buffer"], result: "i32" },
  bpf_object__unpin_maps: { parameters: ["pointer", "buffer"], result: "i32" },

  // --- program (libbpf.h) ---
  bpf_program__name: { parameters: ["pointer"], result: "pointer" },
  bpf_program__section_name: { parameters: ["pointer"], result: "pointer" },
  bpf_program__type: { parameters: ["pointer"], result: "u32" },
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  bpf_program__autoload: { parameters: ["pointer"], result: "bool" },
  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },
  bpf_program__set_log_buf: { parameters: ["pointer", "pointer", "usize"], result: "i32" },
  bpf_program__set_log_level: { parameters: ["pointer", "u32"], result: "i32" },
  bpf_program__pin: { parameters: ["pointer", "buffer"], result: "i32" },
  bpf_program__unpin: { parameters: ["pointer", "buffer"], result: "i32" },
  bpf_program__attach: { parameters: ["pointer"], result: "pointer" },
  bpf_program__attach_cgroup: { parameters: ["pointer", "i32"], result: "pointer" },
  bpf_program__attach_tracepoint: { parameters: ["pointer", "buffer", "buffer"], result: "pointer" },
  bpf_link__destroy: { parameters: ["pointer"], result: "i32" },
  bpf_link__fd: { parameters: ["pointer"], result: "i32" },
  bpf_link__pin: { parameters: ["pointer", "buffer"], result: "i32" },
  bpf_link__unpin: { parameters: ["pointer"], result: "i32" },
  bpf_link__open: { parameters: ["buffer"], result: "pointer" },
  bpf_link__disconnect: { parameters: ["pointer"], result: "void" },
  bpf_link__update_program: { parameters: ["pointer", "pointer"], result: "i32" },
  libbpf_bpf_prog_type_str: { parameters: ["u32"], result: "pointer" },
  libbpf_bpf_map_type_str: { parameters: ["u32"], result: "pointer" },

  // --- map, libbpf object side (libbpf.h) ---
  bpf_map__name: { parameters: ["pointer"], result: "pointer" },
  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  bpf_map__type: { parameters: ["pointer"], result: "u32" },
  bpf_map__key_size: { parameters: ["pointer"], result: "u32" },
  bpf_map__value_size: { parameters: ["pointer"], result: "u32" },
  bpf_map__max_entries: { parameters: ["pointer"], result: "u32" },
  bpf_map__set_max_entries: { parameters: ["pointer", "u32"], result: "i32" },
  bpf_map__set_pin_path: { parameters: ["pointer", "buffer"], result: "i32" },
  bpf_map__pin_path: { parameters: ["pointer"], result: "pointer" },
  bpf_map__is_pinned: { parameters: ["pointer"], result: "bool" },
  bpf_map__pin: { parameters: ["pointer", "buffer"], result: "i32" },
  bpf_map__unpin: { parameters: ["pointer", "buffer"], result: "i32" },
  bpf_map__reuse_fd: { parameters: ["pointer", "i32"], result: "i32" },

  // --- low-level syscall wrappers (bpf.h) ---
  bpf_map_lookup_elem: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_update_elem: { parameters: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  bpf_map_delete_elem: { parameters: ["i32", "buffer"], result: "i32" },
  bpf_map_lookup_and_delete_elem: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_get_next_key: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_lookup_batch: {
    parameters: ["i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  bpf_map_update_batch: { parameters: ["i32", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  bpf_map_delete_batch: { parameters: ["i32", "buffer", "buffer", "buffer"], result: "i32" },
  bpf_obj_get: { parameters: ["buffer"], result: "i32" },
  bpf_obj_pin: { parameters: ["i32", "buffer"], result: "i32" },
  bpf_obj_get_info_by_fd: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_prog_get_fd_by_id: { parameters: ["u32"], result: "i32" },
  bpf_enable_stats: { parameters: ["u32"], result: "i32" },
  bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },
  // a raw program of a few instructions: the instruction-set probes (probe.ts probeInstructions)
  bpf_prog_load: { parameters: ["u32", "buffer", "buffer", "buffer", "usize", "pointer"], result: "i32" },
  // programs attached to a sockmap/sockhash (sk_msg, sk_skb): the map holds them, no link (libbpf 1.1)
  bpf_prog_attach: { parameters: ["i32", "i32", "u32", "u32"], result: "i32" },
  bpf_prog_detach2: { parameters: ["i32", "i32", "u32"], result: "i32" },

  // --- tc / xdp (libbpf.h, netlink) ---
  bpf_tc_hook_create: { parameters: ["buffer"], result: "i32" },
  bpf_tc_hook_destroy: { parameters: ["buffer"], result: "i32" },
  bpf_tc_attach: { parameters: ["buffer", "buffer"], result: "i32" },
  bpf_tc_detach: { parameters: ["buffer", "buffer"], result: "i32" },
  bpf_tc_query: { parameters: ["buffer", "buffer"], result: "i32" },
  bpf_xdp_attach: { parameters: ["i32", "i32", "u32", "buffer"], result: "i32" },
  bpf_xdp_detach: { parameters: ["i32", "u32", "buffer"], result: "i32" },
  bpf_xdp_query_id: { parameters: ["i32", "i32", "buffer"], result: "i32" },

  // --- feature probes (libbpf.h); opts must be NULL ---
  libbpf_probe_bpf_prog_type: { parameters: ["u32", "pointer"], result: "i32" },
  libbpf_probe_bpf_map_type: { parameters: ["u32", "pointer"], result: "i32" },
  libbpf_probe_bpf_helper: { parameters: ["u32", "u32", "pointer"], result: "i32" },

  // --- misc ---
  libbpf_num_possible_cpus: { parameters: [], result: "i32" },
  libbpf_set_print: { parameters: ["pointer"], result: "pointer" },
  libbpf_strerror: { parameters: ["i32", "buffer", "usize"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const LIBC_SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" },
  // int vsnprintf(char *, size_t, const char *, va_list); on x86_64 a
  // va_list argument is passed as a pointer to its 24-byte __va_list_tag.
  vsnprintf: { parameters: ["buffer", "usize", "pointer", "pointer"], result: "i32" },
  // open(2) is variadic; called with two fixed arguments and never O_CREAT,
  // so the mode argument is never read.
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // netlink requests (xdp_features.ts)
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // bpffs and /proc, /sys: Deno refuses these paths without --allow-all (fs.ts)
  access: { parameters: ["buffer", "i32"], result: "i32" },
  mkdir: { parameters: ["buffer", "u32"], result: "i32" },
  rmdir: { parameters: ["buffer"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  // interfaces of the calling thread's network namespace (agent/netif.ts)
  if_nameindex: { parameters: [], result: "pointer" },
  if_freenameindex: { parameters: ["pointer"], result: "void" },
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  // gives freed heap back to the kernel (agent/libbpf/fs.ts releaseFreedMemory); glibc only, hence optional
  malloc_trim: { parameters: ["usize"], result: "i32", optional: true },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns (agent/modules/dns/clock.ts)
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

export type LibbpfSymbols = Deno.DynamicLibrary<typeof LIBBPF_SYMBOLS>["symbols"];
export type LibcSymbols = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** libbpf.so.1 (or its prerequisites) could not be opened. */
export class LibbpfUnavailableError extends Error {
  constructor(readonly path: string, cause: unknown) {
    super(
      `cannot load ${path} with Deno.dlopen: ${cause instanceof Error ? cause.message : String(cause)} ` +
        `(install libbpf1 / libbpf-dev, or set EBPF_K8S_LIBBPF; Deno needs --allow-ffi)`,
      { cause },
    );
    this.name = "LibbpfUnavailableError";
  }
}

let libbpfLib: Deno.DynamicLibrary<typeof LIBBPF_SYMBOLS> | null = null;
let libcLib: Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | null = null;
let loadError: LibbpfUnavailableError | null = null;

try {
  libcLib = Deno.dlopen(LIBC_PATH, LIBC_SYMBOLS);
  libbpfLib = Deno.dlopen(LIBBPF_PATH, LIBBPF_SYMBOLS);
} catch (e) {
  loadError = new LibbpfUnavailableError(libcLib ? LIBBPF_PATH : LIBC_PATH, e);
}

/** Whether libbpf could be opened; `null` when it could, else the reason. */
export function libbpfUnavailable(): LibbpfUnavailableError | null {
  return loadError;
}

/** libbpf's symbols; throws LibbpfUnavailableError when it could not be opened. */
export function libbpf(): LibbpfSymbols {
  if (!libbpfLib) throw loadError!;
  return libbpfLib.symbols;
}

/** libc's symbols (errno, vsnprintf, files, setns, interfaces). */
export function libc(): LibcSymbols {
  if (!libcLib) throw loadError!;
  return libcLib.symbols;
}

// ---------------------------------------------------------------------------
// errno

/** The calling thread's errno. Read it right after the failing call. */
export function errno(): number {
  // __errno_location() is per thread; call it each time (test files run in
  // separate worker threads, each with its own copy of this module).
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32(0) : 0;
}

// ---------------------------------------------------------------------------
// memory helpers

/**
 * A zeroed buffer whose backing store lives outside the V8 heap. V8 keeps
 * small typed arrays created with `new Uint8Array(n)` on its heap, where the
 * garbage collector may move them; a buffer whose address libbpf keeps
 * (log buffers) or that is in use while JavaScript runs inside a callback
 * must not move, so every buffer handed to C comes from here.
 */
export function alloc(size: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(Math.max(size, 1)));
}

/** A copy of `src` in an off-heap buffer (see alloc). */
export function copyBytes(src: Uint8Array, size = src.length): Uint8Array {
  const b = alloc(size);
  b.set(src.subarray(0, Math.min(src.length, size)));
  return b;
}

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `s`. */
export function cstr(s: string): Uint8Array {
  const bytes = encoder.encode(s);
  if (bytes.includes(0)) throw new TypeError(`string contains a NUL byte: ${JSON.stringify(s)}`);
  const b = alloc(bytes.length + 1);
  b.set(bytes);
  return b;
}

/** The C string at `p`, or `fallback` for NULL. */
export function readCString(p: Deno.PointerValue, fallback = ""): string {
  return p ? Deno.UnsafePointerView.getCString(p) : fallback;
}

/** Text up to the first NUL of a byte buffer. */
export function bufferString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

/** The address of an off-heap buffer; keep `b` referenced as long as C may use it. */
export function ptrOf(b: Uint8Array): Deno.PointerValue {
  return Deno.UnsafePointer.of(b as Uint8Array<ArrayBuffer>);
}

function envOr(name: string, fallback: string): string {
  try {
    return Deno.env.get(name) || fallback;
  } catch {
    return fallback; // no --allow-env: use the default
  }
}

/** Reads an environment variable, or undefined without --allow-env. */
export function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
