// SPDX-License-Identifier: Apache-2.0
/** The network interfaces the agent watches: those of its own network namespace or of --netns. */
import { alloc, libc } from "./libbpf/ffi.ts";
import { netnsPath, withNetns } from "./libbpf/mod.ts";

export interface NetIf {
  name: string;
  ifindex: number;
  /** From the ethtool ioctl; decides how the kernel counts the interface's bytes. */
  driver: string | null;
}

/*
 * Listed with libc's if_nameindex(3) (netlink, in the calling thread's
 * network namespace) rather than /proc or /sys: Deno grants /proc only with
 * --allow-all, and /sys follows whoever mounted it, not the agent's netns.
 * Another namespace is entered with withNetns (setns of this thread only).
 */

const SIOCETHTOOL = 0x8946n;
const ETHTOOL_GDRVINFO = 3;

/** The driver behind an interface ("veth", "bridge", "e1000e", ...) via the ethtool ioctl; null if it has none. */
export function driverOf(ifname: string, netns?: string): string | null {
  return withNetns(netns, () => {
    const fd = libc().socket(2, /* AF_INET */ 2, /* SOCK_DGRAM */ 0);
    if (fd < 0) throw new Error("socket() failed: cannot query interface drivers");
    try {
      const info = alloc(196); // struct ethtool_drvinfo
      new DataView(info.buffer).setUint32(0, ETHTOOL_GDRVINFO, true);
      const ifr = alloc(40); // struct ifreq: char ifr_name[16]; then ifr_data, a pointer
      ifr.set(new TextEncoder().encode(ifname).subarray(0, 15));
      new DataView(ifr.buffer).setBigUint64(16, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(info))), true);
      if (libc().ioctl(fd, SIOCETHTOOL, ifr) !== 0) return null;
      const driver = info.subarray(4, 36);
      return new TextDecoder().decode(driver.subarray(0, driver.indexOf(0)));
    } finally {
      libc().close(fd);
    }
  });
}

/** Every interface of the network namespace, by name and ifindex. */
export function listInterfaces(netns?: string): NetIf[] {
  return withNetns(netns, () => {
    const head = libc().if_nameindex();
    if (!head) {
      throw new Error(`if_nameindex() failed: cannot list network interfaces${netns ? ` of netns ${netns}` : ""}`);
    }
    const out: NetIf[] = [];
    try {
      // struct if_nameindex { unsigned int if_index; char *if_name; } -> 16 bytes on 64-bit
      for (let off = 0;; off += 16) {
        const view = new Deno.UnsafePointerView(head);
        const ifindex = view.getUint32(off);
        const namePtr = view.getPointer(off + 8);
        if (ifindex === 0 || !namePtr) break;
        out.push({ name: Deno.UnsafePointerView.getCString(namePtr), ifindex, driver: null });
      }
    } finally {
      libc().if_freenameindex(head);
    }
    return out;
  });
}

/** The interfaces to watch: those named, or all but loopback and the excluded. */
export function resolveInterfaces(wanted: string[] | undefined, exclude: string[], netns?: string): NetIf[] {
  const present = listInterfaces(netns);
  const names = wanted ?? present.map((i) => i.name).filter((n) => n !== "lo");
  const missing = names.filter((n) => !present.some((i) => i.name === n));
  if (missing.length) {
    throw new Error(
      `interfaces not found in ${netns ? `network namespace ${netns}` : "this network namespace"}: ${
        missing.join(", ")
      } (present: ${present.map((i) => i.name).join(", ")})`,
    );
  }
  return present
    .filter((i) => names.includes(i.name) && !exclude.includes(i.name))
    .map((i) => ({ ...i, driver: driverOf(i.name, netns) }));
}

/**
 * Inode of a network namespace (default: the agent's own, from
 * /proc/thread-self/ns/net): drops are counted only there.
 */
export function netnsInode(netns?: string): number {
  const path = netns ? netnsPath(netns) : "/proc/thread-self/ns/net";
  const fd = libc().open(new TextEncoder().encode(`${path}\0`), 0o2000000 /* O_RDONLY|O_CLOEXEC */);
  if (fd < 0) throw new Error(`cannot open ${path} to identify the network namespace`);
  try {
    const st = alloc(256); // struct stat is 144 bytes on x86_64 and 128 on arm64
    if (libc().fstat(fd, st) !== 0) throw new Error("fstat of the network namespace failed");
    return Number(new DataView(st.buffer).getBigUint64(8, true)); // st_ino follows st_dev on both
  } finally {
    libc().close(fd);
  }
}
