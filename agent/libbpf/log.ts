// SPDX-License-Identifier: Apache-2.0
/**
 * Captures libbpf's own messages (libbpf_set_print) into a bounded in-memory
 * ring instead of libbpf's default of printing to stderr. Errors attach the
 * messages emitted during the failed call. EBPF_K8S_LIBBPF_DEBUG=1 also
 * prints every message to stderr.
 *
 * The callback is a Deno.UnsafeCallback (not threadSafe): libbpf calls the
 * print function synchronously on the thread that called into libbpf, which
 * is always this isolate's JavaScript thread because every symbol is bound
 * synchronously. libbpf's print hook is process-global while each Deno
 * worker (e.g. each test file) has its own isolate and its own copy of this
 * module, so the hook is (re)installed before every libbpf call made through
 * errors.ts (ensurePrintCallback) and cleared when the isolate unloads.
 * Consequence: two isolates must not call libbpf at the same time (do not
 * run these tests with `deno test --parallel`).
 */
import { alloc, envGet, libbpf, libbpfUnavailable, libc, ptrOf } from "./ffi.ts";

export type LibbpfLevel = "warn" | "info" | "debug";

export interface LibbpfMessage {
  /** Increasing sequence number, process-local. */
  seq: number;
  level: LibbpfLevel;
  /** The formatted message (usually ends with a newline). */
  text: string;
}

/** How many messages the ring keeps. */
export const LIBBPF_LOG_CAPACITY = 512;
/** Longest single message kept, in bytes (longer ones are cut). */
const MAX_MESSAGE = 64 * 1024;

const LEVELS: LibbpfLevel[] = ["warn", "info", "debug"];
const ring: LibbpfMessage[] = [];
let seq = 0;
let printToStderr = envGet("EBPF_K8S_LIBBPF_DEBUG") === "1";

const decoder = new TextDecoder();
const firstBuf = alloc(4096);
// va_copy by hand: on x86_64 a va_list is one 24-byte __va_list_tag
// { u32 gp_offset; u32 fp_offset; void *overflow_arg_area; void *reg_save_area }
// passed by address; copying those bytes is exactly what va_copy() does.
// (aarch64: a 32-byte struct, also passed by address.)
const VA_LIST_SIZE = Deno.build.arch === "x86_64" ? 24 : 32;
const vaSaved = alloc(VA_LIST_SIZE);

function format(fmt: Deno.PointerValue, ap: Deno.PointerValue): string {
  if (!fmt || !ap) return "";
  new Deno.UnsafePointerView(ap).copyInto(vaSaved, 0);
  const n = libc().vsnprintf(firstBuf, BigInt(firstBuf.length), fmt, ap);
  if (n < 0) return "";
  if (n < firstBuf.length) return decoder.decode(firstBuf.subarray(0, n));
  const big = alloc(Math.min(n + 1, MAX_MESSAGE));
  const m = libc().vsnprintf(big, BigInt(big.length), fmt, ptrOf(vaSaved));
  return decoder.decode(big.subarray(0, Math.max(0, Math.min(m, big.length - 1))));
}

function onPrint(level: number, fmt: Deno.PointerValue, ap: Deno.PointerValue): number {
  try {
    const text = format(fmt, ap);
    const msg: LibbpfMessage = { seq: ++seq, level: LEVELS[level] ?? "debug", text };
    ring.push(msg);
    if (ring.length > LIBBPF_LOG_CAPACITY) ring.splice(0, ring.length - LIBBPF_LOG_CAPACITY);
    if (printToStderr) {
      Deno.stderr.writeSync(
        new TextEncoder().encode(`libbpf[${msg.level}]: ${text.endsWith("\n") ? text : text + "\n"}`),
      );
    }
    return text.length;
  } catch {
    return 0; // never throw into C
  }
}

const printCallback = libbpfUnavailable()
  ? null
  : new Deno.UnsafeCallback({ parameters: ["i32", "pointer", "pointer"], result: "i32" } as const, onPrint);

/** Installs this isolate's print callback as libbpf's print function. */
export function ensurePrintCallback(): void {
  if (printCallback) libbpf().libbpf_set_print(printCallback.pointer);
}

ensurePrintCallback();
if (printCallback) {
  globalThis.addEventListener("unload", () => {
    // Nothing may call into this isolate once it is gone.
    try {
      libbpf().libbpf_set_print(null);
    } catch {
      // ignore
    }
  });
}

/** The sequence number of the newest message so far. */
export function libbpfSeq(): number {
  return seq;
}

/** Messages with a sequence number greater than `after` (still in the ring). */
export function libbpfMessagesSince(after: number): LibbpfMessage[] {
  return ring.filter((m) => m.seq > after);
}

/** The newest `n` messages (all kept ones by default). */
export function recentLibbpfMessages(n = LIBBPF_LOG_CAPACITY): LibbpfMessage[] {
  return ring.slice(-n);
}

/** Turns printing every libbpf message to stderr on or off (default: EBPF_K8S_LIBBPF_DEBUG=1). */
export function setLibbpfDebug(on: boolean): void {
  printToStderr = on;
}
