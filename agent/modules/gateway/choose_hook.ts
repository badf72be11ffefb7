// SPDX-License-Identifier: Apache-2.0
/**
 * What --gateway-hook auto resolves to (see chooseHook), from what the kernel
 * reports about the gateway interfaces.
 */
import { ifindexOf, NETDEV_XDP_ACT, xdpFeatures } from "../../libbpf/mod.ts";
import { driverOf } from "../../netif.ts";
import type { GatewayHook, GatewayRunHook } from "./hook.ts";

/** A gateway interface as chooseHook sees it. */
export interface HookSite {
  ifname: string;
  /** From the ethtool ioctl (netif.ts driverOf); null: none. */
  driver: string | null;
  /** NETDEV_XDP_ACT bits (libbpf/xdp_features.ts); null: the kernel does not say (before 6.3). */
  xdpFeatures: number | null;
}

export interface HookChoice {
  hook: GatewayRunHook;
  /** Why, for the log: what auto saw, or what an explicit native hook may lose. */
  why: string;
}

const NATIVE = NETDEV_XDP_ACT.BASIC | NETDEV_XDP_ACT.REDIRECT;

/**
 * The hook for a --gateway-hook over the interfaces. "auto" is native XDP
 * only where it works for every interface: each driver runs XDP and
 * redirects (BASIC, REDIRECT), each takes frames redirected to it (NDO_XMIT:
 * translated packets leave by another gateway interface; a frame redirected
 * to a device without it is dropped), and none is a veth (its frames are
 * sent by this machine's namespaces with partial checksums, CHECKSUM_PARTIAL,
 * which native XDP cannot see nor complete). Else tc, which takes every
 * packet whole with its checksum state. Generic XDP is never chosen: it
 * cannot redirect GSO frames, which tc can. An explicit hook is used as
 * given; for native, `why` names the interfaces redirected frames would be
 * dropped on.
 */
export function chooseHook(wanted: GatewayHook, sites: readonly HookSite[]): HookChoice {
  const undelivered = sites.filter((s) => s.xdpFeatures !== null && !(s.xdpFeatures & NETDEV_XDP_ACT.NDO_XMIT));
  const dropped = undelivered.length
    ? `frames redirected to ${
      names(undelivered)
    } are dropped (a veth takes them only while its peer runs XDP or has GRO on)`
    : "";
  if (wanted !== "auto") {
    return { hook: wanted, why: wanted === "native" && dropped ? `as configured, but ${dropped}` : "as configured" };
  }
  const unknown = sites.filter((s) => s.xdpFeatures === null);
  if (unknown.length) return { hook: "tc", why: `the kernel does not report the XDP features of ${names(unknown)}` };
  const veths = sites.filter((s) => s.driver === "veth");
  if (veths.length) {
    return {
      hook: "tc",
      why: `${
        names(veths)
      }: veth, whose frames come from this machine with partial checksums native XDP cannot complete`,
    };
  }
  const noXdp = sites.filter((s) => (s.xdpFeatures! & NATIVE) !== NATIVE);
  if (noXdp.length) return { hook: "tc", why: `no native XDP with redirect in the driver of ${names(noXdp)}` };
  if (dropped) return { hook: "tc", why: dropped };
  return { hook: "native", why: "every interface's driver runs XDP and takes redirected frames" };
}

function names(sites: readonly HookSite[]): string {
  return sites.map((s) => `${s.ifname}${s.driver ? ` (${s.driver})` : ""}`).join(", ");
}

/** The gateway interfaces as chooseHook needs them: driver and XDP features, asked of the kernel. */
export function hookSites(ifnames: readonly string[], netns?: string): HookSite[] {
  return ifnames.map((ifname) => ({
    ifname,
    driver: driverOf(ifname, netns),
    xdpFeatures: xdpFeatures(ifindexOf(ifname, netns), netns),
  }));
}
