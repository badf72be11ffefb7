// SPDX-License-Identifier: Apache-2.0
/**
 * Errors thrown by the libbpf wrappers. Every one names the libbpf call, what
 * it acted on, and the errno as text and symbol, e.g.
 *   bpf_tc_attach(ifstats_ingress on ek8s0 ingress): No such device (ENODEV)
 *
 * libbpf 1.x conventions (libbpf.h, "libbpf 1.0 mode" is the only mode):
 * int-returning functions return a negative errno; pointer-returning ones
 * return NULL and set errno.
 */
import { alloc, bufferString, errno, libbpf } from "./ffi.ts";
import { ensurePrintCallback, type LibbpfMessage, libbpfMessagesSince, libbpfSeq } from "./log.ts";

/** Linux errno numbers (asm-generic/errno*.h) and libbpf's own (libbpf.h). */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  8: "ENOEXEC",
  9: "EBADF",
  10: "ECHILD",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  25: "ENOTTY",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  31: "EMLINK",
  32: "EPIPE",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  61: "ENODATA",
  71: "EPROTO",
  74: "EBADMSG",
  75: "EOVERFLOW",
  77: "EBADFD",
  84: "EILSEQ",
  88: "ENOTSOCK",
  90: "EMSGSIZE",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
  113: "EHOSTUNREACH",
  114: "EALREADY",
  125: "ECANCELED",
  // kernel-internal, but bpf() returns it (e.g. batch ops a map lacks)
  524: "ENOTSUPP",
  4000: "LIBBPF_ERRNO__LIBELF",
  4001: "LIBBPF_ERRNO__FORMAT",
  4002: "LIBBPF_ERRNO__KVERSION",
  4003: "LIBBPF_ERRNO__ENDIAN",
  4004: "LIBBPF_ERRNO__INTERNAL",
  4005: "LIBBPF_ERRNO__RELOC",
  4006: "LIBBPF_ERRNO__LOAD",
  4007: "LIBBPF_ERRNO__VERIFY",
  4008: "LIBBPF_ERRNO__PROG2BIG",
  4009: "LIBBPF_ERRNO__KVER",
  4010: "LIBBPF_ERRNO__PROGTYPE",
  4011: "LIBBPF_ERRNO__WRNGPID",
  4012: "LIBBPF_ERRNO__INVSEQ",
  4013: "LIBBPF_ERRNO__NLPARSE",
};

export const ENOENT = 2;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EOPNOTSUPP = 95;
export const ENOTSUPP = 524;

/** The symbolic name of an errno, e.g. 19 -> "ENODEV". */
export function errnoName(err: number): string {
  return ERRNO_NAMES[Math.abs(err)] ?? `errno ${Math.abs(err)}`;
}

/** Human text for an errno, via libbpf_strerror (knows libbpf's 4000+ codes). */
export function errnoText(err: number): string {
  const e = Math.abs(err);
  if (e === ENOTSUPP) return "Operation not supported";
  try {
    const buf = alloc(256);
    libbpf().libbpf_strerror(e, buf, BigInt(buf.length));
    const s = bufferString(buf);
    if (s) return s;
  } catch {
    // fall through
  }
  return `Unknown error ${e}`;
}

/** A libbpf call failed. */
export class LibbpfError extends Error {
  /** Positive errno. */
  readonly errno: number;
  /** Symbolic errno, e.g. "ENODEV". */
  readonly code: string;
  /** libbpf's own messages (print callback) emitted during the failed call. */
  readonly libbpfMessages: LibbpfMessage[];

  constructor(
    /** The libbpf (or libc) function that failed. */
    readonly call: string,
    /** What it acted on: object file, program, map, interface... */
    readonly target: string,
    err: number,
    options: { messages?: LibbpfMessage[]; detail?: string; cause?: unknown } = {},
  ) {
    const e = Math.abs(err);
    const messages = options.messages ?? [];
    let msg = `${call}(${target}): ${errnoText(e)} (${errnoName(e)})`;
    if (options.detail) msg += `\n${options.detail}`;
    const notes = messages.filter((m) => m.level !== "debug").map((m) =>
      `  ${m.text.trimEnd().replace(/^(?!libbpf: )/, "libbpf: ")}`
    );
    if (notes.length) msg += `\nlibbpf said:\n${notes.slice(-20).join("\n")}`;
    super(msg, { cause: options.cause });
    this.name = "LibbpfError";
    this.errno = e;
    this.code = errnoName(e);
    this.libbpfMessages = messages;
  }
}

/** Loading an object failed; carries the verifier log of the program(s) that failed. */
export class VerifierError extends LibbpfError {
  constructor(
    call: string,
    target: string,
    err: number,
    /** Program name that the kernel rejected (first one with a log). */
    readonly program: string | undefined,
    /** The verifier log, complete as far as the log buffer held it. */
    readonly log: string,
    messages: LibbpfMessage[],
  ) {
    super(call, target, err, { messages, detail: formatLog(program, log) });
    this.name = "VerifierError";
  }
}

const MAX_LOG_LINES_IN_MESSAGE = 80;

function formatLog(program: string | undefined, log: string): string {
  if (!log) return "(no verifier log was produced)";
  const lines = log.trimEnd().split("\n");
  const shown = lines.length > MAX_LOG_LINES_IN_MESSAGE
    ? [
      `... (${lines.length - MAX_LOG_LINES_IN_MESSAGE} earlier lines in error.log)`,
      ...lines.slice(-MAX_LOG_LINES_IN_MESSAGE),
    ]
    : lines;
  return `verifier log for program '${program ?? "?"}':\n${shown.map((l) => `  | ${l}`).join("\n")}`;
}

/** A requested kernel feature or a precondition is missing (not an errno). */
export class LibbpfUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LibbpfUsageError";
  }
}

/**
 * Runs a libbpf int-returning call and throws LibbpfError on a negative
 * result. Returns the (non-negative) result.
 */
export function checkInt(call: string, target: string, fn: () => number): number {
  const seq = nextSeq();
  const ret = fn();
  if (ret < 0) throw new LibbpfError(call, target, -ret, { messages: libbpfMessagesSince(seq) });
  return ret;
}

/**
 * Runs a libbpf pointer-returning call and throws LibbpfError (with errno)
 * when it returns NULL.
 */
export function checkPtr(call: string, target: string, fn: () => Deno.PointerValue): Deno.PointerObject {
  const seq = nextSeq();
  const p = fn();
  if (p === null) {
    const e = errno() || 22; // errno is set by libbpf_ptr(); EINVAL if it was not
    throw new LibbpfError(call, target, e, { messages: libbpfMessagesSince(seq) });
  }
  return p;
}

/** Makes sure this isolate's print callback is the one libbpf calls, and returns the message sequence. */
function nextSeq(): number {
  ensurePrintCallback();
  return libbpfSeq();
}
