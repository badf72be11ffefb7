// SPDX-License-Identifier: Apache-2.0
/**
 * A device's XDP features as the kernel reports them (netdev generic netlink
 * family, NETDEV_CMD_DEV_GET, kernel >= 6.3; libbpf 1.2's bpf_xdp_query
 * reads the same, libbpf 1.1 does not): whether its driver runs XDP natively
 * and redirects (BASIC, REDIRECT), and whether frames redirected to it are
 * delivered (NDO_XMIT; a veth has it only while its peer runs an XDP program
 * or has GRO on). Asked in the calling thread's network namespace or, with
 * `netns`, in that one (withNetns).
 */
import { alloc, libc } from "./ffi.ts";
import { withNetns } from "./netns.ts";

/** enum netdev_xdp_act (include/uapi/linux/netdev.h) */
export const NETDEV_XDP_ACT = {
  BASIC: 1,
  REDIRECT: 2,
  NDO_XMIT: 4,
  XSK_ZEROCOPY: 8,
  HW_OFFLOAD: 16,
  RX_SG: 32,
} as const;

const AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0o2000000, NETLINK_GENERIC = 16;
const NLM_F_REQUEST = 1, NLMSG_ERROR = 2, GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3, CTRL_ATTR_FAMILY_ID = 1, CTRL_ATTR_FAMILY_NAME = 2;
const NETDEV_CMD_DEV_GET = 1, NETDEV_A_DEV_IFINDEX = 1, NETDEV_A_DEV_XDP_FEATURES = 3;

/** One request (nlmsghdr, genlmsghdr, one attribute) -> the answer's attributes by type, or the errno it was refused with. */
function request(
  fd: number,
  type: number,
  cmd: number,
  attr: number,
  value: Uint8Array,
): Map<number, Uint8Array> | number {
  const attrLen = 4 + value.length, len = 16 + 4 + ((attrLen + 3) & ~3);
  const msg = alloc(len), dv = new DataView(msg.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, NLM_F_REQUEST, true);
  msg[16] = cmd;
  msg[17] = 1; // version
  dv.setUint16(20, attrLen, true);
  dv.setUint16(22, attr, true);
  msg.set(value, 24);
  if (Number(libc().write(fd, msg, BigInt(len))) !== len) throw new Error("netlink: request not sent");
  const buf = alloc(8192);
  const got = Number(libc().read(fd, buf, BigInt(buf.length)));
  if (got < 16) throw new Error("netlink: no answer");
  const rv = new DataView(buf.buffer);
  if (rv.getUint16(4, true) === NLMSG_ERROR) return -rv.getInt32(16, true);
  const attrs = new Map<number, Uint8Array>();
  for (let off = 20; off + 4 <= Math.min(got, rv.getUint32(0, true));) {
    const l = rv.getUint16(off, true);
    if (l < 4) break;
    attrs.set(rv.getUint16(off + 2, true) & 0x3fff, buf.slice(off + 4, off + l));
    off += (l + 3) & ~3;
  }
  return attrs;
}

/**
 * The XDP features (NETDEV_XDP_ACT bits) of a device by ifindex; null where
 * the kernel cannot tell (no netdev family: before 6.3).
 */
export function xdpFeatures(ifindex: number, netns?: string): number | null {
  return withNetns(netns, () => {
    const fd = libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0) throw new Error("socket(AF_NETLINK) failed: cannot ask the kernel for XDP features");
    try {
      const family = request(
        fd,
        GENL_ID_CTRL,
        CTRL_CMD_GETFAMILY,
        CTRL_ATTR_FAMILY_NAME,
        new TextEncoder().encode("netdev\0"),
      );
      if (typeof family === "number") return null;
      const id = family.get(CTRL_ATTR_FAMILY_ID);
      if (!id) return null;
      const idx = new Uint8Array(4);
      new DataView(idx.buffer).setUint32(0, ifindex, true);
      const dev = request(
        fd,
        new DataView(id.buffer).getUint16(0, true),
        NETDEV_CMD_DEV_GET,
        NETDEV_A_DEV_IFINDEX,
        idx,
      );
      if (typeof dev === "number") throw new Error(`netdev dev-get of ifindex ${ifindex}: errno ${dev}`);
      const f = dev.get(NETDEV_A_DEV_XDP_FEATURES);
      return f ? Number(new DataView(f.buffer).getBigUint64(0, true)) : 0;
    } finally {
      libc().close(fd);
    }
  });
}
