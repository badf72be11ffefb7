// SPDX-License-Identifier: Apache-2.0
/**
 * Where the gateway runs (--gateway-hook): XDP in a mode ("native": in the
 * driver; "skb": generic, on any device), or "tc": the clsact ingress hook,
 * for devices without XDP and for traffic generic XDP cannot take whole (GSO
 * frames sent by local namespaces, larger than the MTU). "auto" chooses one
 * at start from what the kernel reports about the interfaces (choose_hook.ts).
 */

export const GATEWAY_HOOKS = ["auto", "native", "skb", "tc"] as const;
export type GatewayHook = (typeof GATEWAY_HOOKS)[number];
/** A hook the gateway runs in: "auto" resolved. */
export type GatewayRunHook = Exclude<GatewayHook, "auto">;
