// SPDX-License-Identifier: Apache-2.0
/**
 * Running a synchronous libbpf call inside another network namespace.
 *
 * tc and XDP attachment go through rtnetlink, and interface indexes are per
 * namespace, so attaching to a device in another namespace means making the
 * call from inside it. setns(2) with CLONE_NEWNET switches only the calling
 * thread, and is allowed in a multi-threaded process. `withNetns` switches
 * the JavaScript thread, runs a *synchronous* function and switches back
 * before returning: no promise, timer or Deno op can run meanwhile, so
 * nothing else (e.g. Deno.Command spawning a child) observes the other
 * namespace.
 */
import { cstr, errno, libc } from "./ffi.ts";
import { LibbpfError, LibbpfUsageError } from "./errors.ts";

const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

/** `/var/run/netns/NAME` for a name made by `ip netns add`, or an absolute path (e.g. /proc/PID/ns/net). */
export function netnsPath(netns: string): string {
  return netns.startsWith("/") ? netns : `/var/run/netns/${netns}`;
}

function openNs(path: string, call: string): number {
  const fd = libc().open(cstr(path), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new LibbpfError(call, path, errno() || 2);
  return fd;
}

/**
 * Runs `fn` with the calling thread in network namespace `netns` (a name or
 * path); runs it in place when `netns` is undefined. `fn` must be synchronous.
 */
export function withNetns<T>(netns: string | undefined, fn: () => T): T {
  if (netns === undefined) return fn();
  const target = openNs(netnsPath(netns), "open");
  let orig = -1;
  try {
    orig = openNs("/proc/thread-self/ns/net", "open");
    if (libc().setns(target, CLONE_NEWNET) < 0) {
      throw new LibbpfError("setns", `${netnsPath(netns)}, CLONE_NEWNET`, errno() || 1);
    }
    let result: T;
    try {
      result = fn();
    } finally {
      if (libc().setns(orig, CLONE_NEWNET) < 0) {
        // The thread would stay in the wrong namespace: nothing safe is left to do.
        const e = new LibbpfError("setns", "back to the original network namespace", errno() || 1);
        console.error(`FATAL: ${e.message}`);
        Deno.exit(70);
      }
    }
    if (result instanceof Promise) {
      throw new LibbpfUsageError("withNetns: the function must be synchronous (it returned a Promise)");
    }
    return result;
  } finally {
    if (orig >= 0) libc().close(orig);
    libc().close(target);
  }
}

/**
 * False when the namespace file no longer exists (the namespace was deleted,
 * and with it its devices and their tc filters and XDP programs).
 */
export function netnsExists(netns: string | undefined): boolean {
  if (netns === undefined) return true;
  try {
    Deno.statSync(netnsPath(netns));
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound);
  }
}

/** The ifindex of interface `ifname` (in `netns` if given); throws ENODEV when absent. */
export function ifindexOf(ifname: string, netns?: string): number {
  return withNetns(netns, () => {
    const idx = libc().if_nametoindex(cstr(ifname));
    if (idx === 0) {
      throw new LibbpfError("if_nametoindex", netns ? `${ifname} in netns ${netns}` : ifname, errno() || 19);
    }
    return idx;
  });
}
