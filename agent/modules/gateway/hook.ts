/**
 * Where the gateway runs (--gateway-hook): XDP in a mode (auto: native where
 * the driver has it, else generic), or "tc": the clsact ingress hook, for
 * devices without XDP and for traffic generic XDP cannot take whole (GSO
 * frames sent by local namespaces, larger than the MTU).
 */
export const GATEWAY_HOOKS = ["auto", "native", "skb", "tc"] as const;
export type GatewayHook = (typeof GATEWAY_HOOKS)[number];
