// SPDX-License-Identifier: Apache-2.0
/**
 * File system calls through libc for the paths Deno guards hardest: Deno
 * grants /proc, /sys and so bpffs (/sys/fs/bpf) only with --allow-all, and
 * the agent runs with narrower flags. Pin directories, kernel sysctls and
 * /sys/kernel/btf are read and made here instead; libbpf's own pin and unpin
 * calls go through libc already.
 */
import { alloc, cstr, errno, libc } from "./ffi.ts";
import { LibbpfError } from "./errors.ts";

const F_OK = 0;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const ENOENT = 2;
const EEXIST = 17;
const ENOTEMPTY = 39;

/** Whether `path` exists (access(2), F_OK). */
export function pathExists(path: string): boolean {
  return libc().access(cstr(path), F_OK) === 0;
}

/** mkdir -p with `mode` for the directories it creates. */
export function makeDirs(path: string, mode = 0o700): void {
  let at = "";
  for (const part of path.split("/").filter(Boolean)) {
    at += `/${part}`;
    if (libc().mkdir(cstr(at), mode) < 0) {
      const e = errno();
      if (e !== EEXIST) throw new LibbpfError("mkdir", at, e);
    }
  }
}

/**
 * rmdir(2) of `path` if it is there and empty; returns false when it still
 * holds something (left in place) or is already gone.
 */
export function removeEmptyDir(path: string): boolean {
  if (libc().rmdir(cstr(path)) === 0) return true;
  const e = errno();
  if (e === ENOENT || e === ENOTEMPTY) return false;
  throw new LibbpfError("rmdir", path, e);
}

/** unlink(2) of `path`; false when it was not there. */
export function removeFile(path: string): boolean {
  if (libc().unlink(cstr(path)) === 0) return true;
  const e = errno();
  if (e === ENOENT) return false;
  throw new LibbpfError("unlink", path, e);
}

/** The first `max` bytes of a small kernel file (e.g. /proc/sys/kernel/bpf_stats_enabled) as text. */
export function readKernelFile(path: string, max = 4096): string {
  const fd = libc().open(cstr(path), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new LibbpfError("open", path, errno() || ENOENT);
  try {
    const buf = alloc(max);
    const n = Number(libc().read(fd, buf, BigInt(max)));
    if (n < 0) throw new LibbpfError("read", path, errno());
    return new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    libc().close(fd);
  }
}

/**
 * A whole kernel file as bytes, read in chunks until EOF (e.g.
 * /sys/kernel/btf/vmlinux, several MiB); at most `limit` bytes.
 */
export function readKernelBytes(path: string, limit = 64 << 20): Uint8Array {
  const fd = libc().open(cstr(path), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new LibbpfError("open", path, errno() || ENOENT);
  try {
    // sysfs hands out a page or so per read(): one buffer for the reads, only what they returned is kept
    const buf = alloc(1 << 20);
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const n = Number(libc().read(fd, buf, BigInt(buf.length)));
      if (n < 0) throw new LibbpfError("read", path, errno());
      if (n === 0) break;
      chunks.push(buf.slice(0, n));
      total += n;
      if (total > limit) throw new LibbpfError("read", `${path}: larger than ${limit} bytes`, 27 /* EFBIG */);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } finally {
    libc().close(fd);
  }
}

/**
 * malloc_trim(3): returns memory the C heap freed to the kernel. libbpf
 * parses the kernel's BTF (megabytes) at every object load for CO-RE and
 * frees it, and the runtime's buffers come and go each interval; glibc keeps
 * what was freed unless asked, so the agent's resident size would stay at
 * its peak.
 */
export function releaseFreedMemory(): void {
  libc().malloc_trim?.(0n); // absent outside glibc: nothing to do there
}
