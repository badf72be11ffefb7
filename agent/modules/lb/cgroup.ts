// SPDX-License-Identifier: Apache-2.0
/**
 * The cgroup the lb programs attach to (--lb-cgroup): a directory of the
 * cgroup v2 hierarchy that the node's pods live under, given absolute or
 * relative to the cgroup2 mount. Never the root: a connect program there
 * would translate every socket of the machine, the agent's and sshd's
 * included, so the root (the mount point itself, or a directory whose inode
 * is the root cgroup's) is refused, and so is anything outside cgroup2.
 * Files under /proc and /sys are read through libc (Deno allows them only
 * with --allow-all).
 */
import { alloc, cstr, errno, libc } from "../../libbpf/ffi.ts";
import { readKernelFile } from "../../libbpf/mod.ts";

const O_RDONLY = 0;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;
/** The root cgroup's kernfs inode (its cgroup id) on cgroup v2. */
const ROOT_CGROUP_INO = 1;

/** Mount points of cgroup2 file systems, from /proc/self/mounts (the first is the usual one). */
export function cgroup2Mounts(mounts = readKernelFile("/proc/self/mounts", 1 << 20)): string[] {
  return mounts.split("\n").map((l) => l.split(" ")).filter((f) => f[2] === "cgroup2").map((f) => unescapeMount(f[1]));
}

/**
 * The absolute path of the lb cgroup, checked: under a cgroup2 mount, not
 * its root, an existing directory that is not the root cgroup. Throws an
 * error that says what to do.
 */
export function resolveLbCgroup(configured: string | undefined, mounts: string[] = cgroup2Mounts()): string {
  const hint =
    "set --lb-cgroup (EBPF_K8S_LB_CGROUP) to the cgroup v2 directory the node's pods run under, e.g. kubepods.slice (never the root cgroup)";
  if (!configured) throw new Error(`lb: no cgroup to attach to: ${hint}`);
  if (!mounts.length) {
    throw new Error("lb: cgroup v2 is not mounted (the socket load balancer attaches to a cgroup v2 directory)");
  }
  if (configured.split("/").some((p) => p === ".." || p === ".")) {
    throw new Error(`lb: --lb-cgroup ${configured}: no "." or ".." components, please`);
  }
  const candidates = configured.startsWith("/") ? [clean(configured)] : mounts.map((m) => clean(`${m}/${configured}`));
  for (const path of candidates) {
    const mount = mounts.find((m) => path === m || path.startsWith(`${m}/`));
    if (!mount) continue;
    if (path === mount) {
      throw new Error(
        `lb: --lb-cgroup ${configured} is the root of the cgroup v2 mount ${mount}: refused (every socket of the machine would be load balanced); ${hint}`,
      );
    }
    const ino = directoryInode(path);
    if (ino === null) continue;
    if (ino === ROOT_CGROUP_INO) {
      throw new Error(`lb: --lb-cgroup ${configured} (${path}) is the root cgroup: refused; ${hint}`);
    }
    return path;
  }
  if (configured.startsWith("/") && !mounts.some((m) => clean(configured).startsWith(`${m}/`))) {
    throw new Error(`lb: --lb-cgroup ${configured} is not under a cgroup v2 mount (${mounts.join(", ")}); ${hint}`);
  }
  throw new Error(`lb: --lb-cgroup ${configured}: no such cgroup directory (${candidates.join(", ")}); ${hint}`);
}

/** The id of the cgroup at `path` (its directory's inode), as cgroup links report it. */
export function cgroupInode(path: string): number | null {
  return directoryInode(path);
}

/** The inode of a directory, or null when there is none at `path`. */
function directoryInode(path: string): number | null {
  const fd = libc().open(cstr(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const e = errno();
    if (e === 2 || e === 20) return null; // ENOENT, ENOTDIR
    throw new Error(`lb: cannot open the cgroup directory ${path}: errno ${e}`);
  }
  try {
    const st = alloc(256); // struct stat: 144 bytes on x86_64, 128 on arm64
    if (libc().fstat(fd, st) !== 0) throw new Error(`lb: fstat of ${path} failed: errno ${errno()}`);
    return Number(new DataView(st.buffer).getBigUint64(8, true)); // st_ino follows st_dev on both
  } finally {
    libc().close(fd);
  }
}

function clean(path: string): string {
  return `/${path.split("/").filter(Boolean).join("/")}`;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}
