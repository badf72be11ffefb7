// SPDX-License-Identifier: Apache-2.0
/**
 * eBPF-side test helpers: compiling test-only programs, a child cgroup, a
 * bpffs pin directory, tracking loaded programs, and the leftover check.
 */
import { BpfObject, type OpenOptions, progInfoById } from "../libbpf/mod.ts";
import { cgroup2Root, REPO_ROOT } from "./kernel.ts";
import { netnsPrefix } from "./netns.ts";
import { output, run } from "./run.ts";

/** Test-only eBPF sources live here (agent/testing/bpf/NAME.bpf.c). */
export const TEST_BPF_DIR = `${REPO_ROOT}/agent/testing/bpf`;

/**
 * Compiles C source (a file under agent/testing/bpf by name, or `{ source }`
 * text) with clang -target bpf into a temp dir and returns the object's
 * path; `cleanup()` removes the temp dir.
 */
export async function compileBpf(
  src: string | { source: string; name: string },
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "ek8s-bpf-" });
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    let cFile: string;
    let name: string;
    if (typeof src === "string") {
      name = src;
      cFile = `${TEST_BPF_DIR}/${src}.bpf.c`;
    } else {
      name = src.name;
      cFile = `${dir}/${name}.bpf.c`;
      await Deno.writeTextFile(cFile, src.source);
    }
    const arch = Deno.build.arch === "x86_64" ? "x86" : "arm64";
    const path = `${dir}/${name}.bpf.o`;
    await run([
      "clang",
      "-target",
      "bpf",
      "-O2",
      "-g",
      "-Wall",
      `-D__TARGET_ARCH_${arch}`,
      "-I",
      `${REPO_ROOT}/build/include`,
      "-I",
      `${REPO_ROOT}/bpf/include`,
      "-c",
      cFile,
      "-o",
      path,
    ]);
    return { path, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Compiles (see compileBpf) and opens the object; the temp files are removed before returning. */
export async function openCompiled(
  src: string | { source: string; name: string },
  options?: OpenOptions,
): Promise<BpfObject> {
  const { path, cleanup } = await compileBpf(src);
  try {
    return BpfObject.open(path, options);
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------------------
// program tracking: ids of every program a test file loaded

const loadedProgramIds = new Set<number>();

/** Records the kernel ids of a loaded object's programs, for assertNoLeftovers. */
export function track<T extends BpfObject>(obj: T): T {
  for (const p of obj.programs) {
    try {
      loadedProgramIds.add(p.id);
    } catch { /* not loaded (autoload off) */ }
  }
  return obj;
}

/** Program ids recorded by track(). */
export function trackedProgramIds(): number[] {
  return [...loadedProgramIds];
}

/**
 * Ids of the programs this process holds open (its fds of BPF programs,
 * from /proc/self/fdinfo): what a test can say it loaded, whatever other
 * tests load on the machine meanwhile.
 */
export function ownProgramIds(): Set<number> {
  const ids = new Set<number>();
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    let link: string;
    try {
      link = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
    } catch {
      continue; // closed meanwhile (the directory's own fd, among others)
    }
    if (link !== "anon_inode:bpf-prog") continue;
    const id = /^prog_id:\s*(\d+)/m.exec(Deno.readTextFileSync(`/proc/self/fdinfo/${e.name}`))?.[1];
    if (id !== undefined) ids.add(Number(id));
  }
  return ids;
}

/**
 * Waits (up to timeoutMs) until none of `ids` is loaded; tc filters and
 * links free their programs after an RCU grace period, not at once.
 * Returns the ids still loaded.
 */
export async function waitProgramsGone(ids: number[], timeoutMs = 5000): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // Each id looked up alone (bpf_prog_get_fd_by_id): no machine-wide list, whatever other tests load.
    const left = ids.filter((id) => progInfoById(id) !== null);
    if (!left.length || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------
// cgroup

let cgCounter = 0;

export interface TestCgroup {
  path: string;
  /** Moves a process into the cgroup. */
  addProcess(pid: number): Promise<void>;
  /** Removes the cgroup (it must be empty). Harmless twice. */
  close(): Promise<void>;
}

/** Creates a child cgroup ek8s-test-<pid>-<n> under the cgroup v2 root (never uses the root itself). */
export async function createTestCgroup(): Promise<TestCgroup> {
  const root = cgroup2Root();
  if (!root) throw new Error("cgroup v2 is not mounted");
  const path = `${root}/ek8s-test-${Deno.pid}-${++cgCounter}`;
  await Deno.mkdir(path);
  let closed = false;
  return {
    path,
    addProcess: (pid) => Deno.writeTextFile(`${path}/cgroup.procs`, `${pid}\n`),
    close: async () => {
      if (closed) return;
      closed = true;
      // processes that were moved in may take a moment to be reaped
      const end = Date.now() + 3000;
      for (;;) {
        try {
          await Deno.remove(path);
          return;
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) return;
          if (Date.now() > end) throw new Error(`cannot remove test cgroup ${path}: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------
// bpffs

let pinCounter = 0;

/** Directory for pins of this test process: /sys/fs/bpf/ebpf-k8s-test-<pid>-<n> (created). */
export async function createPinDir(): Promise<{ path: string; close: () => Promise<void> }> {
  const path = `/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}-${++pinCounter}`;
  await Deno.mkdir(path, { recursive: true });
  return {
    path,
    close: () =>
      Deno.remove(path, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }),
  };
}

// ---------------------------------------------------------------------------
// leftovers

/**
 * Everything this process may have left behind: programs recorded by
 * track() still loaded, namespaces with this process's prefix, bpffs pins
 * and cgroups named for this pid. Returns descriptions (empty = clean).
 */
export async function findLeftovers(): Promise<string[]> {
  const found: string[] = [];
  const progs = await waitProgramsGone(trackedProgramIds());
  if (progs.length) found.push(`programs still loaded: ids ${progs.join(", ")}`);
  const ns = (await output(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0]).filter((n) =>
    n.startsWith(netnsPrefix())
  );
  if (ns.length) found.push(`network namespaces: ${ns.join(", ")}`);
  for await (const e of Deno.readDir("/sys/fs/bpf")) {
    if (e.name.startsWith(`ebpf-k8s-test-${Deno.pid}`)) found.push(`bpffs: /sys/fs/bpf/${e.name}`);
  }
  const root = cgroup2Root();
  if (root) {
    for await (const e of Deno.readDir(root)) {
      if (e.isDirectory && e.name.startsWith(`ek8s-test-${Deno.pid}-`)) found.push(`cgroup: ${root}/${e.name}`);
    }
  }
  return found;
}

/** Throws listing every leftover (see findLeftovers). */
export async function assertNoLeftovers(): Promise<void> {
  const left = await findLeftovers();
  if (left.length) throw new Error(`test leftovers:\n  - ${left.join("\n  - ")}`);
}

/** `tc` in namespace `ns`: e.g. tcShow(ns, ["qdisc", "show", "dev", "ek8s1a"]). */
export async function tc(ns: string, args: string[]): Promise<string> {
  return (await run(["tc", "-n", ns, ...args])).stdout;
}
