// SPDX-License-Identifier: Apache-2.0
/**
 * Preconditions of kernel tests, and Deno.test wrappers that skip when one
 * is missing (with a message naming it) -- except with CI=true, where a
 * missing precondition fails the test instead: CI must never pass by
 * skipping.
 *
 *   kernelTest("tc counts pings", async () => { ... });
 *   kernelTest("xdp", { needs: ["root", "objects", "clang"] }, async () => { ... });
 */
import { libbpfUnavailable } from "../libbpf/ffi.ts";

export const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env
  }
}

/** Where scripts/build-bpf.sh puts objects; EBPF_K8S_BPF_OBJ_DIR overrides. */
export const BPF_OBJ_DIR = envGet("EBPF_K8S_BPF_OBJ_DIR") || `${REPO_ROOT}/build/bpf`;

/** Objects built by scripts/build-bpf.sh. */
export const OBJECTS = {
  ifstats: `${BPF_OBJ_DIR}/ifstats.bpf.o`,
  emptyTc: `${BPF_OBJ_DIR}/empty_tc.bpf.o`,
} as const;

export type Requirement =
  | "root"
  | "btf"
  | "libbpf"
  | "objects"
  | "bpffs"
  | "cgroup2"
  | "tracefs"
  | "iproute2"
  | "ping"
  | "bpftool"
  | "clang";

/** What the libbpf suite needs. */
export const ALL_REQUIREMENTS: Requirement[] = [
  "root",
  "btf",
  "libbpf",
  "objects",
  "bpffs",
  "cgroup2",
  "tracefs",
  "iproute2",
  "ping",
  "bpftool",
  "clang",
];

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function onPath(cmd: string): boolean {
  const path = envGet("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  return path.split(":").some((d) => d && exists(`${d}/${cmd}`));
}

let mountsCache: string | null = null;
function mounts(): string {
  if (mountsCache === null) {
    try {
      mountsCache = Deno.readTextFileSync("/proc/mounts");
    } catch {
      mountsCache = "";
    }
  }
  return mountsCache;
}

/** The cgroup v2 mount point (e.g. /sys/fs/cgroup/unified in hybrid mode), or null. */
export function cgroup2Root(): string | null {
  for (const line of mounts().split("\n")) {
    const f = line.split(" ");
    if (f[2] === "cgroup2") return f[1];
  }
  return null;
}

function check(req: Requirement): string | null {
  switch (req) {
    case "root": {
      let uid: number | null = null;
      try {
        uid = Deno.uid();
      } catch {
        return "root: cannot read the uid (run deno with --allow-sys or --allow-all)";
      }
      return uid === 0 ? null : `root: running as uid ${uid}; loading eBPF and creating namespaces needs root`;
    }
    case "btf":
      return exists("/sys/kernel/btf/vmlinux")
        ? null
        : "BTF: /sys/kernel/btf/vmlinux is missing (kernel without CONFIG_DEBUG_INFO_BTF)";
    case "libbpf": {
      const e = libbpfUnavailable();
      return e ? `libbpf: ${e.message}` : null;
    }
    case "objects": {
      const missing = Object.values(OBJECTS).filter((p) => !exists(p));
      return missing.length ? `eBPF objects not built: ${missing.join(", ")} (run: bash scripts/setup.sh)` : null;
    }
    case "bpffs":
      return / \/sys\/fs\/bpf bpf /.test(mounts()) ? null : "bpffs is not mounted on /sys/fs/bpf";
    case "cgroup2":
      return cgroup2Root() ? null : "cgroup v2 is not mounted";
    case "tracefs":
      return / (\/sys\/kernel\/tracing|\/sys\/kernel\/debug\/tracing) tracefs /.test(mounts())
        ? null
        : "tracefs is not mounted";
    case "iproute2":
      return onPath("ip") && onPath("tc") ? null : "iproute2 (ip, tc) not found";
    case "ping":
      return onPath("ping") ? null : "ping (iputils-ping) not found";
    case "bpftool":
      return onPath("bpftool") ? null : "bpftool not found";
    case "clang":
      return onPath("clang") ? null : "clang not found (needed to compile test-only eBPF programs)";
  }
}

/** Missing preconditions, each with a sentence saying what and why. */
export function missingRequirements(needs: Requirement[] = ALL_REQUIREMENTS): string[] {
  return needs.map(check).filter((m): m is string => m !== null);
}

/** Whether tests run in CI (CI=true), where skipping is not allowed. */
export function isCI(): boolean {
  return (envGet("CI") ?? "").toLowerCase() === "true";
}

export interface KernelCheck {
  ok: boolean;
  missing: string[];
  /** True when tests should be skipped (missing and not CI). */
  skip: boolean;
}

/**
 * Checks preconditions. Outside CI, a missing one means "skip" and is
 * reported on stderr once per module; in CI it means "fail".
 */
export function requireKernel(needs: Requirement[] = ALL_REQUIREMENTS): KernelCheck {
  const missing = missingRequirements(needs);
  const skip = missing.length > 0 && !isCI();
  return { ok: missing.length === 0, missing, skip };
}

const warned = new Set<string>();

/** Throws (for CI) with a message naming every missing precondition. */
export function failMissing(missing: string[]): never {
  throw new Error(
    `kernel test preconditions missing (CI=true, so this fails instead of skipping):\n  - ${missing.join("\n  - ")}`,
  );
}

type TestFn = (t: Deno.TestContext) => void | Promise<void>;

/**
 * Deno.test for tests that need the real kernel. Skipped (ignored) with a
 * message when preconditions are missing, failed instead when CI=true.
 */
export function kernelTest(name: string, fn: TestFn): void;
export function kernelTest(name: string, options: { needs?: Requirement[] }, fn: TestFn): void;
export function kernelTest(name: string, a: TestFn | { needs?: Requirement[] }, b?: TestFn): void {
  const fn = typeof a === "function" ? a : b!;
  const needs = typeof a === "function" ? undefined : a.needs;
  const k = requireKernel(needs);
  if (k.skip) {
    const msg = `skipping kernel tests: ${k.missing.join("; ")}`;
    if (!warned.has(msg)) {
      warned.add(msg);
      console.error(msg);
    }
    Deno.test({ name: `${name} [skipped: ${k.missing.join("; ")}]`, ignore: true, fn });
    return;
  }
  Deno.test({
    name,
    fn: async (t) => {
      if (!k.ok) failMissing(k.missing);
      await fn(t);
    },
  });
}
